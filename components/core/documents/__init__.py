"""Ask your documents: extraction, chunking, the vector index (embedded or Vectorize) and cited answers."""

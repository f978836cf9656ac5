"""The Playground without a page: any model of the catalogue, driven by its schema (see each module)."""

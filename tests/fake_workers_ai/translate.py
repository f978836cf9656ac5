"""Translation: m2m100-1.2b, deterministic.

1. A sentence of the table below (the Playground's and the tests' examples), in any of its languages, comes out
   in the target language as a person would write it.
2. Otherwise, when every word is in the small word table (English to French, German or Spanish), it is
   translated word by word.
3. Otherwise the answer is a marked echo, `[en→fr] the text`, so a test sees that the request arrived whole and
   that nothing was translated.
The same language in and out gives the text back unchanged. Tokens (for the neurons) are counted as words and
punctuation marks, in and out.
"""

from __future__ import annotations

import re

from .answers import M2M100_PER_M_TOKENS, Answer
from .errors import request_object
from .schemas_media import m2m100
from .validation import validate

SENTENCES = (
    {"en": "I'll have an order of the moule frites", "fr": "Je vais prendre une commande de moules frites",
     "de": "Ich nehme eine Portion Moules frites", "es": "Voy a pedir una ración de mejillones con patatas fritas"},
    {"en": "Hello, how are you?", "fr": "Bonjour, comment allez-vous ?", "de": "Hallo, wie geht es Ihnen?",
     "es": "Hola, ¿cómo estás?"},
    {"en": "The weather is nice today.", "fr": "Il fait beau aujourd'hui.", "de": "Das Wetter ist heute schön.",
     "es": "Hoy hace buen tiempo."},
    {"en": "Where is the train station?", "fr": "Où est la gare ?", "de": "Wo ist der Bahnhof?",
     "es": "¿Dónde está la estación de tren?"},
    {"en": "Thank you very much.", "fr": "Merci beaucoup.", "de": "Vielen Dank.", "es": "Muchas gracias."},
)
WORDS = {
    "fr": {"hello": "bonjour", "world": "monde", "good": "bon", "morning": "matin", "cat": "chat", "dog": "chien",
           "the": "le", "a": "un", "is": "est", "red": "rouge", "house": "maison", "water": "eau", "bread": "pain",
           "coffee": "café", "please": "s'il vous plaît", "thank": "merci", "you": "vous", "and": "et"},
    "de": {"hello": "hallo", "world": "Welt", "good": "guten", "morning": "Morgen", "cat": "Katze", "dog": "Hund",
           "the": "der", "a": "ein", "is": "ist", "red": "rot", "house": "Haus", "water": "Wasser", "bread": "Brot",
           "coffee": "Kaffee", "please": "bitte", "thank": "danke", "you": "Sie", "and": "und"},
    "es": {"hello": "hola", "world": "mundo", "good": "buenos", "morning": "días", "cat": "gato", "dog": "perro",
           "the": "el", "a": "un", "is": "es", "red": "rojo", "house": "casa", "water": "agua", "bread": "pan",
           "coffee": "café", "please": "por favor", "thank": "gracias", "you": "usted", "and": "y"},
}
_TOKENS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokens(text: str) -> int:
    return len(_TOKENS.findall(text))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def translate(text: str, source: str, target: str) -> str:
    if source == target:
        return text
    for sentence in SENTENCES:
        if target in sentence and any(_normal(text) == _normal(said) for said in sentence.values()):
            return sentence[target]
    table = WORDS.get(target) if source == "en" else None
    words = re.findall(r"[A-Za-z']+|[^A-Za-z'\s]+", text)
    if table and words and all(w.lower() in table or not w[0].isalpha() for w in words):
        out = " ".join(table.get(w.lower(), w) for w in words)
        return re.sub(r" ([.,!?;:])", r"\1", out)
    return f"[{source}→{target}] {text}"


def run_m2m100(fake, req, info) -> Answer:
    body = request_object(req)
    validate(m2m100()["input"], body)
    text = body["text"]
    translated = translate(text, body.get("source_lang", "en"), body["target_lang"])
    neurons = M2M100_PER_M_TOKENS * (tokens(text) + tokens(translated)) / 1_000_000
    return Answer({"translated_text": translated}, neurons=neurons)

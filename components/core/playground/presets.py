"""The three tasks people try first, with typed parameters: text to image, text to speech, translation.

Each model names its parameters its own way (flux's `steps`, SDXL-Lightning's `num_steps`; melotts' `prompt` and
`lang`, aura's `text` and `speaker`); the functions here take one set of names and build each model's body, which
the model's schema then checks (payload.check) like any Playground run.
"""

from __future__ import annotations

from ..errors import InputProblem

FLUX = "@cf/black-forest-labs/flux-1-schnell"
SDXL_LIGHTNING = "@cf/bytedance/stable-diffusion-xl-lightning"
MELOTTS = "@cf/myshell-ai/melotts"
AURA_2 = "@cf/deepgram/aura-2-en"
AURA_1 = "@cf/deepgram/aura-1"
M2M100 = "@cf/meta/m2m100-1.2b"

IMAGE_MODELS = (FLUX, SDXL_LIGHTNING)
SPEECH_MODELS = (MELOTTS, AURA_2, AURA_1)
TRANSLATION_MODELS = (M2M100,)

MAX_PROMPT_CHARS = 2048  # flux's schema limit; SDXL-Lightning states none, the same bound keeps requests small
MAX_SPEECH_CHARS = 2000  # aura bills per character: a bound on what one click can cost
MAX_TRANSLATION_CHARS = 5000
DEFAULT_STEPS = {FLUX: 4, SDXL_LIGHTNING: 8}
MAX_STEPS = {FLUX: 8, SDXL_LIGHTNING: 20}
IMAGE_SIDES = (256, 2048)  # SDXL-Lightning's width and height range; flux draws 1024×1024

# aura-2-en's speakers (from its schema's enum; the page reads the chosen model's own list), melotts' languages.
AURA_SPEAKERS = ("luna", "asteria", "athena", "aurora", "hera", "thalia", "apollo", "arcas", "orion", "orpheus",
                 "zeus")
MELOTTS_LANGUAGES = {"en": "English", "es": "Spanish", "fr": "French", "zh": "Chinese", "ja": "Japanese",
                     "ko": "Korean"}
# m2m100's catalogue entry lists these languages (it knows 100; these are the ones Cloudflare names).
LANGUAGES = {"en": "English", "fr": "French", "es": "Spanish", "de": "German", "pt": "Portuguese", "zh": "Chinese",
             "ja": "Japanese", "ar": "Arabic", "ru": "Russian", "hi": "Hindi", "it": "Italian", "nl": "Dutch"}

EXAMPLE_PROMPTS = (
    "A lighthouse on a cliff at sunset, watercolour",
    "A cosy reading nook with a cat asleep on a pile of books, warm light",
    "An isometric illustration of a tiny data centre inside a glass jar",
)
EXAMPLE_SPEECH = (
    "Workers AI runs open models on Cloudflare's network, close to your users.",
    "Welcome to the demo. Pick a voice, type a sentence, and press Speak.",
)
EXAMPLE_TRANSLATIONS = (
    ("Where is the train station?", "en", "fr"),
    ("The weather is nice today.", "en", "de"),
    ("Hola, ¿cómo estás?", "es", "en"),
)


def _text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InputProblem(f"Write {what} first.")
    if len(text) > limit:
        raise InputProblem(f"The {what} is {len(text):,} characters long; up to {limit:,} are sent from here.")
    return text


def _model(model: str | None, allowed: tuple[str, ...], default: str) -> str:
    model = (model or "").strip() or default
    if model not in allowed:
        names = ", ".join(allowed)
        raise InputProblem(f"{model[:80]!r} is not one of the models this tab drives ({names}); the Any model tab "
                           "runs every other one.")
    return model


def image_request(prompt: str, model: str = "", steps: int | None = None, width: int | None = None,
                  height: int | None = None, seed: int | None = None, negative_prompt: str = "") -> tuple[str, dict]:
    """(model, body) for a text-to-image run."""
    model = _model(model, IMAGE_MODELS, FLUX)
    prompt = _text(prompt, "a description of the picture", MAX_PROMPT_CHARS)
    steps = DEFAULT_STEPS[model] if steps in (None, "") else _whole(steps, "Steps", 1, MAX_STEPS[model])
    if model == FLUX:
        return model, {"prompt": prompt, "steps": steps}
    body: dict = {"prompt": prompt, "num_steps": steps}
    for name, value in (("width", width), ("height", height)):
        if value not in (None, "", 0):
            body[name] = _whole(value, name.capitalize(), *IMAGE_SIDES)
    if seed not in (None, "", -1):
        body["seed"] = _whole(seed, "Seed", 0, 2**32 - 1)
    if negative_prompt and negative_prompt.strip():
        body["negative_prompt"] = _text(negative_prompt, "negative prompt", MAX_PROMPT_CHARS)
    return model, body


def speech_request(text: str, model: str = "", speaker: str = "", lang: str = "") -> tuple[str, dict]:
    """(model, body) for a text-to-speech run."""
    model = _model(model, SPEECH_MODELS, MELOTTS)
    text = _text(text, "the text to speak", MAX_SPEECH_CHARS)
    if model == MELOTTS:
        lang = (lang or "en").strip()
        if lang not in MELOTTS_LANGUAGES:
            raise InputProblem(f"melotts speaks {', '.join(MELOTTS_LANGUAGES)}; {lang[:20]!r} is not one of them.")
        return model, {"prompt": text, "lang": lang}
    body = {"text": text}
    if speaker and speaker.strip():
        body["speaker"] = speaker.strip()  # the model's schema lists its speakers: payload.check refuses others
    return model, body


def translation_request(text: str, target_lang: str, source_lang: str = "en", model: str = "") -> tuple[str, dict]:
    """(model, body) for a translation."""
    model = _model(model, TRANSLATION_MODELS, M2M100)
    text = _text(text, "the text to translate", MAX_TRANSLATION_CHARS)
    source, target = _language(source_lang or "en", "source"), _language(target_lang, "target")
    if source == target:
        raise InputProblem("The source and target languages are the same: pick another target.")
    return model, {"text": text, "source_lang": source, "target_lang": target}


def _language(code: str | None, which: str) -> str:
    code = (code or "").strip().lower()
    if not code:
        raise InputProblem(f"Choose the {which} language.")
    if not (2 <= len(code) <= 3 and code.isalpha()):
        raise InputProblem(f"{code[:20]!r} is not a language code: use two letters such as en, fr or es.")
    return code


def _whole(value, what: str, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputProblem(f"{what} must be a whole number.") from None
    if not number.is_integer() or not low <= number <= high:
        raise InputProblem(f"{what} must be a whole number from {low:,} to {high:,}; you gave {value}.")
    return int(number)

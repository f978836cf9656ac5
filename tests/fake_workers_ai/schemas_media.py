"""Input and output JSON Schemas of the fake's media models: text-to-image, text-to-speech, translation, object
detection. Copied in structure from Cloudflare's published ones (cloudflare/cloudflare-docs,
src/content/workers-ai-models/{flux-1-schnell,stable-diffusion-xl-lightning,melotts,aura-1,aura-2-en,m2m100-1.2b,
detr-resnet-50}.json), with four additions where the published schema is silent and the service is not:
- flux's `steps` says its `default` (4) as a keyword, not only in its description;
- m2m100's `source_lang`/`target_lang` list the model's 100 language codes as an `enum` (the published schema
  says only "a language code");
- melotts' `lang` lists MeloTTS's languages;
- aura-2-en requires `text` (as aura-1 does) and bounds it at Deepgram's 2,000 characters.
The fake validates these models' JSON bodies against exactly these schemas (validation.py).
"""

from __future__ import annotations

BYTE_ARRAY = {
    "type": "array",
    "description": "An array of integers that represent the data constrained to 8-bit unsigned integer values",
    "items": {"type": "number", "description": "A value between 0 and 255"},
}
FLUX_MAX_PROMPT = 2048
FLUX_MAX_STEPS = 8
FLUX_DEFAULT_STEPS = 4
SDXL_MAX_STEPS = 20
SDXL_DEFAULT_SIZE = 1024
AURA_MAX_TEXT = 2000

AURA_2_SPEAKERS = (
    "amalthea", "andromeda", "apollo", "arcas", "aries", "asteria", "athena", "atlas", "aurora", "callista", "cora",
    "cordelia", "delia", "draco", "electra", "harmonia", "helena", "hera", "hermes", "hyperion", "iris", "janus",
    "juno", "jupiter", "luna", "mars", "minerva", "neptune", "odysseus", "ophelia", "orion", "orpheus", "pandora",
    "phoebe", "pluto", "saturn", "thalia", "theia", "vesta", "zeus",
)
AURA_1_SPEAKERS = ("angus", "asteria", "arcas", "orion", "orpheus", "athena", "luna", "zeus", "perseus", "helios",
                   "hera", "stella")
AURA_ENCODINGS = ("linear16", "flac", "mulaw", "alaw", "mp3", "opus", "aac")
AURA_CONTAINERS = ("none", "wav", "ogg")
MELO_LANGUAGES = ("en", "es", "fr", "zh", "jp", "kr")
# The 100 languages of M2M-100 (fairseq examples/m2m_100), by the codes the model takes.
M2M100_LANGUAGES = (
    "af", "am", "ar", "ast", "az", "ba", "be", "bg", "bn", "br", "bs", "ca", "ceb", "cs", "cy", "da", "de", "el",
    "en", "es", "et", "fa", "ff", "fi", "fr", "fy", "ga", "gd", "gl", "gu", "ha", "he", "hi", "hr", "ht", "hu", "hy",
    "id", "ig", "ilo", "is", "it", "ja", "jv", "ka", "kk", "km", "kn", "ko", "lb", "lg", "ln", "lo", "lt", "lv",
    "mg", "mk", "ml", "mn", "mr", "ms", "my", "ne", "nl", "no", "ns", "oc", "or", "pa", "pl", "ps", "pt", "ro", "ru",
    "sd", "si", "sk", "sl", "so", "sq", "sr", "ss", "su", "sv", "sw", "ta", "th", "tl", "tn", "tr", "uk", "ur", "uz",
    "vi", "wo", "xh", "yi", "yo", "zh", "zu",
)


def binary(description: str) -> dict:
    """A raw request body (`application/octet-stream`)."""
    return {"type": "string", "format": "binary", "description": description}


def _binary_output(content_type: str, description: str) -> dict:
    return {"type": "string", "contentType": content_type, "format": "binary", "description": description}


def flux() -> dict:
    return {
        "input": {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": FLUX_MAX_PROMPT,
                           "description": "A text description of the image you want to generate."},
                "steps": {"type": "integer", "default": FLUX_DEFAULT_STEPS, "maximum": FLUX_MAX_STEPS,
                          "description": "The number of diffusion steps; higher values can improve quality but "
                                         "take longer."},
            },
            "required": ["prompt"],
            "additionalProperties": False,
        },
        "output": {"type": "object", "contentType": "application/json", "properties": {
            "image": {"type": "string", "description": "The generated image in Base64 format."}}},
    }


def sdxl() -> dict:
    size = {"type": "integer", "minimum": 256, "maximum": 2048}
    return {
        "input": {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "minLength": 1,
                           "description": "A text description of the image you want to generate"},
                "negative_prompt": {"type": "string",
                                    "description": "Text describing elements to avoid in the generated image"},
                "height": {**size, "description": "The height of the generated image in pixels"},
                "width": {**size, "description": "The width of the generated image in pixels"},
                "image": {**BYTE_ARRAY, "description": "For use with img2img tasks: the input image's bytes"},
                "image_b64": {"type": "string", "description": "For use with img2img tasks: the input image, "
                                                               "base64-encoded"},
                "mask": {**BYTE_ARRAY, "description": "Mask image data for inpainting, as bytes"},
                "num_steps": {"type": "integer", "default": SDXL_MAX_STEPS, "maximum": SDXL_MAX_STEPS,
                              "description": "The number of diffusion steps; higher values can improve quality "
                                             "but take longer"},
                "strength": {"type": "number", "default": 1, "description": "How strongly img2img transforms the "
                                                                            "input image, between 0 and 1"},
                "guidance": {"type": "number", "default": 7.5,
                             "description": "How closely the generated image should adhere to the prompt"},
                "seed": {"type": "integer", "description": "Random seed for reproducibility of the image "
                                                           "generation"},
            },
            "required": ["prompt"],
        },
        "output": _binary_output("image/png", "The generated image in PNG format"),
    }


def melotts() -> dict:
    return {
        "input": {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "description": "The text to speak"},
                "lang": {"type": "string", "enum": list(MELO_LANGUAGES), "default": "en",
                         "description": "The speech language (e.g., 'en' for English, 'fr' for French)"},
            },
            "required": ["prompt"],
        },
        "output": {"oneOf": [
            {"type": "object", "contentType": "application/json", "properties": {
                "audio": {"type": "string", "description": "The generated audio in MP3 format, base64-encoded"}}},
            _binary_output("audio/mpeg", "The generated audio in MP3 format"),
        ]},
    }


def _aura(speakers: tuple[str, ...], default: str, bounded: bool) -> dict:
    text = {"type": "string", "minLength": 1, "description": "The text content to be converted to speech"}
    if bounded:
        text["maxLength"] = AURA_MAX_TEXT
    return {
        "input": {
            "type": "object",
            "properties": {
                "speaker": {"type": "string", "enum": list(speakers), "default": default,
                            "description": "Speaker used to produce the audio."},
                "encoding": {"type": "string", "enum": list(AURA_ENCODINGS),
                             "description": "Encoding of the output audio."},
                "container": {"type": "string", "enum": list(AURA_CONTAINERS),
                              "description": "The file format wrapper for the output audio; the available "
                                             "options depend on the encoding."},
                "text": text,
                "sample_rate": {"type": "number", "description": "The sample rate of the output audio."},
                "bit_rate": {"type": "number", "description": "The bitrate of the audio in bits per second."},
            },
            "required": ["text"],
        },
        "output": _binary_output("audio/mpeg", "The generated audio in MP3 format"),
    }


def aura_2() -> dict:
    return _aura(AURA_2_SPEAKERS, "luna", bounded=True)


def aura_1() -> dict:
    return _aura(AURA_1_SPEAKERS, "angus", bounded=False)


def m2m100() -> dict:
    return {
        "input": {
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1, "description": "The text to be translated"},
                "source_lang": {"type": "string", "enum": list(M2M100_LANGUAGES), "default": "en",
                                "description": "The language code of the source text (e.g., 'en' for English)."},
                "target_lang": {"type": "string", "enum": list(M2M100_LANGUAGES),
                                "description": "The language code to translate the text into (e.g., 'es')."},
            },
            "required": ["text", "target_lang"],
        },
        "output": {"type": "object", "contentType": "application/json", "properties": {
            "translated_text": {"type": "string", "description": "The translated text in the target language"}}},
    }


def detr() -> dict:
    box = {"type": "object", "description": "Coordinates of the box around the detected object, in pixels",
           "properties": {corner: {"type": "number"} for corner in ("xmin", "ymin", "xmax", "ymax")}}
    return {
        "input": {"oneOf": [
            binary("The image to use for detection"),
            {"type": "object", "properties": {"image": BYTE_ARRAY}, "required": ["image"]},
        ]},
        "output": {"type": "array", "contentType": "application/json",
                   "description": "An array of detected objects within the input image",
                   "items": {"type": "object", "properties": {
                       "score": {"type": "number", "description": "Confidence that the detection is correct"},
                       "label": {"type": "string", "description": "The class label of the detected object"},
                       "box": box}}},
    }


MEDIA_SCHEMAS = {
    "flux": flux,
    "sdxl": sdxl,
    "melotts": melotts,
    "aura-2": aura_2,
    "aura-1": aura_1,
    "m2m100": m2m100,
    "detr": detr,
}

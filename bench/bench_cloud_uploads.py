"""Upload efficiency: bytes on the wire per byte of file, for each audio and image model, vs the tutorials' int-array JSON.

    .venv/bin/python bench/bench_cloud_uploads.py

The tab functions (`components.tabs.vision.classify`, `components.tabs.speech.transcribe`) run on the files in assets/ with
the shared client pointed at the fake; the fake records each request's body exactly as it arrived, so
`len(request.body)` is the body on the wire. Compared with the file's size and with the int-array JSON most
tutorials (and the official Python SDK) send: `json.dumps({"image": list(data)})`.
Targets: ≤ 1.01× the file for raw-body models, ≤ 1.35× for base64 JSON (whisper-large-v3-turbo).
"""

from __future__ import annotations

import asyncio
import json

from _harness import ASSETS, fake_server, install_shared_client, report, verdict

CASES = [  # model, field of the int-array JSON, file, how the contract says it must travel
    ("@cf/microsoft/resnet-50", "image", "cat-chelsea.png", "raw"),
    ("@cf/microsoft/resnet-50", "image", "coffee-cup.png", "raw"),
    ("@cf/openai/whisper", "audio", "speech-fox.wav", "raw"),
    ("@cf/openai/whisper", "audio", "speech-weather.wav", "raw"),
    ("@cf/openai/whisper-tiny-en", "audio", "speech-fox.wav", "raw"),
    ("@cf/openai/whisper-tiny-en", "audio", "speech-weather.wav", "raw"),
    ("@cf/openai/whisper-large-v3-turbo", "audio", "speech-fox.wav", "base64"),
    ("@cf/openai/whisper-large-v3-turbo", "audio", "speech-weather.wav", "base64"),
]
TARGETS = {"raw": 1.01, "base64": 1.35}


async def send(model: str, path: str) -> None:
    from components.tabs import speech, vision

    if model.startswith("@cf/microsoft/"):
        await vision.classify(path, model)
    else:
        await speech.transcribe(path, model, "", "transcribe")


def main() -> None:
    rows = []
    with fake_server() as fake:
        install_shared_client(fake)
        for model, field, name, kind in CASES:
            path = ASSETS / name
            data = path.read_bytes()
            fake.requests.clear()
            asyncio.run(send(model, str(path)))
            runs = [request for request in fake.requests if request.model == model]
            if not runs:
                raise RuntimeError(f"{model}: no request reached the fake")
            wire = sum(len(request.body) for request in runs)
            int_array = len(json.dumps({field: list(data)}))
            ratio = wire / len(data)
            rows.append([
                f"`{model.removeprefix('@cf/')}`", name, f"{len(data):,}", f"{wire:,}" + (f" ({len(runs)} requests)"
                if len(runs) > 1 else ""), runs[0].headers.get("content-type", ""), f"**{ratio:.3f}**",
                f"{int_array:,} ({int_array / len(data):.2f}×)", f"{int_array / wire:.1f}×", f"≤ {TARGETS[kind]}",
                verdict(ratio <= TARGETS[kind]),
            ])
    report("Upload efficiency: request body on the wire / file size (tab functions → fake, on loopback)",
           ["model", "file", "file bytes", "body bytes on the wire", "content-type", "wire / file",
            "int-array JSON bytes", "saved vs int-array", "target", "result"], rows)


if __name__ == "__main__":
    main()

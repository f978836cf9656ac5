"""`make run` must give a working demo with the network removed: the offline engine, in a process that has no
network at all (a fresh network namespace: not even loopback is up), answers all four tasks."""

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = r"""
import asyncio, os
for name in [n for n in os.environ if n.startswith("CLOUDFLARE_")]:
    del os.environ[name]
from components.core.backend import client_from_env
client = client_from_env()
assert client.settings.backend == "local", client.settings

async def main():
    chat = {"messages": [{"role": "system", "content": "You are a helpful assistant. Answer in one short sentence."},
                         {"role": "user", "content": "What is the capital of France?"}], "temperature": 0, "max_tokens": 16}
    text = "".join([d.text async for d in client.stream("@local/smollm2-135m-instruct", chat)])
    labels = await client.run_bytes("@local/efficientnet-lite0", open("assets/coffee-cup.png", "rb").read())
    speech = await client.run_bytes("@local/whisper-tiny-en", open("assets/speech-fox.wav", "rb").read())
    vectors = await client.run("@local/all-minilm-l6-v2", {"text": ["a", "b"]})
    print("CHAT", text)
    print("LABEL", labels[0]["label"])
    print("SPEECH", speech["text"])
    print("SHAPE", vectors["shape"])

asyncio.run(main())
"""


def test_offline_engine_works_without_any_network():
    if shutil.which("unshare") is None:
        pytest.fail("util-linux's `unshare` is needed to take the network away (apt-get install util-linux)")
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "CHAT " in out and "LABEL ESPRESSO" in out and "fox" in out.lower() and "SHAPE [2, 384]" in out

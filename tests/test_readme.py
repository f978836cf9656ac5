"""The README's API examples are run, as written, against the launched app."""

import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
API_SECTION = README.split("## The public API", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(r"```python\n(.*?)```", API_SECTION, re.S)


def test_every_endpoint_has_an_example():
    names = {"/chat", "/classify", "/transcribe", "/similarity", "/search"}
    assert names <= {name for code in EXAMPLES for name in re.findall(r'api_name="(/\w+)"', code)}


@pytest.mark.parametrize("code", EXAMPLES, ids=lambda code: re.search(r'api_name="(/\w+)"', code).group(1))
def test_readme_example_runs(code, served, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(code.replace("http://127.0.0.1:7860/", served), "README.md", "exec"), {})
    assert capsys.readouterr().out.strip(), "each example prints its result"

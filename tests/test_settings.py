"""components/core/settings.py is the one full list of environment variables: everything the code reads is on it,
the README has a row for each, and the core reads the environment through it alone."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.core import settings
from tests.conftest import ROOT

COMPONENTS = ROOT / "components"
CORE = COMPONENTS / "core"
SOURCES = sorted(COMPONENTS.rglob("*.py")) + [ROOT / "app.py"]
ENV_NAMES = {"env", "environ"}  # the names a mapping of environment variables goes by in this code
README_ROW = re.compile(r"^\| `[A-Z][A-Z0-9_]*`")  # a table row whose first cell starts with a variable's name


def is_environ(node: ast.AST) -> bool:
    """os.environ, or a mapping named env / environ."""
    return ((isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)
             and node.value.id == "os") or (isinstance(node, ast.Name) and node.id in ENV_NAMES))


def is_settings_read(func: ast.AST) -> bool:
    """settings.read / settings.raw, or read / raw inside settings.py itself."""
    if isinstance(func, ast.Attribute):
        return func.attr in ("read", "raw") and isinstance(func.value, ast.Name) and func.value.id == "settings"
    return False


def environment_reads(path: Path) -> list[tuple[int, ast.expr, bool]]:
    """(line, name expression, through settings.read/raw) of every read or write of an environment variable."""
    found: list[tuple[int, ast.expr, bool]] = []
    own = path == CORE / "settings.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if is_settings_read(func) or (own and isinstance(func, ast.Name) and func.id in ("read", "raw")):
                found.append((node.lineno, node.args[0], True))
            elif ((isinstance(func, ast.Attribute) and func.attr in ("get", "setdefault", "pop") and is_environ(func.value))
                    or (isinstance(func, ast.Attribute) and func.attr in ("getenv", "putenv", "unsetenv")
                        and isinstance(func.value, ast.Name) and func.value.id == "os")
                    or (isinstance(func, ast.Name) and func.id == "getenv")):
                found.append((node.lineno, node.args[0], False))
        elif isinstance(node, ast.Subscript) and is_environ(node.value):
            found.append((node.lineno, node.slice, False))
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                and any(is_environ(comparator) for comparator in node.comparators):
            found.append((node.lineno, node.left, False))
    return found


def guards_set() -> set[str]:
    """The names the code sets with os.environ.setdefault(NAME, …) or os.environ[NAME] = …."""
    names: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault"
                    and is_environ(node.func.value) and node.args and isinstance(node.args[0], ast.Constant)):
                names.add(node.args[0].value)
            elif isinstance(node, ast.Assign):
                names.update(target.slice.value for target in node.targets if isinstance(target, ast.Subscript)
                             and is_environ(target.value) and isinstance(target.slice, ast.Constant))
    return names


def names_read() -> dict[str, list[str]]:
    """Every literal variable name read under components/ and in app.py → where."""
    names: dict[str, list[str]] = {}
    for path in SOURCES:
        for line, expr, _ in environment_reads(path):
            if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
                names.setdefault(expr.value, []).append(f"{path.relative_to(ROOT)}:{line}")
    return names


def readme_names() -> set[str]:
    """The variables named in the first cell of the README's tables ("| `A` / `B` | …" names two)."""
    names: set[str] = set()
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if README_ROW.match(line):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def test_the_list_is_well_formed():
    assert len(settings.BY_NAME) == len(settings.VARIABLES), "each variable once"
    for variable in settings.VARIABLES:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", variable.name), variable.name
        assert variable.meaning.strip(), f"{variable.name} says what it means"
        assert variable.read_by in (settings.APP, settings.CLIENT, settings.GRADIO), variable.name
        assert not (variable.secret and variable.default), f"{variable.name}: a secret has no default"
        for path in re.findall(r"components/[\w/]+\.\w+", variable.meaning):
            assert (ROOT / path).exists(), f"{variable.name} names {path}, which is not there"
    assert settings.SECRETS == {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_AI_GATEWAY_TOKEN", "ANTHROPIC_API_KEY",
                                "LOCAL_ENGINE_TOKEN"}


def test_the_walk_finds_reads_of_every_kind():
    """The check below is only as good as the walk: it sees os.environ.get, os.getenv, env.get, settings.read."""
    found = names_read()
    for name in ("LOCAL_CHAT_THREADS", "GRADIO_IS_E2E_TEST", "CLOUDFLARE_API_TOKEN", "ROUTING_ESCALATION_MODEL",
                 "DEMO_STATE_DIR", "GRADIO_SERVER_NAME", "HF_HUB_OFFLINE", "SHOWCASE_GRADIO_PATCHES"):
        assert name in found, name


def test_every_variable_the_code_reads_is_listed():
    unlisted = {name: where for name, where in names_read().items() if name not in settings.BY_NAME}
    assert not unlisted, f"read but not in components/core/settings.py: {unlisted}"


def test_every_environment_read_names_its_variable():
    """A name computed at run time would escape the check above. settings.read/raw may take one: they refuse an
    unlisted name as they run."""
    computed = [f"{path.relative_to(ROOT)}:{line}" for path in SOURCES
                for line, expr, through_settings in environment_reads(path)
                if not through_settings and not isinstance(expr, ast.Constant)]
    assert not computed, f"environment read by a computed name: {computed}"


def test_every_variable_the_app_or_a_client_reads_is_still_read():
    """No stale entries: what the app or a client reads appears in the code, read or passed on by name (Gradio's
    own are read by Gradio)."""
    found = set(names_read()) | {node.value for path in SOURCES if path != CORE / "settings.py"
                                 for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                                 if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    stale = [v.name for v in settings.VARIABLES if v.read_by != settings.GRADIO and v.name not in found]
    assert not stale, f"listed but read nowhere: {stale}"


def test_the_guards_are_the_variables_the_code_sets():
    assert {v.name for v in settings.VARIABLES if v.guard} == guards_set()


def test_the_readme_has_a_row_for_every_variable_and_no_other():
    documented, listed = readme_names(), set(settings.BY_NAME)
    assert not listed - documented, f"no README row for {sorted(listed - documented)}"
    assert not documented - listed, f"README rows for variables not in settings.py: {sorted(documented - listed)}"


def test_defaults_are_the_clients_own():
    from components import anthropic, workers_ai
    from components.core.routing import targets

    assert settings.BY_NAME["CLOUDFLARE_BASE_URL"].default == workers_ai.Settings().base_url
    assert settings.BY_NAME["CLOUDFLARE_AI_GATEWAY_URL"].default == workers_ai.Settings().gateway_url
    assert settings.BY_NAME["ANTHROPIC_BASE_URL"].default == anthropic.DEFAULT_BASE_URL
    assert settings.BY_NAME["ANTHROPIC_MODEL"].default == anthropic.DEFAULT_MODEL
    assert settings.BY_NAME["ROUTING_ESCALATION_MODEL"].default == targets.DEFAULT_ESCALATION_MODEL


def test_read_refuses_a_name_that_is_not_listed():
    with pytest.raises(KeyError, match="not a setting of this app"):
        settings.read("DEMO_NOT_A_SETTING", {"DEMO_NOT_A_SETTING": "1"})
    with pytest.raises(KeyError, match="not a setting of this app"):
        settings.raw("DEMO_NOT_A_SETTING", {})


def test_read_strips_and_raw_does_not():
    env = {"DEMO_STATE_DIR": "  /data \n"}
    assert settings.read("DEMO_STATE_DIR", env) == "/data"
    assert settings.raw("DEMO_STATE_DIR", env) == "  /data \n"
    assert settings.read("DEMO_STATE_DIR", {}) == "" and settings.raw("DEMO_STATE_DIR", {}) is None


def test_read_without_a_mapping_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("ROUTING_ESCALATION_MODEL", " @cf/x/y ")
    assert settings.read("ROUTING_ESCALATION_MODEL") == "@cf/x/y"


@pytest.mark.parametrize("value, enabled", [(None, True), ("", True), ("1", True), ("yes", True), ("0", False),
                                            ("false", False), (" Off ", False), ("no", False)])
def test_gradio_patches_switch(value, enabled):
    env = {} if value is None else {"SHOWCASE_GRADIO_PATCHES": value}
    assert settings.gradio_patches_enabled(env) is enabled


def test_the_core_reads_the_environment_only_through_settings():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        if path == CORE / "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                    and node.attr in ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv")) \
                    or (isinstance(node, ast.ImportFrom) and node.module == "os"
                        and {alias.name for alias in node.names} & {"environ", "environb", "getenv", "getenvb"}):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"read the environment through components/core/settings.py: {offenders}"


def test_a_developers_shell_does_not_leak_into_the_tests():
    """conftest.py clears every setting but the guards, before anything reads them, and sets
    DEMO_TRUSTED_PROXY_HOPS=1 for the launched apps."""
    env = {**os.environ, **{v.name: "from-the-shell" for v in settings.VARIABLES}}
    script = ("import os, sys, tests.conftest\n"
              "from components.core.settings import VARIABLES\n"
              "print({v.name: os.environ.get(v.name) for v in VARIABLES}, 'gradio' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    seen, gradio_loaded = run.stdout.strip().rsplit(" ", 1)
    left = {name: value for name, value in ast.literal_eval(seen).items() if value is not None}
    guards = {v.name for v in settings.VARIABLES if v.guard}
    assert left == {**{name: "from-the-shell" for name in guards}, "DEMO_TRUSTED_PROXY_HOPS": "1"}
    assert gradio_loaded == "False", "conftest imports no gradio"

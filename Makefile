# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DEPS   := $(VENV)/.deps-installed

.PHONY: run test setup system-deps clean screenshots

run: $(DEPS)
	$(PY) app.py

test: $(DEPS) system-deps
	GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 $(PY) -m pytest

setup: $(DEPS)

# The venv is rebuilt whenever pyproject.toml changes.
$(DEPS): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Browser tests drive Debian's chromium; speech tests can synthesise audio with espeak-ng.
system-deps:
	@command -v chromium >/dev/null && command -v espeak-ng >/dev/null || { \
	  echo "Installing chromium and espeak-ng (Debian packages)…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium espeak-ng >/dev/null; }

clean:
	rm -rf $(VENV) .gradio

# README pictures, from the running app against the fake server, in headless Chromium.
screenshots: $(DEPS) system-deps
	$(PY) -m tests.make_screenshots

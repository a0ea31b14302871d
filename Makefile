# The two commands a new user needs: `make run` and `make test`.
# Both create ./.venv on first use (Python 3.11+) and reinstall when pyproject.toml changes.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint bench-ingest screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/heartwatch up

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Bytecode caching on for the tests even where PYTHONDONTWRITEBYTECODE is set: without it
# every xdist worker rewrites (and compiles) each test module's asserts anew, seconds of
# CPU per worker. (Caches land in the ignored __pycache__ directories.)
test: lint
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

bench-ingest: $(BIN)/.installed
	$(BIN)/python bench/ingest.py

# The README's pictures of the dashboard, taken by its browser tests (docs/*.png).
screenshots: $(BIN)/.installed
	HEARTWATCH_SCREENSHOTS=docs $(BIN)/pytest -n 0 tests/web/test_browser.py -k screenshots

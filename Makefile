# tether: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck pytest bench lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tether needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: setup
	$(BIN)/tether demo

test: setup lint typecheck pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/run_overhead.py
	$(BIN)/tether eval grounding --data ../shared/data/ragtruth-dev
	$(BIN)/python benchmarks/envelope_overhead.py
	$(BIN)/python benchmarks/policy.py
	$(BIN)/python benchmarks/access.py

# Refresh the pinned lock file from pyproject.toml (needs network access to PyPI).
lock:
	$(PYTHON) -m venv /tmp/tether-lock && /tmp/tether-lock/bin/pip install --quiet uv
	/tmp/tether-lock/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .tether .mypy_cache .pytest_cache .ruff_cache

# tether: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TETHER_CHROMIUM ?= /usr/bin/chromium
# pytest workers (pytest-xdist); each test file runs whole on one worker
PYTEST_WORKERS ?= 2
# the SQLite server `make load` measures beside the current one, in turn, in the same sitting:
# the last revision that ran each run inside its HTTP request
LOAD_BASELINE ?= 39a424a

.PHONY: setup bytecode demo test lint typecheck pytest browser screenshots docs bench load soak lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tether needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The package byte-compiled once, as a regular install leaves it: every `tether` process (the
# test suite starts hundreds) then loads its modules instead of compiling each one again, as it
# would wherever PYTHONDONTWRITEBYTECODE is set. Only changed sources are compiled again.
bytecode: setup
	@$(BIN)/python -m compileall -q src

demo: setup bytecode
	$(BIN)/tether demo

test: setup lint typecheck pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

pytest: setup bytecode browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# Refresh docs/screenshots from the dashboard's browser tests.
screenshots: setup browser
	TETHER_SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest tests/dashboard/test_browser.py -q

# The dashboard's browser tests drive the system's Chromium; nothing downloads a browser.
browser:
	@if [ -x "$(TETHER_CHROMIUM)" ]; then \
		echo "browser tests use $(TETHER_CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
			|| echo "could not install chromium: the browser tests will be skipped"; \
	else \
		echo "Chromium is not installed, so the dashboard's browser tests will be skipped"; \
		echo "(they fail when CI=true). Install it with: sudo apt-get install -y chromium"; \
		echo "or point TETHER_CHROMIUM at a Chromium binary."; \
	fi

# The HTML docs: docs/ plus the API reference mkdocstrings renders from the docstrings.
docs: setup
	$(BIN)/mkdocs build --strict -d site

bench: setup
	$(BIN)/python benchmarks/run_overhead.py
	$(BIN)/tether eval grounding --data ../shared/data/ragtruth-dev
	$(BIN)/python benchmarks/envelope_overhead.py
	$(BIN)/python benchmarks/policy.py
	$(BIN)/python benchmarks/access.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/domain_runs.py
	$(BIN)/python benchmarks/conversation.py
	$(BIN)/python benchmarks/consent.py
	$(BIN)/python benchmarks/replay.py --runs 2000
	$(BIN)/python benchmarks/drift.py

# A local deployment under load: SQLite (one process), SQLite (two replicas on one file), then
# PostgreSQL + Redis (two API and two worker processes), at concurrency 1, 8 and 32; needs
# PostgreSQL and Redis on 127.0.0.1.
load: setup
	$(BIN)/python benchmarks/load_deploy.py --runs 200 --concurrency 1,8,32 \
		--baseline $(LOAD_BASELINE) --out .tether/load.json

# Ten minutes of load per topology, reporting how each process's memory grew.
soak: setup
	$(BIN)/python benchmarks/load_deploy.py --soak-seconds 600 --out .tether/soak.json

# Refresh the pinned lock file from pyproject.toml (needs network access to PyPI).
lock:
	$(PYTHON) -m venv /tmp/tether-lock && /tmp/tether-lock/bin/pip install --quiet uv
	/tmp/tether-lock/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .tether .mypy_cache .pytest_cache .ruff_cache .import_linter_cache site

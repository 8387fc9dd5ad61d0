"""A `tether` command loads only what it uses: the command's own module when it runs (a command
that reads the store loads no desk), numpy, scipy and bm25s with the first search or embedding,
redis with the first Redis client. Every command is a process of its own, so what loads at
start is paid on each one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import SRC

LAZY = ("numpy", "scipy", "bm25s", "redis")


def _modules_after(code: str, names: tuple[str, ...]) -> dict[str, bool]:
    """Which of `names` a fresh process has loaded once it ran `code`."""
    report = f"print('loaded:' + json.dumps({{m: m in sys.modules for m in {names!r}}}))"
    probe = f"import sys, json\n{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = next(t for t in done.stdout.splitlines() if t.startswith("loaded:"))
    loaded: dict[str, bool] = json.loads(line.removeprefix("loaded:"))
    return loaded


def _loaded_after(code: str) -> dict[str, bool]:
    return _modules_after(code, LAZY)


def test_the_command_line_starts_without_the_search_and_redis_libraries() -> None:
    assert _loaded_after("from tether.cli import main") == dict.fromkeys(LAZY, False)


def test_a_search_loads_them_when_it_needs_them() -> None:
    """The near miss: deferring the import must not break the first search or embedding."""
    code = (
        "from tether.grounding.bm25 import Bm25Retriever\n"
        "from tether.grounding.documents import Document\n"
        "from tether.grounding.embeddings import HashEmbedder\n"
        "docs = [Document('d1', 'Refunds', 'Refunds take five days.', ('all',), 'kb', 'v1')]\n"
        "found = Bm25Retriever.from_documents(docs).search('refund', 3, {'all'})\n"
        "assert [e.id for e in found] == ['kb:d1#0'], found\n"
        "assert HashEmbedder(16).embed(['refunds']).shape == (1, 16)\n"
    )
    loaded = _loaded_after(code)
    assert loaded["numpy"] and loaded["bm25s"], loaded
    assert not loaded["redis"], loaded


# what the commands that only read the store must not load: the run loop, the verifier, the
# approvals, the domain packs and the HTTP server
HEAVY = (
    "tether.runtime.loop",
    "tether.grounding.verifier",
    "tether.approvals.service",
    "tether.sdk.desk",
    "tether.domains",
    "fastapi",
)


def _heavy_after(code: str) -> list[str]:
    return [m for m, loaded in _modules_after(code, HEAVY).items() if loaded]


def test_the_command_line_loads_no_command_before_it_runs() -> None:
    assert _heavy_after("from tether.cli import main") == []


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list", "--json"],
        ["runs", "show", "run_missing", "--json"],
        ["release", "list", "--json"],
        ["audit", "verify", "--json"],
        ["keys", "list", "--json"],
    ],
)
def test_a_command_that_reads_the_store_loads_no_desk(args: list[str], tmp_path: Path) -> None:
    run = (
        "import os, sys\n"
        f"os.environ['TETHER_HOME'] = {str(tmp_path / 'home')!r}\n"
        f"os.environ['TETHER_DATABASE_URL'] = 'sqlite:///{tmp_path / 'tether.db'}'\n"
        f"sys.argv = ['tether', *{args!r}]\n"
        "from tether.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _heavy_after(run) == []


def test_a_command_that_opens_a_desk_still_loads_it(tmp_path: Path) -> None:
    """The near miss: a command is loaded with everything it uses when it runs."""
    run = (
        "import os, sys\n"
        f"os.environ['TETHER_HOME'] = {str(tmp_path / 'home')!r}\n"
        f"os.environ['TETHER_DATABASE_URL'] = 'sqlite:///{tmp_path / 'tether.db'}'\n"
        "sys.argv = ['tether', 'run', 'hi', '--as', 'nobody', '--json']\n"
        "from tether.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert set(_heavy_after(run)) >= {"tether.runtime.loop", "tether.sdk.desk"}

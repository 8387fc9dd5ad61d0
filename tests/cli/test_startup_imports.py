"""A `tether` command loads only what it uses: numpy, scipy and bm25s load with the first
search or embedding, redis with the first Redis client. Every command is a process of its own,
so what loads at start is paid on each one."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.processes import SRC

LAZY = ("numpy", "scipy", "bm25s", "redis")


def _loaded_after(code: str) -> dict[str, bool]:
    probe = (
        f"import sys, json\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {LAZY!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


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

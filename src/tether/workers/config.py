"""How many workers a process runs and how deep its run queue may get, from the environment."""

from __future__ import annotations

from collections.abc import Mapping

from tether.core.settings import whole_setting
from tether.store.runs import RunStore

DEFAULT_WORKERS = 8
DEFAULT_QUEUE_DEPTH = 1000


def worker_threads(environ: Mapping[str, str] | None = None) -> int:
    """`TETHER_WORKERS`: runs a process executes at once (0 in an API-only process)."""
    return whole_setting("TETHER_WORKERS", DEFAULT_WORKERS, 0, 256, environ)


def queue_depth(environ: Mapping[str, str] | None = None) -> int:
    """`TETHER_QUEUE_DEPTH`: runs that may wait for a worker before new ones get 429."""
    return whole_setting("TETHER_QUEUE_DEPTH", DEFAULT_QUEUE_DEPTH, 1, 1_000_000, environ)


def store_url(store: RunStore) -> str:
    """The store's database URL, password included (the queue connects to it too)."""
    return store.engine.url.render_as_string(hide_password=False)

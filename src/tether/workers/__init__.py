"""Workers: the queue that hands accepted runs to the threads and processes that run them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tether.workers.queue import InlineQueue, RunQueue, open_queue

if TYPE_CHECKING:
    from tether.workers.pg_queue import PostgresQueue

__all__ = ["InlineQueue", "PostgresQueue", "RunQueue", "open_queue"]


def __getattr__(name: str) -> Any:
    # procrastinate is imported only by processes that queue on PostgreSQL
    if name == "PostgresQueue":
        from tether.workers.pg_queue import PostgresQueue

        return PostgresQueue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

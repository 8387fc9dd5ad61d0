"""What the checks of one proposal read of live state, kept so that a replay reads the same.

A domain's lookups go through `recorded_read(source, key, fetch)`. Inside `reading()` (the
runtime holds one while the checks of a proposal run) the first read of a key fetches and keeps
the value, and every later read of it in the block gets a copy of the kept one: the checks see
one state of the record and pay for one query. The runtime records what the block read with the
guard step (`reads`), and a replay opens the block from those values: a read the record does not
hold fails with REPLAY_READ_MISSING instead of looking at today's state. Outside a block a read
simply fetches.

Values must be JSON (what the step stores); keys are `source:key` strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from tether.core.errors import ErrorCode, TetherError

T = TypeVar("T")


class ReadBook:
    """The values read in one block, by `source:key`; `replaying`: only those may be read."""

    def __init__(self, recorded: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(recorded or {})
        self.replaying = recorded is not None


_BOOK: ContextVar[ReadBook | None] = ContextVar("tether_read_book", default=None)


def _copy(value: Any) -> Any:
    """A copy of a JSON value (each reader may change its own)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def recorded_read(source: str, key: str, fetch: Callable[[], T]) -> T:
    """The value of `key` in `source`: fetched (and kept) the first time in a block, the kept
    one after; from the record when replaying."""
    book = _BOOK.get()
    if book is None:
        return fetch()
    name = f"{source}:{key}"
    if name in book.values:
        kept: T = _copy(book.values[name])
        return kept
    if book.replaying:
        raise TetherError(
            ErrorCode.REPLAY_READ_MISSING,
            f"the check read {name}, which the recorded step did not read",
        )
    value = fetch()
    book.values[name] = _copy(value)
    return value


def reading_now() -> bool:
    """True inside a `reading()` block, whose reads stand for one state of the world: a store
    refuses a write there, which would change what the block already read."""
    return _BOOK.get() is not None


def kept_reads(book: ReadBook) -> dict[str, Any]:
    """What a step records of a block's reads: `{"reads": {...}}`, or nothing when it read
    nothing."""
    return {"reads": book.values} if book.values else {}


@contextmanager
def reading(recorded: Mapping[str, Any] | None = None) -> Iterator[ReadBook]:
    """A block whose reads are kept (or, with `recorded`, served from a record). A block opened
    inside another joins it, unless it replays a record of its own."""
    outer = _BOOK.get()
    if outer is not None and recorded is None:
        yield outer
        return
    token = _BOOK.set(ReadBook(recorded))
    try:
        book = _BOOK.get()
        assert book is not None
        yield book
    finally:
        _BOOK.reset(token)

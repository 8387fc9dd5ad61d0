"""`tether serve` and `tether worker` freeze what start-up made out of the cyclic collector,
after collecting what start-up left as garbage: that garbage must not be kept for good."""

from __future__ import annotations

import gc
import inspect
import weakref
from collections.abc import Iterator

import pytest

from tether.cli import desk, worker
from tether.cli.heap import freeze_start_up


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_garbage_is_collected_before_the_rest_is_frozen(thawed: None) -> None:
    gc.disable()  # nothing collects the cycle before freeze_start_up does
    try:
        dropped = _Node()
        gone = weakref.ref(dropped)
        kept = _Node()
        del dropped
        assert gone() is not None
        freeze_start_up()
        assert gone() is None  # collected, not frozen
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(kept)
    finally:
        gc.enable()


def test_serve_and_worker_freeze_after_start_up() -> None:
    # both start their desk first, then freeze, then serve: read in their own source
    for function in (desk._serve, worker.run_worker):
        source = inspect.getsource(function)
        assert source.index("freeze_start_up()") > source.index("open_desk(")

"""`Envelope(inline=True)` runs a function "on the calling thread instead, in an empty context
as a worker would". So does a worker: were its thread to keep one context for every call it
serves, a context variable one call sets (a pack's "current customer", a tracing context
attached and not detached) would be what the next call on that worker sees, whoever it is for."""

from __future__ import annotations

import contextvars

from tether.tools import Envelope, RetryPolicy, current_idempotency_key, make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext
from tether.tools.shared_state import InProcessState
from tether.tools.workers import WorkerPool

CUSTOMER: contextvars.ContextVar[str | None] = contextvars.ContextVar("customer", default=None)


def whoami(me: str) -> dict[str, str | None]:
    """Report who the context says the call is for, then say it is for `me`."""
    seen = CUSTOMER.get()
    CUSTOMER.set(me)
    return {"seen": seen}


def _seen(inline: bool) -> list[object]:
    envelope = Envelope(timeout_s=2.0, retry=RetryPolicy.never(), inline=inline)
    tool = make_tool(whoami, envelope=envelope)
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    return [
        executor.execute(tool, {"me": who}, CallContext(principal_id=who)).output
        for who in ("alice", "bob")
    ]


def test_a_call_on_a_worker_starts_in_an_empty_context_as_an_inline_call_does() -> None:
    assert _seen(inline=True) == [{"seen": None}, {"seen": None}]
    on_worker = _seen(inline=False)
    assert on_worker == [{"seen": None}, {"seen": None}], (
        f"bob's call on a worker saw the context alice's call left: {on_worker}"
    )


async def whoami_async(me: str) -> dict[str, str | None]:
    """whoami, as a coroutine."""
    seen = CUSTOMER.get()
    CUSTOMER.set(me)
    return {"seen": seen}


def keyed(me: str) -> dict[str, str | None]:
    """The idempotency key the call runs under, as the tool sees it."""
    return {"key": current_idempotency_key()}


def test_a_coroutine_on_a_worker_starts_in_an_empty_context_too() -> None:
    tool = make_tool(whoami_async, envelope=Envelope(timeout_s=2.0, retry=RetryPolicy.never()))
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    seen = [
        executor.execute(tool, {"me": who}, CallContext(principal_id=who)).output
        for who in ("alice", "bob")
    ]
    assert seen == [{"seen": None}, {"seen": None}]


def test_the_calls_own_idempotency_key_is_still_in_its_context() -> None:
    tool = make_tool(keyed, envelope=Envelope(timeout_s=2.0, retry=RetryPolicy.never()))
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    keys = [
        executor.execute(tool, {"me": who}, CallContext(principal_id=who, idempotency_key=k))
        for who, k in (("alice", "k1"), ("bob", None))
    ]
    assert [o.output for o in keys] == [{"key": "k1"}, {"key": None}]

"""Tools whose envelope runs them inline, on the calling thread: what they see, what an overrun
does (the call is kept, never run again), and what cannot be inline. Each behaviour is checked
beside the same tool on a worker thread, so a switch that did nothing would fail here."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

import pytest

from tether.core.envelope import Envelope, RetryPolicy
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, current_idempotency_key
from tether.tools.shared_state import InProcessState
from tether.tools.workers import WorkerPool

_PROBE: ContextVar[str] = ContextVar("test_inline_probe", default="unset")


def _executor() -> EnvelopeExecutor:
    return EnvelopeExecutor(InProcessState(), pool=WorkerPool(), sleep=lambda _: None)


@pytest.mark.parametrize("inline", [True, False])
def test_where_a_call_runs_and_what_it_sees(inline: bool) -> None:
    seen: dict[str, Any] = {}

    def lookup(order_id: str) -> dict[str, str]:
        seen.update(thread=threading.get_ident(), probe=_PROBE.get(), key=current_idempotency_key())
        return {"order_id": order_id}

    tool = make_tool(lookup, envelope=Envelope(timeout_s=5.0, inline=inline))
    token = _PROBE.set("the caller's")
    try:
        outcome = _executor().execute(tool, {"order_id": "#1"}, CallContext(idempotency_key="k1"))
    finally:
        _PROBE.reset(token)
    assert outcome.ok and outcome.output == {"order_id": "#1"}
    assert (seen["thread"] == threading.get_ident()) is inline
    # inline or not, the tool sees its own key and none of the caller's context variables
    assert seen["probe"] == "unset" and seen["key"] == "k1"


def test_an_inline_write_that_overruns_keeps_its_result_and_runs_once() -> None:
    calls: list[str] = []

    def refund(order_id: str) -> dict[str, str]:
        calls.append(order_id)
        time.sleep(0.15)
        return {"refunded": order_id}

    retrying = RetryPolicy(max_attempts=3, base_delay_s=0.0)
    tool = make_tool(
        refund,
        risk=RiskClass.WRITE,
        idempotent=True,
        envelope=Envelope(timeout_s=0.05, retry=retrying, inline=True),
    )
    outcome = _executor().execute(tool, {"order_id": "#1"}, CallContext(idempotency_key="k2"))
    assert outcome.ok and outcome.output == {"refunded": "#1"}
    assert calls == ["#1"]
    assert [a.get("overran") for a in outcome.attempts] == [True]
    # the same write on a worker thread is abandoned at its timeout and, idempotent, retried
    pooled = tool.with_envelope(replace(tool.spec.envelope, inline=False))
    calls.clear()
    again = _executor().execute(pooled, {"order_id": "#2"}, CallContext(idempotency_key="k3"))
    assert again.code is ErrorCode.TOOL_TIMEOUT and len(calls) == 3
    assert not any("overran" in a for a in again.attempts)


def test_an_inline_call_in_time_is_not_marked() -> None:
    def quick(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    tool = make_tool(quick, timeout_s=5.0)
    tool = tool.with_envelope(replace(tool.spec.envelope, inline=True))
    outcome = _executor().execute(tool, {"order_id": "#1"})
    assert outcome.ok and not any("overran" in a for a in outcome.attempts)


@pytest.mark.parametrize("inline", [True, False])
def test_what_an_inline_tool_raises_is_classified_as_on_a_worker(inline: bool) -> None:
    def broken(order_id: str) -> dict[str, str]:
        raise ValueError("no such order")

    def leaving(order_id: str) -> dict[str, str]:
        sys.exit(3)  # a tool must not end the process; inline, it must not end the run either

    never = RetryPolicy.never()
    for fn in (broken, leaving):
        tool = make_tool(fn, envelope=Envelope(timeout_s=5.0, retry=never, inline=inline))
        outcome = _executor().execute(tool, {"order_id": "#1"})
        assert outcome.code is ErrorCode.TOOL_ERROR, fn.__name__
        assert fn.__name__ in outcome.message


def test_a_coroutine_function_cannot_be_inline() -> None:
    async def lookup(order_id: str) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"order_id": order_id}

    with pytest.raises(TetherError) as made:
        make_tool(lookup, envelope=Envelope(inline=True))
    assert made.value.code is ErrorCode.CONFIG_INVALID and "inline" in made.value.message
    tool = make_tool(lookup, envelope=Envelope())
    with pytest.raises(TetherError) as changed:
        tool.with_envelope(Envelope(inline=True))
    assert changed.value.code is ErrorCode.CONFIG_INVALID


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_inline_must_be_a_boolean(bad: object) -> None:
    with pytest.raises(TetherError) as raised:
        Envelope(inline=bad)  # type: ignore[arg-type]
    assert raised.value.code is ErrorCode.CONFIG_INVALID


def test_a_stored_envelope_names_inline_only_when_it_is_set() -> None:
    assert "inline" not in Envelope().to_dict()  # configs stored before it read the same
    assert Envelope(inline=True).to_dict()["inline"] is True


def test_the_retail_reads_run_inline_and_its_writes_on_workers() -> None:
    from tether.domains.retail.db import RetailDB
    from tether.domains.retail.tools import build_tools

    tools = build_tools(RetailDB.fresh_copy())
    reads = [t for t in tools if t.spec.risk is RiskClass.READ]
    writes = [t for t in tools if t.spec.risk is not RiskClass.READ]
    assert reads and writes
    assert all(t.spec.envelope.inline for t in reads)
    assert not any(t.spec.envelope.inline for t in writes)

"""Whatever a tool raises, SystemExit and other BaseExceptions included, "becomes a stable code"
for that call. asyncio re-raises SystemExit out of the event loop with the finished task's
callbacks still queued; were that left on the worker's loop, the next coroutine call would be
answered with the previous call's SystemExit and its own coroutine would run later, during some
other call: a write recorded TOOL_ERROR (final) whose effect happens anyway."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from tether.core.errors import ErrorCode
from tether.core.types import RiskClass
from tether.tools import Envelope, RetryPolicy, Tool, make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext
from tether.tools.shared_state import InProcessState
from tether.tools.workers import WorkerPool, settle


def test_a_call_after_a_coroutine_raised_system_exit_gets_its_own_outcome() -> None:
    effects: list[str] = []

    async def credit(account: str) -> dict[str, str]:
        """Credit an account (a write)."""
        if account == "broken":
            raise SystemExit(3)  # a library calling sys.exit inside the tool
        await asyncio.sleep(0)
        effects.append(account)
        return {"credited": account}

    tool = make_tool(
        credit,
        risk=RiskClass.WRITE,
        envelope=Envelope(timeout_s=2.0, retry=RetryPolicy.never()),
    )
    # a pool of its own, so no other test shares the worker this one poisons
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    context = CallContext(run_id="r", principal_id="p", idempotency_key="k")

    broken = executor.execute(tool, {"account": "broken"}, context)
    assert broken.code is not None and broken.code.value == "TOOL_ERROR"

    alice = executor.execute(tool, {"account": "alice"}, context)
    reported = (alice.ok, alice.code.value if alice.code else None, alice.message)
    executor.execute(tool, {"account": "bob"}, context)
    assert alice.ok and alice.output == {"credited": "alice"}, (
        f"alice's credit was answered {reported} (the previous call's SystemExit), "
        f"and its effect happened during a later call: effects {effects}"
    )


def _credit_tool(effects: list[str], timeout_s: float = 2.0) -> Tool:
    async def credit(account: str) -> dict[str, str]:
        """Credit an account (a write)."""
        if account == "interrupt":
            raise KeyboardInterrupt  # the tool's own, on a worker: not the caller's ^C
        if account == "spawn-exit":
            asyncio.get_running_loop().call_soon(_exit)  # raised by the loop, not the tool
            await asyncio.sleep(0.01)
            effects.append(account)  # were the loop kept, this would run during a later call
            return {"credited": account, "loop": ""}
        if account == "fails":
            raise ValueError("upstream said no")
        if account == "slow":
            await asyncio.sleep(10)
        await asyncio.sleep(0.05)  # long enough for a leftover task to wake during this call
        effects.append(account)
        return {"credited": account, "loop": str(id(asyncio.get_running_loop()))}

    return make_tool(
        credit,
        risk=RiskClass.WRITE,
        envelope=Envelope(timeout_s=timeout_s, retry=RetryPolicy.never()),
    )


def _exit() -> None:
    raise SystemExit(4)


@pytest.mark.parametrize("first", ["interrupt", "spawn-exit"])
def test_whatever_escapes_a_coroutine_ends_that_call_alone(first: str) -> None:
    effects: list[str] = []
    tool = _credit_tool(effects)
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    context = CallContext(run_id="r", principal_id="p", idempotency_key="k")
    broken = executor.execute(tool, {"account": first}, context)
    assert not broken.ok and broken.code is ErrorCode.TOOL_ERROR
    alice = executor.execute(tool, {"account": "alice"}, context)
    assert alice.ok and alice.output["credited"] == "alice"
    assert effects == ["alice"]  # nothing of the broken call ran later


def test_an_error_or_a_timeout_keeps_the_workers_event_loop() -> None:
    """Ordinary failures end cleanly: the worker's loop (and what a tool keeps on it, such
    as a client session) is kept."""
    effects: list[str] = []
    tool = _credit_tool(effects, timeout_s=0.2)
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    context = CallContext(run_id="r", principal_id="p", idempotency_key="k")
    first = executor.execute(tool, {"account": "a"}, context)
    assert executor.execute(tool, {"account": "fails"}, context).code is ErrorCode.TOOL_ERROR
    assert executor.execute(tool, {"account": "slow"}, context).code is ErrorCode.TOOL_TIMEOUT
    last = executor.execute(tool, {"account": "b"}, context)
    assert first.output["loop"] == last.output["loop"]
    assert effects == ["a", "b"]


def test_system_exit_from_a_coroutine_is_raised_to_the_settling_caller() -> None:
    async def leave() -> None:
        raise SystemExit(5)

    async def fine() -> int:
        return 7

    def on_a_worker_thread() -> int:
        # as the pool calls it: a thread of its own, whose loop no earlier test has touched
        with pytest.raises(SystemExit):
            settle(leave(), 1.0)
        return int(settle(fine(), 1.0))

    with ThreadPoolExecutor(max_workers=1) as thread:
        assert thread.submit(on_a_worker_thread).result(timeout=10) == 7

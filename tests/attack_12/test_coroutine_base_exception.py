"""Whatever a tool raises, SystemExit and other BaseExceptions included, "becomes a stable code"
for that call. A coroutine tool that raises one leaves the worker thread's event loop with the
finished task's callbacks still queued: the next coroutine call on that worker is stopped before
its own coroutine runs and is answered with the previous call's SystemExit, and its coroutine
runs later, during some other call. For a write, the runtime records TOOL_ERROR (final, never
run again) for a call whose effect then happens anyway."""

from __future__ import annotations

import asyncio

from tether.core.types import RiskClass
from tether.tools import Envelope, RetryPolicy, make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext
from tether.tools.shared_state import InProcessState
from tether.tools.workers import WorkerPool


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

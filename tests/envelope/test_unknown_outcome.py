"""The envelope never retries a write blindly: after a timeout or a dropped connection the
effect may have happened, so a second attempt is made only when the tool is idempotent AND
gets the idempotency key. The outcome says the effect is uncertain, for the runtime to reconcile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tether.core.envelope import Envelope, RetryPolicy
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, DirectExecutor
from tether.tools.registry import Tool
from tether.tools.shared_state import InProcessState

RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.0)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def write_tool(fn: Any, risk: RiskClass = RiskClass.WRITE) -> Tool:
    def save(order_id: str) -> dict[str, str]:
        """Save an order."""
        return fn(order_id)  # type: ignore[no-any-return]

    envelope = Envelope(timeout_s=0.05, retry=RETRY)
    idempotent = risk is not RiskClass.READ
    return make_tool(save, risk=risk, envelope=envelope, idempotent=idempotent)


def executor() -> EnvelopeExecutor:
    return EnvelopeExecutor(InProcessState(), sleep=lambda _: None)


KEYED = CallContext("run_1", 1, "alice", idempotency_key="idem_1")
UNKEYED = CallContext("run_1", 1, "alice")


def test_an_idempotent_write_without_its_key_is_not_retried_after_a_timeout(
    release: threading.Event,
) -> None:
    calls: list[str] = []

    def hang(order_id: str) -> dict[str, str]:
        calls.append(order_id)
        release.wait()
        return {"order_id": order_id}

    outcome = executor().execute(write_tool(hang), {"order_id": "#1"}, UNKEYED)
    assert outcome.code is ErrorCode.TOOL_TIMEOUT and outcome.uncertain
    assert len(outcome.attempts) == 1 and calls == ["#1"]


def test_an_idempotent_write_with_its_key_is_retried_and_stays_uncertain() -> None:
    answers: list[BaseException | None] = [TimeoutError("read timed out"), None]
    calls: list[str] = []

    def flaky(order_id: str) -> dict[str, str]:
        calls.append(order_id)
        error = answers.pop(0) if answers else None
        if error is not None:
            raise error
        raise ConnectionRefusedError("nothing listens")  # known: nothing was sent

    outcome = executor().execute(write_tool(flaky), {"order_id": "#1"}, KEYED)
    codes = [a["code"] for a in outcome.attempts]
    assert codes == ["TOOL_TIMEOUT", "TOOL_UNAVAILABLE", "TOOL_UNAVAILABLE"]
    # a later attempt that surely did nothing does not undo the doubt the first one left
    assert outcome.code is ErrorCode.TOOL_UNAVAILABLE and outcome.uncertain


@pytest.mark.parametrize(
    ("error", "code", "uncertain"),
    [
        (ConnectionResetError("dropped"), ErrorCode.TOOL_UNAVAILABLE, True),
        (TimeoutError("read timed out"), ErrorCode.TOOL_TIMEOUT, True),
        (ConnectionRefusedError("refused"), ErrorCode.TOOL_UNAVAILABLE, False),
        (RuntimeError("bug"), ErrorCode.TOOL_ERROR, False),
    ],
)
def test_what_a_tool_raised_says_whether_its_effect_is_uncertain(
    error: BaseException, code: ErrorCode, uncertain: bool
) -> None:
    def fail(order_id: str) -> dict[str, str]:
        raise error

    for run in (executor().execute, DirectExecutor().execute):
        outcome = run(write_tool(fail), {"order_id": "#1"}, UNKEYED)
        assert outcome.code is code and outcome.uncertain is uncertain


def test_a_read_that_times_out_is_retried_as_before(release: threading.Event) -> None:
    calls: list[str] = []

    def hang(order_id: str) -> dict[str, str]:
        calls.append(order_id)
        release.wait()
        return {}

    outcome = executor().execute(write_tool(hang, RiskClass.READ), {"order_id": "#1"}, UNKEYED)
    assert outcome.code is ErrorCode.TOOL_TIMEOUT and len(outcome.attempts) == 3
    assert outcome.observation()["error"]["retryable"] is True


def test_reconcile_must_be_callable() -> None:
    def save(order_id: str) -> None:
        """Save."""

    with pytest.raises(TetherError) as caught:
        make_tool(save, risk=RiskClass.WRITE, reconcile="yes")  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    with pytest.raises(TetherError) as caught:
        make_tool(save, reconcile=lambda a, k: None)  # a read has no effect to reconcile
    assert caught.value.code is ErrorCode.CONFIG_INVALID

"""`ToolError`: the public way for a domain tool to fail with a stable code. The envelope
classifies it by its code, honours its `retryable` say (counted in real attempts), and shows
the model a structured error."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from tether.core.envelope import Envelope, RetryPolicy
from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind
from tether.store import RunStore
from tether.tools import DirectExecutor, EnvelopeExecutor, Tool, ToolError, make_tool
from tether.tools.execute import ToolOutcome
from tether.tools.shared_state import InProcessState

from .conftest import run_script, shown, tool_steps

RETRY_3 = Envelope(
    retry=RetryPolicy(max_attempts=3, retry_on=frozenset({ErrorCode.UPSTREAM_ERROR}))
)


class Raises:
    """A tool body that raises the given errors in order, then answers; counts its calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, order_id: str) -> dict[str, str]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"order_id": order_id, "status": "pending"}


def lookup(body: Raises, envelope: Envelope | None = None) -> Tool:
    def get_order(order_id: str) -> dict[str, str]:
        """Read an order."""
        return body(order_id)

    return make_tool(get_order, envelope=envelope)


def execute(tool: Tool) -> ToolOutcome:
    return EnvelopeExecutor(InProcessState(), sleep=lambda _: None).execute(
        tool, {"order_id": "#W1"}
    )


# -- the error itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["NOT_FOUND", "PRECONDITION_FAILED", "CONFLICT", "UPSTREAM_ERROR", ErrorCode.CONFLICT]
)
def test_a_code_is_an_error_code_or_its_value(code: Any) -> None:
    error = ToolError(code, "no such order")
    assert error.code is ErrorCode(code) and error.message == "no such order"
    assert error.retryable is None
    assert str(error) == f"{ErrorCode(code).value}: no such order"


@pytest.mark.parametrize("code", ["NOPE", "not_found", "", None, 404])
def test_an_unknown_code_fails_at_construction(code: Any) -> None:
    with pytest.raises(ValueError, match="is not an ErrorCode") as info:
        ToolError(code, "x")
    assert repr(code) in str(info.value) and "NOT_FOUND" in str(info.value)


def test_retryable_must_be_a_bool_or_none() -> None:
    with pytest.raises(ValueError, match="retryable"):
        ToolError("CONFLICT", "x", retryable="yes")  # type: ignore[arg-type]


def test_it_survives_pickling_with_everything_it_carries() -> None:
    error = pickle.loads(pickle.dumps(ToolError("CONFLICT", "changed", retryable=True)))
    assert (error.code, error.message, error.retryable) == (ErrorCode.CONFLICT, "changed", True)


# -- what the envelope does with it --------------------------------------------------------------


def test_not_found_reaches_the_model_as_not_found_and_not_retryable() -> None:
    body = Raises(ToolError("NOT_FOUND", "no order #W1"))
    outcome = execute(lookup(body, RETRY_3))
    assert outcome.code is ErrorCode.NOT_FOUND and body.calls == 1
    assert outcome.observation() == {
        "ok": False,
        "error": {"code": "NOT_FOUND", "message": "no order #W1", "retryable": False},
    }


def test_a_retryable_code_is_retried_until_it_succeeds() -> None:
    body = Raises(ToolError("UPSTREAM_ERROR", "502"), ToolError("UPSTREAM_ERROR", "502"))
    outcome = execute(lookup(body, RETRY_3))
    assert outcome.ok and body.calls == 3
    assert [a["code"] for a in outcome.attempts] == ["UPSTREAM_ERROR", "UPSTREAM_ERROR", None]


def test_retryable_true_on_a_code_the_envelope_retries_is_retried() -> None:
    body = Raises(*[ToolError("UPSTREAM_ERROR", "502", retryable=True)] * 5)
    outcome = execute(lookup(body, RETRY_3))
    assert outcome.code is ErrorCode.UPSTREAM_ERROR and body.calls == 3
    error = outcome.observation()["error"]
    assert error["retryable"] is True and "3 attempt(s) failed" in error["hint"]


def test_retryable_false_stops_the_envelope_retrying() -> None:
    body = Raises(*[ToolError("UPSTREAM_ERROR", "card declined", retryable=False)] * 5)
    outcome = execute(lookup(body, RETRY_3))
    assert outcome.code is ErrorCode.UPSTREAM_ERROR and body.calls == 1
    assert len(outcome.attempts) == 1
    error = outcome.observation()["error"]
    assert error == {"code": "UPSTREAM_ERROR", "message": "card declined", "retryable": False}


def test_retryable_true_tells_the_model_but_adds_no_retries_the_policy_does_not_list() -> None:
    body = Raises(ToolError("CONFLICT", "the order changed; read it again", retryable=True))
    outcome = execute(lookup(body, RETRY_3))
    assert outcome.code is ErrorCode.CONFLICT and body.calls == 1
    assert outcome.observation()["error"]["retryable"] is True


def test_the_direct_executor_classifies_it_the_same_way() -> None:
    body = Raises(ToolError("PRECONDITION_FAILED", "the order is not pending", retryable=False))
    outcome = DirectExecutor().execute(lookup(body), {"order_id": "#W1"})
    assert outcome.code is ErrorCode.PRECONDITION_FAILED
    assert outcome.observation()["error"]["retryable"] is False


def test_a_recorded_outcome_replays_the_tools_say_on_retrying() -> None:
    outcome = execute(lookup(Raises(ToolError("CONFLICT", "changed", retryable=True))))
    again = ToolOutcome.from_record(outcome.to_record())
    assert again.observation() == outcome.observation()
    assert again.observation()["error"]["retryable"] is True
    assert ToolOutcome.from_record({"ok": False, "code": "CONFLICT"}).retryable is None


def test_in_a_run_the_model_is_shown_the_code_and_can_answer(store: RunStore) -> None:
    tool = lookup(Raises(ToolError("NOT_FOUND", "no order #W1")), RETRY_3)
    turns = [{"tool": "get_order", "args": {"order_id": "#W1"}}, {"answer": "No such order."}]
    run = run_script(store, [tool], turns)
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    (step,) = tool_steps(run)
    seen = shown(step)
    assert seen["ok"] is False
    assert seen["error"] == {"code": "NOT_FOUND", "message": "no order #W1", "retryable": False}

"""The Decisions a run ends in when it cannot go on: a blocking verdict, a model call that
failed, a limit reached. Pure functions of what happened, so the loop only routes."""

from __future__ import annotations

from tether.core.errors import ErrorCode, Handler
from tether.core.guard import GuardResult
from tether.core.types import Decision, DecisionKind, Effect, Reason, Run
from tether.runtime.state import RunState, suspended_seconds, unfinished_calls, work_started

REVIEW_TEXT = "This needs a person's review; I've passed it to a colleague."
OVERTIME_TEXT = "This is taking longer than it should; I've passed it to a colleague."


def blocked(result: GuardResult) -> Decision | None:
    """Act on a tool call's blocking verdict: back to the model (None), refuse, or escalate."""
    verdict = result.final
    reason = verdict.reasons[0]
    if verdict.effect is Effect.ESCALATE or reason.code.handler is Handler.HUMAN:
        return Decision(DecisionKind.ESCALATION, REVIEW_TEXT, reason=reason)
    if reason.code.handler is Handler.MODEL:
        return None  # the model sees the structured error and may correct itself
    return Decision(DecisionKind.REFUSAL, "I can't help with that request.", reason=reason)


def answer_blocked(result: GuardResult) -> Decision:
    """An answer the checks did not allow: escalated (failing claims set to escalate, a check
    that failed to judge), else refused."""
    reason = result.final.reasons[0]
    if result.final.effect is Effect.ESCALATE or reason.code.handler is Handler.HUMAN:
        return Decision(DecisionKind.ESCALATION, REVIEW_TEXT, reason=reason)
    text = "I can't give a reliable answer to that, so I won't guess."
    return Decision(DecisionKind.REFUSAL, text, reason=reason)


def model_failed(code: ErrorCode, message: str) -> Decision:
    """A model call that failed; a proposal whose arguments cannot be recorded is refused."""
    if code is ErrorCode.INVALID_ARGUMENTS:
        text = "I can't act on that request as it was put to me."
        return Decision(DecisionKind.REFUSAL, text, reason=Reason(code, message))
    return Decision(
        DecisionKind.ESCALATION,
        "I'm handing this conversation to a colleague who can help further.",
        reason=Reason(code, message),
    )


def limit_reached(state: RunState, elapsed: float) -> Decision | None:
    """An escalation once the run used up its steps or its time (`elapsed` seconds)."""
    limits = state.agent.limits
    if state.seq >= limits.max_steps:
        message = (
            f"the run reached its limit of {limits.max_steps} steps after {state.turns} model "
            f"turns and {state.tool_results} tool results; raise Agent.limits.max_steps if "
            "the task needs more (a tool call costs three steps: model turn, guard, tool)"
        )
        reason = Reason(ErrorCode.STEP_LIMIT, message)
    elif elapsed > limits.max_seconds:
        reason = Reason(ErrorCode.TIME_LIMIT, f"the run exceeded {limits.max_seconds} s")
    else:
        return None
    return Decision(DecisionKind.ESCALATION, OVERTIME_TEXT, reason=reason)


def overran(stored: Run, max_seconds: float, now: float) -> Decision | None:
    """The escalation of a run found over its time limit when a worker takes it over from one
    that stopped renewing its lease (it stalled in a step it could not leave, or died late):
    it ends there, the open turn left as it is, since finishing it may stall again. Time spent
    waiting on the queue or for people's decisions does not count; `now` is on the clock the
    run records."""
    began = work_started(stored.steps)
    if began is None:  # no worker began it: it has not been at work
        return None
    used = now - began - suspended_seconds(stored.steps, until=now)
    if used <= max_seconds:
        return None
    message = (
        f"the run exceeded {max_seconds} s: it had been at work {used:.0f} s when another "
        "worker took it over from one that had stopped renewing its lease"
    )
    unfinished = unfinished_calls(stored.steps)
    if unfinished:
        message += f"; calls left without a recorded outcome: {', '.join(unfinished)}"
    return Decision(
        DecisionKind.ESCALATION, OVERTIME_TEXT, reason=Reason(ErrorCode.TIME_LIMIT, message)
    )

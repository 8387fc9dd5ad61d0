"""Steps 4 and 5 of the run loop for an answer: check it, send it back once, decide.

A proposed answer (or a question to the user) passes the answer checks; a failing one may go
back to the model once to be revised, else it is blocked; one that passes ends the run in an
answer, an action or a clarification. Kept apart from the tool-call path
(`tether.runtime.calls`): an answer has checks of its own and ends the run its own ways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.core.guard import run_answer_checks
from tether.core.reads import kept_reads, reading
from tether.core.types import Decision, DecisionKind, Message, StepKind
from tether.runtime.endings import answer_blocked
from tether.runtime.recording import StepRecorderMixin

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager

    from tether.core.guard import AnswerCheck, GuardContext, GuardResult
    from tether.core.types import ModelTurn
    from tether.runtime.state import RunState


class AnswerMixin(StepRecorderMixin):
    """Answer handling, for `Runtime` (which provides what is declared)."""

    if TYPE_CHECKING:
        answer_checks: Sequence[AnswerCheck]
        shared_reads: Callable[[], AbstractContextManager[object]]
        assertive: Callable[[str], Sequence[str]]

        def _context(self, state: RunState, now: float | None = None) -> GuardContext: ...

    def _answer(
        self,
        state: RunState,
        turn: ModelTurn,
        recorded: GuardResult | None = None,
        asks: bool = False,
    ) -> Decision | None:
        result = recorded
        if result is None:
            started = self.clock.now()
            with self.shared_reads(), reading() as book:
                result = run_answer_checks(self.answer_checks, self._context(state, started), turn)
            data = {**result.to_dict(), **kept_reads(book)}
            note = result.final.facts.get("revise") if not result.allowed else None
            revise = isinstance(note, str) and state.revisions == 0  # at most once per run
            if revise:
                data["revised"] = True
                data["messages"] = [
                    Message("assistant", turn.text).to_dict(),
                    Message("system", str(note)).to_dict(),
                ]
            self._record(state, StepKind.GUARD, "answer", data, started, defer=True)
            if revise:
                return None  # the model sees its failing claims and proposes again
        if not result.allowed:
            return answer_blocked(result)
        if asks or not self.assertive(turn.text):  # a greeting or a question asserts nothing
            return Decision(DecisionKind.CLARIFICATION, turn.text, turn.citations)
        kind = DecisionKind.ACTION if state.writes else DecisionKind.ANSWER
        return Decision(kind, turn.text, turn.citations, tuple(state.writes))

"""An agent's tools must be a tuple of names the pack registers; a declaration that is not
is refused when the desk is built (DOMAIN_INVALID), not accepted into a half-working desk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether import Agent, Principal, tool
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Message
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import Domain, DomainParts, build_desk
from tether.store.runs import RunStore


class Members:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant="library", roles=("member",))


def _setup(ctx: object) -> DomainParts:
    @tool
    def find_book(book_id: str) -> dict:
        """Look a book up."""
        return {"book_id": book_id, "title": "Dune"}

    return DomainParts(tools=[find_book], principals=Members(), rights={"member": ()})


def _library(tools: object) -> Domain:
    agent = Agent("desk", "You help.", tools, require_grounding=False)  # type: ignore[arg-type]
    return Domain(name="library", version="1.0", setup=_setup, agents=(agent,))


def test_tools_given_as_one_string_are_refused_not_a_run_that_raises(tmp_path: Path) -> None:
    # ("find_book") without the comma: a str, whose characters would be the agent's tools
    store = RunStore.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        desk = build_desk(_library("find_book"), store)
    except TetherError as exc:
        assert exc.code is ErrorCode.DOMAIN_INVALID, exc
        assert "library" in exc.message and "agent desk: tools" in exc.message, exc
        return
    script = parse_script([{"tool": "find_book", "args": {"book_id": "b1"}}, {"answer": "Dune."}])
    # the desk was built: then a run on it must at least end in a Decision, not raise
    run = desk.runtime.run(RunRequest("m1", [Message("user", "b1?")]), ScriptedModel(script))
    pytest.fail(f"the desk was built and the run ended {run.decision.kind}; expected refusal")


def test_agent_granting_a_tool_the_pack_does_not_register_is_refused(tmp_path: Path) -> None:
    store = RunStore.open(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(TetherError) as caught:
        build_desk(_library(("find_book", "renew_loan")), store)
    assert caught.value.code is ErrorCode.DOMAIN_INVALID
    assert "renew_loan" in caught.value.message

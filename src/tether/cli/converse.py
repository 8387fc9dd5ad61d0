"""`tether converse` (a scripted conversation) and `tether chat` (an interactive one).

Both hold a conversation the way the server does: a run per user turn, the pending action
bound to its nonce, `/yes` and `/no` (or `confirm: true` / `decline: true`) as the structured
buttons, and plain replies read by the runtime's classifier.

A converse script is a list of turns, each one of
  {"user": TEXT}        the user's message
  {"confirm": true}     the confirm button on the previous turn's pending action
  {"decline": true}     the decline button
each with the scripted model turns that answer it (`model: [...]`, the format of
`tether.models.scripted`); a turn without `model` uses `--model` or `TETHER_MODEL`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.markup import escape
from rich.text import Text

from tether.cli.common import (
    DomainOption,
    err,
    exit_code,
    open_desk,
    open_domain,
    out,
    print_json,
    user_errors,
)
from tether.cli.keys import cli_actor
from tether.conversations import Conversation, Conversations, ConversationStore, TurnOutcome
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, RunStatus
from tether.models.base import ModelAdapter
from tether.models.factory import model_from_env
from tether.models.scripted import ScriptedModel, ScriptTurn, read_data_file
from tether.sdk.domain import Domain
from tether.sdk.releases import ReleaseDesks
from tether.sdk.scenarios import script_data

ASSERTED_BY = "cli"  # the operator at this terminal vouches for `--as`
COMMAND = re.compile(r"/[a-z]+")
CHAT_HELP = "/yes confirm, /no decline, /new a new conversation, /quit (or end of input) to stop"

PrincipalOption = Annotated[
    str, typer.Option("--as", help="The principal id the conversation acts for.")
]
AgentOption = Annotated[str | None, typer.Option(help="The agent (default: the domain's first).")]
ModelOption = Annotated[
    str | None, typer.Option(help="Model spec, e.g. openai:gpt-4o-mini (default TETHER_MODEL).")
]


class ConverseTurn(BaseModel):
    """One turn of a converse script: a message or a button, and the model turns answering it."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    confirm: bool = False
    decline: bool = False
    model: list[ScriptTurn] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> ConverseTurn:
        if sum([self.user is not None, self.confirm, self.decline]) != 1:
            raise ValueError("a turn is exactly one of user:, confirm: true or decline: true")
        return self


def parse_conversation(data: Any, origin: str) -> list[ConverseTurn]:
    """Validate a converse script; errors name the file, the turn and the field."""
    if isinstance(data, Mapping) and "turns" in data:
        data = data["turns"]
    if not isinstance(data, Sequence) or isinstance(data, str | bytes) or not data:
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{origin}: a conversation is a non-empty list of turns"
        )
    turns = []
    for number, item in enumerate(data, start=1):
        try:
            turns.append(ConverseTurn.model_validate(item))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            place = f"turn {number}: {where}: " if where else f"turn {number}: "
            problem = str(first["msg"]).removeprefix("Value error, ")
            raise TetherError(ErrorCode.SCENARIO_INVALID, f"{origin}: {place}{problem}") from None
    return turns


def load_conversation(path: Path) -> list[ConverseTurn]:
    """Read a converse script from a YAML or JSON file."""
    return parse_conversation(read_data_file(path), str(path))


def _conversations(pack: Domain) -> Conversations:
    desk = open_desk(pack)
    desk.enable_approvals()  # an escalated call waits for `tether approvals approve ID`
    # pinned to a running rollout's arm, else the configuration in force
    pins = ReleaseDesks(desk)
    return Conversations(desk.runtime, ConversationStore(desk.store.engine), pins=pins)


def _start(
    conversations: Conversations, principal: str, agent: str | None, announce: bool = True
) -> Conversation:
    conversation = conversations.start(
        principal, agent, principal_source="operator", asserted_by=ASSERTED_BY
    )
    if not announce:
        return conversation
    record = conversation.record()
    out.print(
        f"[bold]{record.id}[/]  principal={escape(record.principal_id)}  "
        f"agent={escape(record.agent)}"
    )
    return conversation


def _print_user(text: str) -> None:
    out.print(Text.assemble(("you> ", "bold cyan"), text))


def _print_outcome(outcome: TurnOutcome, buttons: bool = False) -> None:
    """The agent's side of a turn: the decision, its reason, and the pending action."""
    run, decision = outcome.run, outcome.run.decision
    if run.status is RunStatus.SUSPENDED:
        out.print(f"  waiting for a person: tether approvals list --run {run.id}", markup=False)
        return
    if decision is None:
        out.print(f"  run {run.id} ended {run.status.value} without a decision", markup=False)
        return
    code = f" {decision.reason.code.value}" if decision.reason else ""
    line = Text.assemble(("agent", "bold green"), (f" [{decision.kind.value}{code}]", "dim"))
    if decision.text:
        line.append(f" {decision.text}")
    out.print(line)
    if decision.citations:
        out.print("  citations: " + ", ".join(decision.citations), markup=False)
    pending = outcome.pending_action
    if pending is not None:
        args = json.dumps(dict(pending.arguments), ensure_ascii=False)
        out.print(f"  pending: {pending.tool} {args}", markup=False)
        if pending.summary != decision.text:
            out.print(f"  {pending.summary}", markup=False)
        if buttons:
            out.print("  /yes to confirm, /no to decline", markup=False, style="dim")
    elif decision.kind is DecisionKind.CONFIRMATION:
        out.print("  (the pending action is no longer confirmable)", markup=False)


def _requested(script: list[ScriptTurn] | None = None) -> dict[str, Any]:
    """A CLI turn's run metadata: the person at the terminal as the operator who asked for it
    (so `tether approvals approve` by the same person is APPROVER_IS_REQUESTER), and the
    script, so that an approval can continue the run."""
    meta: dict[str, Any] = {"operator": cli_actor()}
    if script:
        meta["script"] = script_data(script)
    return meta


def _play_turn(
    conversation: Conversation,
    turn: ConverseTurn,
    model: ModelAdapter,
    last: TurnOutcome | None,
) -> TurnOutcome:
    meta = _requested(turn.model)
    if turn.user is not None:
        return conversation.send(turn.user, model, meta)
    nonce = last.pending_action.nonce if last and last.pending_action else ""
    if turn.confirm:
        return conversation.confirm(nonce, model, meta)
    return conversation.decline(nonce, model, meta)


def _said(turn: ConverseTurn) -> str:
    return turn.user if turn.user is not None else ("[confirm]" if turn.confirm else "[decline]")


def converse(
    principal: PrincipalOption,
    script: Annotated[
        Path, typer.Option(help="The conversation: user turns and buttons (YAML/JSON).")
    ],
    agent: AgentOption = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the turns as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Hold a scripted conversation, one run per turn, and print every turn's outcome."""
    outcomes: list[TurnOutcome] = []
    failure: TetherError | None = None
    with user_errors(as_json):
        pack = open_domain(domain)  # a mistyped --domain is reported before anything else
        turns = load_conversation(script)
        fallback = model_from_env(model) if any(t.model is None for t in turns) else None
        conversations = _conversations(pack)
        conversation = _start(conversations, principal, agent, announce=not as_json)
        for turn in turns:
            adapter = ScriptedModel(turn.model) if turn.model else fallback
            assert adapter is not None  # a turn without a script has the configured model
            if not as_json:
                _print_user(_said(turn))
            try:
                outcomes.append(
                    _play_turn(conversation, turn, adapter, outcomes[-1] if outcomes else None)
                )
            except TetherError as exc:  # the server rejects the turn; what ran so far stands
                failure = exc
                break
            if not as_json:
                _print_outcome(outcomes[-1])
    if as_json:
        body: dict[str, Any] = {
            "conversation_id": conversation.id,
            "turns": [o.to_dict() for o in outcomes],
        }
        if failure is not None:
            body["error"] = failure.to_dict()
        print_json(body)
    elif failure is not None:
        err.print(f"[bold red]error[/] {failure.code.value}: {escape(failure.message)}")
    if failure is not None:
        raise typer.Exit(exit_code(failure.code))


def _typed_lines() -> Iterator[str]:
    """The user's lines: a prompt at a terminal, else stdin line by line (echoed)."""
    if sys.stdin.isatty():
        while True:
            try:
                yield out.input("[bold cyan]you>[/] ")
            except (EOFError, KeyboardInterrupt):
                out.print()
                return
    else:
        for line in sys.stdin:
            text = line.rstrip("\r\n")
            _print_user(text)
            yield text


@dataclass
class ChatSession:
    """The conversation `tether chat` holds, and the nonce `/yes` and `/no` answer."""

    conversations: Conversations
    principal: str
    agent: str | None
    model: ModelAdapter
    conversation: Conversation | None = None
    nonce: str = ""

    def new(self) -> None:
        self.conversation = _start(self.conversations, self.principal, self.agent)
        self.nonce = ""

    def handle(self, line: str) -> bool:
        """Act on one line; False when the user is done."""
        text = line.strip()
        if not text:
            return True
        if text == "/quit":
            return False
        try:
            if text == "/new":
                self.new()
                return True
            outcome = self._turn(text)
        except TetherError as exc:  # the turn is rejected; the chat goes on
            err.print(f"[bold red]error[/] {exc.code.value}: {escape(exc.message)}")
            return True
        if outcome is not None:
            self.nonce = outcome.pending_action.nonce if outcome.pending_action else ""
            _print_outcome(outcome, buttons=True)
        return True

    def _turn(self, text: str) -> TurnOutcome | None:
        if self.conversation is None:
            self.new()
        assert self.conversation is not None
        meta = _requested()
        if text == "/yes":
            return self.conversation.confirm(self.nonce, self.model, meta)
        if text == "/no":
            return self.conversation.decline(self.nonce, self.model, meta)
        if COMMAND.fullmatch(text):
            out.print(CHAT_HELP, markup=False, style="dim")
            return None
        return self.conversation.send(text, self.model, meta)


def chat(
    principal: PrincipalOption,
    agent: AgentOption = None,
    model: ModelOption = None,
    domain: DomainOption = None,
) -> None:
    """Talk to an agent: each line is a turn; /yes and /no answer a pending action."""
    with user_errors():
        pack = open_domain(domain)
        adapter = model_from_env(model)  # MODEL_NOT_CONFIGURED before anything starts
        session = ChatSession(_conversations(pack), principal, agent, adapter)
        session.new()
        out.print(CHAT_HELP, markup=False, style="dim")
        for line in _typed_lines():
            if not session.handle(line):
                break

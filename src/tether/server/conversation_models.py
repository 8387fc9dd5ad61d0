"""The bodies the conversations API takes and gives: a conversation started, a turn sent, a
turn as far as it got, and a conversation with or without its turns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tether.core.shapes import MAX_NESTING, nesting
from tether.core.types import DecisionKind, RunStatus
from tether.runtime.seams import Reply
from tether.server.inputs import StoredText


class ConversationCreate(BaseModel):
    """Start a conversation for `principal` (or the end-user token's `sub`) with `agent`."""

    model_config = ConfigDict(extra="forbid")
    principal: StoredText | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the customer; with an end-user token it may be left out, else must match",
    )
    agent: StoredText | None = Field(
        default=None, max_length=200, description="the default if null"
    )


class MessageIn(BaseModel):
    """One turn: the customer's `text`, or a press of the confirm or decline button on the
    pending action its nonce names."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Please cancel order #W4566809"}]},
    )
    text: StoredText | None = Field(default=None, description="the customer's message")
    confirm: StoredText | None = Field(default=None, max_length=200, description="a pending nonce")
    decline: StoredText | None = Field(default=None, max_length=200, description="a pending nonce")
    role: StoredText | None = Field(
        default=None, description="only `user`: the agent's side is held by the server"
    )
    script: list[dict[str, Any]] | None = Field(
        default=None,
        description="deterministic model turns for this turn (tests and demos), as on /v1/runs",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> MessageIn:
        given = [k for k in ("text", "confirm", "decline") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, confirm and decline")
        if self.script is not None and nesting(self.script, MAX_NESTING) > MAX_NESTING:
            raise ValueError(f"the script nests deeper than {MAX_NESTING} levels")
        return self

    def reply(self) -> tuple[Reply, str | None]:
        if self.confirm is not None:
            return Reply.CONFIRM, self.confirm
        if self.decline is not None:
            return Reply.DECLINE, self.decline
        return Reply.TEXT, None


class PendingActionOut(BaseModel):
    """An action waiting for the customer's confirmation, in the runtime's own words."""

    nonce: str
    tool: str
    arguments: dict[str, Any]
    summary: str
    expires_at: float


class TurnDecision(BaseModel):
    kind: DecisionKind
    text: str
    citations: list[str]
    reason: dict[str, Any] | None


class TurnOut(BaseModel):
    """A turn as far as it got: its run, its status and, once it ended, its Decision."""

    conversation_id: str
    turn: int
    run_id: str
    status: RunStatus
    decision: TurnDecision | None
    pending_action: PendingActionOut | None


class _Conversation(BaseModel):
    id: str
    principal: str
    agent: str
    domain: str
    principal_source: Literal["end_user_token", "operator"]
    asserted_by: str = Field(description="`end_user:<issuer>` or the operator that asserted it")
    status: Literal["open", "closed", "expired"]
    created_at: float
    updated_at: float
    expires_at: float
    turn_count: int = Field(description="how many turns it has had")
    release: str | None = Field(description="the release it started under (see Releases)")
    pending_action: PendingActionOut | None


class ConversationOut(_Conversation):
    """A conversation without its turns."""


class TurnDetail(BaseModel):
    turn: int
    kind: Literal["text", "confirm", "decline"]
    created_at: float
    release: str | None = Field(description="the release the turn's run executed under")
    release_changed: bool = Field(
        description="the turn ran under another release than the conversation started under"
    )
    run: dict[str, Any] = Field(description="the turn's run with every step")


class ConversationDetail(_Conversation):
    """A conversation with its turns, each with its run and steps."""

    turns: list[TurnDetail]


class ConversationPage(BaseModel):
    conversations: list[ConversationOut]
    limit: int
    offset: int

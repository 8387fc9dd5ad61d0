"""The bodies the runs API takes and gives: runs, their steps and decisions, feedback."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tether.core.errors import ErrorCode
from tether.core.shapes import MAX_NESTING, nesting
from tether.core.types import DecisionKind, RunStatus, StepKind
from tether.core.types import Message as ChatMessage
from tether.observe.feedback import MAX_GIVEN_BY, MAX_NOTE
from tether.server.inputs import StoredText

MAX_SCRIPT_DEPTH = MAX_NESTING


class ChatMessageIn(BaseModel):
    """One message the caller sends: clients author only user messages (any other role is
    INPUT_ROLE_FORBIDDEN); what the agent said is held by the server, in a conversation."""

    model_config = ConfigDict(extra="forbid")
    role: str = Field(description="`user`")
    content: str


class RunCreate(BaseModel):
    """Start a run for `principal`: give either `input` or `messages`, not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "principal": "raj_sanchez_2970",
                    "input": "What is the status of order #W4566809?",
                    "script": [
                        {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
                        {"answer": "Order #W4566809 is pending [tool:1]."},
                    ],
                }
            ]
        },
    )
    principal: StoredText = Field(min_length=1, description="who the run acts for")
    messages: list[ChatMessageIn] | None = Field(
        default=None, description="the user's message(s); the agent's side is not input"
    )
    input: str | None = Field(default=None, description="shorthand for one user message")
    agent: StoredText | None = Field(default=None, description="the agent; the default one if null")
    script: list[dict[str, Any]] | None = Field(
        default=None,
        description=(
            "deterministic model turns instead of the configured model; each turn is one of "
            '{"tool", "args"}, {"tool_calls"}, {"answer", "cite"}, {"refuse"}'
        ),
    )

    @model_validator(mode="after")
    def _input_or_messages(self) -> RunCreate:
        if (self.input is None) == (self.messages is None):
            raise ValueError("give exactly one of input and messages")
        if self.script is not None and nesting(self.script, MAX_SCRIPT_DEPTH) > MAX_SCRIPT_DEPTH:
            # deeper values could not even be recorded and returned; refuse them up front
            raise ValueError(f"the script nests deeper than {MAX_SCRIPT_DEPTH} levels")
        return self

    def chat(self) -> list[ChatMessage]:
        """The conversation as runtime messages."""
        if self.input is not None:
            return [ChatMessage("user", self.input)]
        return [ChatMessage(m.role, m.content) for m in self.messages or ()]


class ReasonOut(BaseModel):
    code: ErrorCode
    message: str


class DecisionOut(BaseModel):
    """How the run ended."""

    kind: DecisionKind
    text: str
    citations: list[str]
    results: list[dict[str, Any]]
    reason: ReasonOut | None


class StepOut(BaseModel):
    """One recorded step; verdicts, evidence, tool data and model output are in `data`."""

    seq: int
    kind: StepKind
    name: str
    started_at: float
    ended_at: float
    data: dict[str, Any]


class RunSummary(BaseModel):
    """A run without its steps."""

    id: str
    agent: str
    principal: str
    status: RunStatus
    created_at: float = Field(description="seconds since the Unix epoch")
    updated_at: float
    trace_id: str
    step_count: int
    input: dict[str, Any]
    decision: DecisionOut | None
    release: str | None = Field(
        default=None, description="the release it executed under (none before releases)"
    )


class FeedbackIn(BaseModel):
    """Feedback on a run from the customer or the operator who handled it."""

    model_config = ConfigDict(extra="forbid")
    resolved: bool = Field(strict=True, description="whether the request was resolved")
    csat: int | None = Field(default=None, ge=1, le=5, strict=True, description="1 to 5")
    note: StoredText | None = Field(default=None, max_length=MAX_NOTE)
    given_by: StoredText = Field(min_length=1, max_length=MAX_GIVEN_BY, description="who gave it")


class FeedbackOut(BaseModel):
    id: int
    run_id: str
    resolved: bool
    csat: int | None
    note: str | None
    given_by: str
    created_at: float


class RunDetail(RunSummary):
    """A run with every step, in order, and the feedback given on it."""

    steps: list[StepOut]
    feedback: list[FeedbackOut] = Field(default_factory=list)


class RunPage(BaseModel):
    """One page of runs, newest first."""

    runs: list[RunSummary]
    total: int = Field(description="runs matching the filter, over all pages")
    limit: int
    offset: int


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]

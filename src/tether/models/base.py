"""The model adapter seam: messages + tool specs in, one proposal (a ModelTurn) out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from tether.core.types import Agent, Message, ModelTurn, ToolSpec

# Evidence ids look like `kb:refunds#2` or `tool:7`; answers cite them in square brackets.
CITATION = re.compile(r"\[([a-z][a-z0-9_]*:[^\[\]\s]+)\]")


def extract_citations(text: str) -> tuple[str, ...]:
    """The evidence ids an answer cites, in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    for match in CITATION.finditer(text):
        seen.setdefault(match.group(1), None)
    return tuple(seen)


@dataclass(frozen=True)
class ModelRequest:
    """Everything a model turn may depend on. `turn` counts earlier model turns in the run."""

    agent: Agent
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]
    turn: int = 0


class ModelAdapter(Protocol):
    """Turns a request into a proposal. Failures raise TetherError with a MODEL_* code."""

    @property
    def name(self) -> str: ...

    def propose(self, request: ModelRequest) -> ModelTurn: ...

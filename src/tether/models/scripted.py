"""The scripted adapter: deterministic turns from a file, for tests, demos and replay.

A script is a list of turns, each one of:
  {"tool": NAME, "args": {...}}                      one tool call
  {"tool_calls": [{"tool": NAME, "args": {...}}, ...]}  several, in order
                                                     (either may carry "text": what the
                                                     model says beside its calls)
  {"answer": TEXT, "cite": [EVIDENCE_ID, ...]}       a final answer (cite is optional;
                                                     ids in [brackets] in TEXT count too)
  {"refuse": TEXT}                                   the model declines
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import MAX_NESTING, nesting
from tether.core.types import ModelTurn, ToolCall, TurnKind
from tether.models.base import ModelRequest, extract_citations


class _Call(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


class ScriptTurn(BaseModel):
    """One scripted model turn; exactly one of tool / tool_calls / answer / refuse."""

    model_config = ConfigDict(extra="forbid")
    tool: str | None = None
    args: dict[str, Any] | None = None
    tool_calls: list[_Call] | None = None
    answer: str | None = None
    cite: list[str] | None = None
    refuse: str | None = None
    text: str | None = None  # said beside tool calls, as real models often do

    @model_validator(mode="after")
    def _exactly_one(self) -> ScriptTurn:
        kinds = [k for k in ("tool", "tool_calls", "answer", "refuse") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("a turn needs exactly one of tool, tool_calls, answer, refuse")
        if self.args is not None and self.tool is None:
            raise ValueError("args belongs with tool")
        if self.cite is not None and self.answer is None:
            raise ValueError("cite belongs with answer")
        if self.text is not None and self.tool is None and self.tool_calls is None:
            raise ValueError("text belongs with tool or tool_calls (answer and refuse are text)")
        return self

    def to_model_turn(self, index: int, model: str) -> ModelTurn:
        raw = self.model_dump(exclude_none=True)
        if self.answer is not None:
            cites = tuple(dict.fromkeys([*(self.cite or ()), *extract_citations(self.answer)]))
            return ModelTurn(
                TurnKind.ANSWER, text=self.answer, citations=cites, model=model, raw=raw
            )
        if self.refuse is not None:
            return ModelTurn(TurnKind.REFUSAL, text=self.refuse, model=model, raw=raw)
        calls = [_Call(tool=self.tool, args=self.args or {})] if self.tool else self.tool_calls
        tool_calls = tuple(
            ToolCall(f"call_{index}_{i}", c.tool, c.args) for i, c in enumerate(calls or ())
        )
        return ModelTurn(
            TurnKind.TOOL_CALLS, text=self.text or "", tool_calls=tool_calls, model=model, raw=raw
        )


def parse_script(data: Any, origin: str = "script") -> list[ScriptTurn]:
    """Validate a list of turns; errors name the turn and the problem (SCENARIO_INVALID)."""
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{origin}: a script is a list of turns")
    turns = []
    for i, item in enumerate(data):
        try:
            turns.append(ScriptTurn.model_validate(item))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise TetherError(
                ErrorCode.SCENARIO_INVALID, f"{origin}: turn {i + 1}: {first['msg']}"
            ) from None
        if nesting(item, MAX_NESTING) > MAX_NESTING:
            continue  # the runtime refuses such a turn when the model proposes it
        try:  # a script is recorded with its run: it must be what canonical JSON carries
            json.dumps(item, allow_nan=False, ensure_ascii=False, default=str).encode("utf-8")
        except ValueError:
            raise TetherError(
                ErrorCode.SCENARIO_INVALID,
                f"{origin}: turn {i + 1} holds a number JSON cannot carry (NaN, Infinity, an "
                "overflowing float) or a lone surrogate character",
            ) from None
    return turns


def _is_anonymous_pipe(path: Path, mode: int) -> bool:
    """A pipe reached through a file descriptor, as `--script <(cmd)` names one (/dev/fd/N): it
    has a writer, the command, so reading it ends. A named pipe (mkfifo) may never have one."""
    if not stat.S_ISFIFO(mode):
        return False
    if str(path).startswith(("/dev/fd/", "/proc/self/fd/", "/dev/stdin")):
        return True
    # on Linux, /dev/fd/N resolves to "/proc/PID/fd/pipe:[INODE]", a path that does not exist
    return not os.path.exists(os.path.realpath(path))


def read_data_file(path: Path) -> Any:
    """The data of a YAML (or, by its suffix, JSON) file; SCENARIO_INVALID naming the file.

    Only a regular file or a pipe from a command (`<(cmd)`) is read: a named pipe with no
    writer, a device or a folder would leave the read waiting forever or never ending."""
    try:
        mode = path.stat().st_mode  # stat does not open, so it never waits on a pipe
    except OSError as exc:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"cannot read {path}: {exc}") from None
    if not stat.S_ISREG(mode) and not _is_anonymous_pipe(path, mode):
        raise TetherError(
            ErrorCode.SCENARIO_INVALID,
            f"cannot read {path}: not a regular file (a named pipe, a device or a folder is "
            "not read: nothing may ever end it)",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{path}: not valid YAML/JSON: {exc}"
        ) from None
    except RecursionError:  # nested past what the parser can descend
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{path}: not valid YAML/JSON: nested too deep"
        ) from None


def load_script(path: Path) -> list[ScriptTurn]:
    """Read a script from a YAML or JSON file."""
    data = read_data_file(path)
    if isinstance(data, Mapping) and "turns" in data:
        data = data["turns"]
    return parse_script(data, str(path))


class ScriptedModel:
    """Returns turn N of its script for the N-th model turn of a run (stateless, resumable)."""

    def __init__(self, turns: Sequence[ScriptTurn], name: str = "scripted") -> None:
        self._turns = list(turns)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def propose(self, request: ModelRequest) -> ModelTurn:
        if request.turn >= len(self._turns):
            raise TetherError(
                ErrorCode.MODEL_SCRIPT_EXHAUSTED,
                f"the script has {len(self._turns)} turns; turn {request.turn + 1} was asked for",
            )
        return self._turns[request.turn].to_model_turn(request.turn, self._name)

"""Tool execution: classify every outcome into a value with a stable code.

`DirectExecutor` is the first envelope: it validates output and classifies errors.
Timeouts, retries, breakers and rate limits plug in behind the same `ToolExecutor` seam.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.tools.registry import Tool


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one tool call: output on success, else a code and a message."""

    ok: bool
    output: Any = None
    code: ErrorCode | None = None
    message: str = ""
    latency_ms: float = 0.0
    attempts: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def observation(self) -> dict[str, Any]:
        """What the model sees: the output, or a structured error (never a stack trace)."""
        if self.ok:
            return {"ok": True, "output": self.output}
        assert self.code is not None
        return {
            "ok": False,
            "error": {
                "code": self.code.value,
                "message": self.message,
                "retryable": self.code.retryable,
            },
        }


class ToolExecutor(Protocol):
    def execute(self, tool: Tool, arguments: Mapping[str, Any]) -> ToolOutcome: ...


class DirectExecutor:
    """Calls the tool in-process and classifies whatever happens."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()

    def execute(self, tool: Tool, arguments: Mapping[str, Any]) -> ToolOutcome:
        start = self._clock.monotonic()
        try:
            output = tool.fn(**arguments)
            json.dumps(output)  # outputs are recorded and replayed, so they must be JSON
        except TetherError as exc:
            return self._fail(exc.code, exc.message, start)
        except (TypeError, ValueError) as exc:
            if "JSON" in str(exc) or "serializable" in str(exc):
                return self._fail(
                    ErrorCode.BAD_OUTPUT, f"{tool.name} returned non-JSON output", start
                )
            return self._fail(
                ErrorCode.TOOL_ERROR, f"{tool.name} failed: {type(exc).__name__}", start
            )
        except Exception as exc:
            return self._fail(
                ErrorCode.TOOL_ERROR, f"{tool.name} failed: {type(exc).__name__}", start
            )
        latency = (self._clock.monotonic() - start) * 1000
        return ToolOutcome(True, output=output, latency_ms=latency)

    def _fail(self, code: ErrorCode, message: str, start: float) -> ToolOutcome:
        latency = (self._clock.monotonic() - start) * 1000
        return ToolOutcome(False, code=code, message=message, latency_ms=latency)

"""Structured logs: one JSON object (or one text line) per event, with the run's trace id,
redacted on the way out. Configured by `TETHER_LOG_LEVEL` and `TETHER_LOG_FORMAT=json|text`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, Step, StepKind
from tether.observe.redact import Redactor, default_redactor

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("json", "text")
ROOT_LOGGER = "tether"

# (run id, trace id) of the run the current thread is executing, for log lines emitted inside it
_RUN: ContextVar[tuple[str, str] | None] = ContextVar("tether_log_run", default=None)

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

run_log = logging.getLogger("tether.run")


def current_run() -> tuple[str, str] | None:
    """(run id, trace id) of the run being executed in this context, if any."""
    return _RUN.get()


@contextmanager
def run_context(run_id: str, trace_id: str) -> Iterator[None]:
    """Tag the log lines emitted inside the block with a run and its trace id."""
    token = _RUN.set((run_id, trace_id))
    try:
        yield
    finally:
        _RUN.reset(token)


class RunContextFilter(logging.Filter):
    """Adds `run_id` and `trace_id` of the current run to records that carry none."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = _RUN.get()
        if found is not None:
            if not getattr(record, "run_id", None):
                record.run_id = found[0]
            if not getattr(record, "trace_id", None):
                record.trace_id = found[1]
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, the record's extras, exc."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor or default_redactor()

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": self._redactor.text(record.getMessage()),
        }
        # through `value`, so an extra named like a secret (token, password, ...) is blanked
        payload.update(self._redactor.value({k: _plain(v) for k, v in _extras(record).items()}))
        if record.exc_info:
            payload["exc"] = self._redactor.text(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: event key=value …`, redacted; without `tracebacks`, an exception
    is one line (its type and message) instead of its traceback."""

    def __init__(self, redactor: Redactor | None = None, tracebacks: bool = True) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redactor = redactor or default_redactor()
        self._tracebacks = tracebacks

    def formatException(self, ei: Any) -> str:
        if self._tracebacks or ei[0] is None:
            return super().formatException(ei)
        return f"{ei[0].__name__}: {ei[1]} (TETHER_LOG_LEVEL=debug shows the traceback)"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = self._redactor.value({k: _plain(v) for k, v in _extras(record).items()})
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        return self._redactor.text(f"{line} {tail}" if tail else line)


def _plain(value: Any) -> Any:
    return (
        value
        if isinstance(value, str | int | float | bool | type(None) | list | dict)
        else str(value)
    )


def configure_logging(
    environ: Mapping[str, str] | None = None,
    stream: IO[str] | None = None,
    tracebacks: bool = True,
) -> logging.Handler:
    """Send tether's logs (the `tether` logger tree) to `stream` (stderr) in the configured
    format and level; calling it again replaces the handler. Without `tracebacks`, text
    lines give an exception's type and message only, unless the level is debug. Raises
    CONFIG_INVALID."""
    env = os.environ if environ is None else environ
    level = (env.get("TETHER_LOG_LEVEL") or "info").strip().lower()
    fmt = (env.get("TETHER_LOG_FORMAT") or "text").strip().lower()
    if level not in LEVELS:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"TETHER_LOG_LEVEL must be one of {', '.join(LEVELS)}"
        )
    if fmt not in FORMATS:
        raise TetherError(ErrorCode.CONFIG_INVALID, "TETHER_LOG_FORMAT must be json or text")
    handler = logging.StreamHandler(stream or sys.stderr)
    text = TextFormatter(tracebacks=tracebacks or level == "debug")
    handler.setFormatter(JsonFormatter() if fmt == "json" else text)
    handler.addFilter(RunContextFilter())
    handler.set_name("tether")
    logger = logging.getLogger(ROOT_LOGGER)
    for old in [h for h in logger.handlers if h.get_name() == "tether"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler


def configure_from_env(environ: Mapping[str, str] | None = None) -> logging.Handler | None:
    """`configure_logging` when TETHER_LOG_LEVEL or TETHER_LOG_FORMAT is set; else leave the
    host's logging alone (embedding applications and test runners keep theirs)."""
    env = os.environ if environ is None else environ
    if not (env.get("TETHER_LOG_LEVEL") or env.get("TETHER_LOG_FORMAT")):
        return None
    return configure_logging(env)


def configure_command_line(environ: Mapping[str, str] | None = None) -> logging.Handler:
    """The command line's logging: as TETHER_LOG_LEVEL and TETHER_LOG_FORMAT say where either
    is set; else warnings and errors as redacted text, one line each, no traceback (Python's
    fallback printed them unredacted, tracebacks and all, to whoever ran the command)."""
    env = os.environ if environ is None else environ
    configured = configure_from_env(env)
    if configured is not None:
        return configured
    return configure_logging({"TETHER_LOG_LEVEL": "warning"}, tracebacks=False)


class LogObserver:
    """A RunObserver that logs failed tool calls and each run's end, tagged with the trace id
    (and makes the run's ids available to any log line emitted while it runs)."""

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        if _RUN.get() != (run.id, run.trace_id):
            _RUN.set((run.id, run.trace_id))  # stays set in the run's context until its end
        if not run_log.isEnabledFor(logging.INFO):
            return
        for step in steps:
            if step.kind is StepKind.TOOL and not step.data.get("ok", True):
                error = step.data.get("error") or {}
                # the model may recover from it, so it is news, not a warning
                run_log.info(
                    "tool call failed",
                    extra={
                        "run_id": run.id,
                        "trace_id": run.trace_id,
                        "tool": step.data.get("tool", step.name),
                        "code": error.get("code"),
                        "detail": error.get("message"),
                    },
                )

    def on_run_end(self, run: Run) -> None:
        if run_log.isEnabledFor(logging.INFO) and run.decision is not None:
            reason = run.decision.reason
            run_log.info(
                "run ended",
                extra={
                    "run_id": run.id,
                    "trace_id": run.trace_id,
                    "agent": run.agent,
                    "decision": run.decision.kind.value,
                    "code": reason.code.value if reason else None,
                    "steps": run.step_count,
                    "duration_ms": round((run.updated_at - run.created_at) * 1000, 3),
                },
            )
        _RUN.set(None)

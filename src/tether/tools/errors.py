"""The error a tool raises to tell the model, with a stable code, what went wrong."""

from __future__ import annotations

from tether.core.errors import ErrorCode


class ToolError(Exception):
    """Raised by a tool for a failure the model (or the envelope) can act on.

    `code` is an `ErrorCode` or its value, e.g. "NOT_FOUND", "PRECONDITION_FAILED",
    "CONFLICT" or "UPSTREAM_ERROR"; an unknown value raises ValueError here, not later in a
    run. The envelope classifies the call by this code and shows the model
    `{"ok": false, "error": {"code", "message", "retryable"}}`. `retryable` overrides the
    code's own flag: False stops the envelope retrying a code its retry policy lists, and
    either value is what the model is told. It never makes the envelope retry a code its
    policy does not list: how a tool is retried stays in its envelope settings.
    """

    def __init__(self, code: ErrorCode | str, message: str, retryable: bool | None = None) -> None:
        try:
            known = ErrorCode(code)
        except ValueError:
            raise ValueError(
                f"ToolError code {code!r} is not an ErrorCode; use one of its values, such as "
                "NOT_FOUND, PRECONDITION_FAILED, CONFLICT or UPSTREAM_ERROR"
            ) from None
        if retryable is not None and not isinstance(retryable, bool):
            raise ValueError(f"ToolError retryable must be True, False or None, not {retryable!r}")
        super().__init__(known, message, retryable)  # all three, so the error pickles
        self.code = known
        self.message = str(message)
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"

"""Tools: registration, schemas and the execution envelope."""

from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    FallbackPolicy,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.errors import ToolError
from tether.tools.execute import (
    CallContext,
    DirectExecutor,
    ToolExecutor,
    ToolOutcome,
    current_idempotency_key,
)
from tether.tools.registry import Reconcile, Tool, ToolRegistry, make_tool, tool

__all__ = [
    "BreakerPolicy",
    "CallContext",
    "DirectExecutor",
    "Envelope",
    "EnvelopeExecutor",
    "FallbackPolicy",
    "RateLimitPolicy",
    "Reconcile",
    "RetryPolicy",
    "TokenBucket",
    "Tool",
    "ToolError",
    "ToolExecutor",
    "ToolOutcome",
    "ToolRegistry",
    "current_idempotency_key",
    "make_tool",
    "tool",
]

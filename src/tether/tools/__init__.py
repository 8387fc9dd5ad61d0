"""Tools: registration, schemas and the execution envelope."""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "BreakerPolicy": "tether.core.envelope",
        "CallContext": "tether.tools.execute",
        "DirectExecutor": "tether.tools.execute",
        "Envelope": "tether.core.envelope",
        "EnvelopeExecutor": "tether.tools.envelope",
        "FallbackPolicy": "tether.core.envelope",
        "RateLimitPolicy": "tether.core.envelope",
        "Reconcile": "tether.tools.registry",
        "RetryPolicy": "tether.core.envelope",
        "TokenBucket": "tether.core.envelope",
        "Tool": "tether.tools.registry",
        "ToolError": "tether.tools.errors",
        "ToolExecutor": "tether.tools.execute",
        "ToolOutcome": "tether.tools.execute",
        "ToolRegistry": "tether.tools.registry",
        "current_idempotency_key": "tether.tools.execute",
        "make_tool": "tether.tools.registry",
        "tool": "tether.tools.registry",
    },
)

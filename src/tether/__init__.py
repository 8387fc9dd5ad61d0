"""tether: a governed runtime for production AI agents.

The names here are the public API a domain needs; `tether.sdk`, `tether.tools`,
`tether.policy`, `tether.grounding`, `tether.access`, `tether.approvals`, `tether.models` and
`tether.observe` document the rest. Other modules are internal and may change.

    from tether import Agent, Principal, RiskClass, ToolError, tool
    from tether.sdk import Domain, DomainParts, PolicySet, build_desk

Names are loaded on first use, so `import tether` stays cheap.
"""

from __future__ import annotations

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
    from tether.core.errors import ErrorCode, TetherError
    from tether.core.guard import (
        AnswerCheck,
        GuardContext,
        GuardResult,
        ToolCheck,
        as_received,
        run_answer_checks,
        run_tool_checks,
    )
    from tether.core.reads import reading_now, recorded_read
    from tether.core.types import (
        Agent,
        Decision,
        DecisionKind,
        Effect,
        Evidence,
        Limits,
        Message,
        ModelTurn,
        OutputTrust,
        Principal,
        Reason,
        RiskClass,
        Run,
        RunStatus,
        Step,
        StepKind,
        ToolCall,
        ToolSpec,
        TurnKind,
        Verdict,
    )
    from tether.models.base import ModelAdapter
    from tether.models.openai import OpenAIModel
    from tether.models.scripted import ScriptedModel
    from tether.runtime.loop import Runtime
    from tether.runtime.pending import PendingAction
    from tether.runtime.seams import PrincipalDirectory, RunRequest
    from tether.sdk.desk import Desk, build_desk
    from tether.sdk.domain import DeskContext, Domain, DomainParts, PolicySet
    from tether.sdk.loader import list_domains, load_domain
    from tether.tools.checks import SchemaCheck
    from tether.tools.errors import ToolError
    from tether.tools.execute import current_idempotency_key
    from tether.tools.registry import Tool, ToolRegistry, make_tool, tool

_EXPORTS = {
    # the nouns
    "Agent": "tether.core.types",
    "Decision": "tether.core.types",
    "DecisionKind": "tether.core.types",
    "Effect": "tether.core.types",
    "Evidence": "tether.core.types",
    "Limits": "tether.core.types",
    "Message": "tether.core.types",
    "ModelTurn": "tether.core.types",
    "OutputTrust": "tether.core.types",
    "Principal": "tether.core.types",
    "Reason": "tether.core.types",
    "RiskClass": "tether.core.types",
    "Run": "tether.core.types",
    "RunStatus": "tether.core.types",
    "Step": "tether.core.types",
    "StepKind": "tether.core.types",
    "ToolCall": "tether.core.types",
    "ToolSpec": "tether.core.types",
    "TurnKind": "tether.core.types",
    "Verdict": "tether.core.types",
    # errors
    "ErrorCode": "tether.core.errors",
    "TetherError": "tether.core.errors",
    "ToolError": "tether.tools.errors",
    # checks
    "AnswerCheck": "tether.core.guard",
    "GuardContext": "tether.core.guard",
    "GuardResult": "tether.core.guard",
    "ToolCheck": "tether.core.guard",
    "SchemaCheck": "tether.tools.checks",
    "run_answer_checks": "tether.core.guard",
    "as_received": "tether.core.guard",
    "run_tool_checks": "tether.core.guard",
    # what checks read of live state, kept with their step for replay
    "reading_now": "tether.core.reads",
    "recorded_read": "tether.core.reads",
    # tools and their envelope
    "BreakerPolicy": "tether.core.envelope",
    "Envelope": "tether.core.envelope",
    "FallbackPolicy": "tether.core.envelope",
    "RateLimitPolicy": "tether.core.envelope",
    "RetryPolicy": "tether.core.envelope",
    "TokenBucket": "tether.core.envelope",
    "Tool": "tether.tools.registry",
    "ToolRegistry": "tether.tools.registry",
    "current_idempotency_key": "tether.tools.execute",
    "make_tool": "tether.tools.registry",
    "tool": "tether.tools.registry",
    # models
    "ModelAdapter": "tether.models.base",
    "OpenAIModel": "tether.models.openai",
    "ScriptedModel": "tether.models.scripted",
    # the runtime and the builder
    "Desk": "tether.sdk.desk",
    "DeskContext": "tether.sdk.domain",
    "Domain": "tether.sdk.domain",
    "DomainParts": "tether.sdk.domain",
    "PolicySet": "tether.sdk.domain",
    "PendingAction": "tether.runtime.pending",
    "PrincipalDirectory": "tether.runtime.seams",
    "RunRequest": "tether.runtime.seams",
    "Runtime": "tether.runtime.loop",
    "build_desk": "tether.sdk.desk",
    "list_domains": "tether.sdk.loader",
    "load_domain": "tether.sdk.loader",
}

__all__ = [
    "Agent",
    "AnswerCheck",
    "BreakerPolicy",
    "Decision",
    "DecisionKind",
    "Desk",
    "DeskContext",
    "Domain",
    "DomainParts",
    "Effect",
    "Envelope",
    "ErrorCode",
    "Evidence",
    "FallbackPolicy",
    "GuardContext",
    "GuardResult",
    "Limits",
    "Message",
    "ModelAdapter",
    "ModelTurn",
    "OpenAIModel",
    "OutputTrust",
    "PendingAction",
    "PolicySet",
    "Principal",
    "PrincipalDirectory",
    "RateLimitPolicy",
    "Reason",
    "RetryPolicy",
    "RiskClass",
    "Run",
    "RunRequest",
    "RunStatus",
    "Runtime",
    "SchemaCheck",
    "ScriptedModel",
    "Step",
    "StepKind",
    "TetherError",
    "TokenBucket",
    "Tool",
    "ToolCall",
    "ToolCheck",
    "ToolError",
    "ToolRegistry",
    "ToolSpec",
    "TurnKind",
    "Verdict",
    "as_received",
    "build_desk",
    "current_idempotency_key",
    "list_domains",
    "load_domain",
    "make_tool",
    "reading_now",
    "recorded_read",
    "run_answer_checks",
    "run_tool_checks",
    "tool",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)  # a name is kept once loaded


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""Policy as code: Cedar policies decide, validators supply the facts, checks return Verdicts.

`PolicyEngine` loads a schema-checked policy set and decides requests (allow, deny, or
escalate for a forbid annotated `@escalate`); `PolicyCheck` and `PolicyAnswerCheck` put it in
the guard chain through a domain's `PolicyBinding`. The retail desk's binding, policy files and
evaluation harness live in `tether.policy.retail` and `tether.policy.evaluation`.
"""

from tether.policy.check import PolicyAnswerCheck, PolicyBinding, PolicyCheck, argument_hash
from tether.policy.engine import PolicyDecision, PolicyEngine, PolicyRequest
from tether.policy.source import LoadedPolicies, PolicyMeta, load_policies

__all__ = [
    "LoadedPolicies",
    "PolicyAnswerCheck",
    "PolicyBinding",
    "PolicyCheck",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyMeta",
    "PolicyRequest",
    "argument_hash",
    "load_policies",
]

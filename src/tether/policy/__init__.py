"""Policy as code: Cedar policies decide, validators supply the facts, checks return Verdicts.

`PolicyEngine` loads a schema-checked policy set and decides requests (allow, deny, or
escalate for a forbid annotated `@escalate`); `PolicyCheck` and `PolicyAnswerCheck` put it in
the guard chain through a domain's `PolicyBinding`. A binding builds `PolicyRequest`s with
`entity` / `ref` (or is declared: `DeclarativeBinding` with `Subject`s and `fact`s filled
from arguments and records, neutral defaults from the schema), reads the conversation through `tool_exchanges`,
`action_counters` and `argument_provenance`, and computes facts with the validators
(`cents`, `find_pii`, `strings_in`).
"""

from tether.policy.binding import (
    ActionBinding,
    DeclarativeBinding,
    Fact,
    FactSource,
    Lookup,
    Subject,
    fact,
)
from tether.policy.check import (
    Conversation,
    PolicyAnswerCheck,
    PolicyBinding,
    PolicyCheck,
    argument_hash,
)
from tether.policy.consent import ConsentReading, action_targets, action_verb, classify_reply
from tether.policy.conversation import (
    UNTRUSTED,
    Counters,
    ToolExchange,
    action_counters,
    argument_provenance,
    tool_exchanges,
)
from tether.policy.engine import PolicyDecision, PolicyEngine, PolicyRequest, entity, ref
from tether.policy.source import LoadedPolicies, PolicyMeta, load_policies
from tether.policy.validators import PiiFacts, cents, find_pii, strings_in

__all__ = [
    "UNTRUSTED",
    "ActionBinding",
    "ConsentReading",
    "Conversation",
    "Counters",
    "DeclarativeBinding",
    "Fact",
    "FactSource",
    "LoadedPolicies",
    "Lookup",
    "PiiFacts",
    "PolicyAnswerCheck",
    "PolicyBinding",
    "PolicyCheck",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyMeta",
    "PolicyRequest",
    "Subject",
    "ToolExchange",
    "action_counters",
    "action_targets",
    "action_verb",
    "argument_hash",
    "argument_provenance",
    "cents",
    "classify_reply",
    "entity",
    "fact",
    "find_pii",
    "load_policies",
    "ref",
    "strings_in",
    "tool_exchanges",
]

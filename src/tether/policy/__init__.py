"""Policy as code: Cedar policies decide, validators supply the facts, checks return Verdicts.

`PolicyEngine` loads a schema-checked policy set and decides requests (allow, deny, or
escalate for a forbid annotated `@escalate`); `PolicyCheck` and `PolicyAnswerCheck` put it in
the guard chain through a domain's `PolicyBinding`. A binding builds `PolicyRequest`s with
`entity` / `ref` (or is declared: `DeclarativeBinding` with `Subject`s and `fact`s filled
from arguments and records, neutral defaults from the schema), reads the conversation through `tool_exchanges`,
`action_counters` and `argument_provenance`, and computes facts with the validators
(`cents`, `find_pii`, `strings_in`).
"""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "ActionBinding": "tether.policy.binding",
        "ConsentReading": "tether.policy.consent",
        "Conversation": "tether.policy.check",
        "Counters": "tether.policy.conversation",
        "DeclarativeBinding": "tether.policy.binding",
        "Fact": "tether.policy.binding",
        "FactSource": "tether.policy.binding",
        "LoadedPolicies": "tether.policy.source",
        "Lookup": "tether.policy.binding",
        "PiiFacts": "tether.policy.validators",
        "PolicyAnswerCheck": "tether.policy.check",
        "PolicyBinding": "tether.policy.check",
        "PolicyCheck": "tether.policy.check",
        "PolicyDecision": "tether.policy.engine",
        "PolicyEngine": "tether.policy.engine",
        "PolicyMeta": "tether.policy.source",
        "PolicyRequest": "tether.policy.engine",
        "Subject": "tether.policy.binding",
        "ToolExchange": "tether.policy.conversation",
        "UNTRUSTED": "tether.policy.conversation",
        "action_counters": "tether.policy.conversation",
        "action_targets": "tether.policy.consent",
        "action_verb": "tether.policy.consent",
        "argument_hash": "tether.policy.check",
        "argument_provenance": "tether.policy.conversation",
        "cents": "tether.policy.validators",
        "classify_reply": "tether.policy.consent",
        "entity": "tether.policy.engine",
        "fact": "tether.policy.binding",
        "find_pii": "tether.policy.validators",
        "load_policies": "tether.policy.source",
        "ref": "tether.policy.engine",
        "strings_in": "tether.policy.validators",
        "tool_exchanges": "tether.policy.conversation",
    },
)

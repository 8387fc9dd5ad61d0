"""The SDK for domain packs: declare a domain, build a governed desk for it, find packs.

    from tether.sdk import Domain, DomainParts, PolicySet, build_desk

A `Domain` declares agents, policies, scenarios and a `setup` that builds its parts over a
store; `build_desk` assembles the runtime with the default guard chain; `load_domain` and
`list_domains` find packs by entry point (`tether.domains`) or `module:attr`.
"""

from tether.sdk.desk import (
    Desk,
    WritesNeedPolicy,
    build_desk,
    default_answer_checks,
    default_tool_checks,
)
from tether.sdk.domain import DeskContext, Domain, DomainParts, PolicySet
from tether.sdk.loader import (
    DomainEntry,
    configured_domain,
    list_domains,
    load_domain,
    resolve_domain,
)
from tether.sdk.scenarios import (
    Scenario,
    ScenarioResult,
    load_scenarios,
    run_scenario,
    scenario_desk,
)

__all__ = [
    "Desk",
    "DeskContext",
    "Domain",
    "DomainEntry",
    "DomainParts",
    "PolicySet",
    "Scenario",
    "ScenarioResult",
    "WritesNeedPolicy",
    "build_desk",
    "configured_domain",
    "default_answer_checks",
    "default_tool_checks",
    "list_domains",
    "load_domain",
    "load_scenarios",
    "resolve_domain",
    "run_scenario",
    "scenario_desk",
]

"""The SDK for domain packs: declare a domain, build a governed desk for it, find packs.

    from tether.sdk import Domain, DomainParts, PolicySet, build_desk

A `Domain` declares agents, policies, scenarios and a `setup` that builds its parts over a
store; `build_desk` assembles the runtime with the default guard chain; `load_domain` and
`list_domains` find packs by entry point (`tether.domains`) or `module:attr`.
"""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "Desk": "tether.sdk.desk",
        "DeskContext": "tether.sdk.domain",
        "Domain": "tether.sdk.domain",
        "DomainEntry": "tether.sdk.loader",
        "DomainParts": "tether.sdk.domain",
        "PolicySet": "tether.sdk.domain",
        "Scenario": "tether.sdk.scenarios",
        "ScenarioResult": "tether.sdk.scenarios",
        "WritesNeedPolicy": "tether.sdk.desk",
        "build_desk": "tether.sdk.desk",
        "configured_domain": "tether.sdk.loader",
        "default_answer_checks": "tether.sdk.desk",
        "default_tool_checks": "tether.sdk.desk",
        "list_domains": "tether.sdk.loader",
        "load_domain": "tether.sdk.loader",
        "load_scenarios": "tether.sdk.scenarios",
        "resolve_domain": "tether.sdk.loader",
        "run_scenario": "tether.sdk.scenarios",
        "scenario_desk": "tether.sdk.scenarios",
    },
)

"""The retail support desk as a domain pack, declared through the public API only."""

from __future__ import annotations

from importlib import metadata, resources
from pathlib import Path
from typing import Any

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_AGENT, RETAIL_ROLES, RetailCustomers
from tether.domains.retail.graph import RETAIL_IDS
from tether.domains.retail.grounding import RETAIL_GROUNDING, retail_grounding
from tether.domains.retail.knowledge import packaged_kb_source
from tether.domains.retail.ownership import RetailOwnership
from tether.domains.retail.policy import DESK_RULES, SCHEMA_FILE, RetailPolicyBinding
from tether.domains.retail.source import RetailSource
from tether.domains.retail.tools import build_tools
from tether.sdk import DeskContext, Domain, DomainParts, PolicySet

PACKAGE = "tether.domains.retail"


def _folder(name: str) -> Path:
    return Path(str(resources.files(PACKAGE) / name))


def _version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def _data(ctx: DeskContext) -> RetailDB:
    """The retail records: the caller's, a fresh in-memory copy, or tables beside the runs."""
    if ctx.data is not None:
        if not isinstance(ctx.data, RetailDB):
            raise TypeError(f"the retail desk's data must be a RetailDB, not {type(ctx.data)}")
        return ctx.data
    if ctx.fresh:
        return RetailDB.fresh_copy()
    db = RetailDB(ctx.engine)
    db.create_tables()
    db.load_packaged()
    return db


def setup(ctx: DeskContext) -> DomainParts:
    """The desk's parts over one store's retail records."""
    db = _data(ctx)
    ownership = RetailOwnership(db)
    grounding = retail_grounding(db)
    return DomainParts(
        tools=build_tools(db),
        principals=RetailCustomers(db),
        rights=RETAIL_ROLES,
        owners=ownership,
        policy=RetailPolicyBinding(db, ownership),
        knowledge=(packaged_kb_source(),),
        graph=grounding.graph,
        premises=(grounding.premises,),
        data=db,
        sources={"db:retail": lambda: RetailSource(db)},
        shared_reads=db.shared_reads,
    )


def _evaluate_policy(engine: Any = None, **_: Any) -> Any:
    """The policy evaluation; `engine` evaluates another policy set (a candidate release's)."""
    from tether.domains.retail.evaluation import evaluate_policies

    return evaluate_policies(engine=engine)


def _effect_log() -> Any:
    from tether.domains.retail.effects import RetailEffectLog

    return RetailEffectLog()


RETAIL = Domain(
    name="retail",
    version=_version(),
    description="An online store's customer support desk (tau2-bench retail data, MIT).",
    agents=(RETAIL_AGENT,),
    setup=setup,
    policies=PolicySet(
        schema=_folder("policies") / SCHEMA_FILE,
        files=tuple(_folder("policies") / f for f in DESK_RULES),
        cases=_folder("policies") / "cases",
    ),
    entity_ids=RETAIL_IDS,
    scenarios=_folder("scenarios"),
    grounding_probes=_folder("data") / "grounding_probes" / "heldout",
    harnesses={"eval policy": _evaluate_policy, "effect log": _effect_log},
    principal_hint="raj_sanchez_2970",
    grounding=RETAIL_GROUNDING,
)

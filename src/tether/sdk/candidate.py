"""A desk that governs with a release's configuration instead of the pack's in force: what a
counterfactual replay re-checks recorded proposals with.

From the release it takes what decides verdicts: the policy files and schema, the agents
(their tool grants, scopes, limits and verifier operating points) and what failing claims do;
and the model it names, which its runs use (a model this process cannot build is refused).
Tool specs (and their envelopes) are the pack's code: a release records them for review, and a
rollout of one whose specs differ from production's is refused (`check_same_tools`).
Code (premise checks, answer checks, the verifier itself) is the pack's: a release names its
version, and a release of another pack or version is refused.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.release.agents import agent_from
from tether.release.bundle import Bundle, check_verifier
from tether.release.source import POLICIES, write_release_dir
from tether.sdk.desk import Desk, build_desk
from tether.sdk.domain import Domain, PolicySet
from tether.store.runs import RunStore

_SCHEMA_SUFFIX = ".cedarschema"


def candidate_domain(domain: Domain, bundle: Bundle, workdir: Path) -> tuple[Domain, str | None]:
    """`domain` governed by `bundle`: its policy files (written under `workdir`, an empty or new
    folder) and its agents; and what the release does with failing claims. RELEASE_SOURCE_INVALID
    for a bundle of another pack or pack version, or one holding no agent."""
    content = bundle.content
    pack = content.get("domain") or {}
    if (pack.get("name"), pack.get("version")) != (domain.name, domain.version):
        raise TetherError(
            ErrorCode.RELEASE_SOURCE_INVALID,
            f"release {bundle.id} is of {pack.get('name')} {pack.get('version')}; the pack in "
            f"force is {domain.name} {domain.version}, whose code would not be the release's",
        )
    write_release_dir(bundle, workdir)
    policies = None
    folder = workdir / POLICIES
    if folder.is_dir():
        schema = next(p for p in sorted(folder.iterdir()) if p.name.endswith(_SCHEMA_SUFFIX))
        files = tuple(p for p in sorted(folder.iterdir()) if p.suffix == ".cedar")
        policies = PolicySet(schema, files)
    agents = tuple(agent_from(a) for a in content.get("agents") or ())
    if not agents:  # never the pack's own agents: the run would not be governed by the release
        raise TetherError(
            ErrorCode.RELEASE_SOURCE_INVALID, f"release {bundle.id} holds no agent to govern with"
        )
    governed = dataclasses.replace(domain, policies=policies, agents=agents)
    return governed, check_verifier(content.get("verifier") or {}, bundle.id)


def candidate_desk(
    domain: Domain, store: RunStore, bundle: Bundle, workdir: Path, **options: Any
) -> Desk:
    """A desk for `domain` over `store` whose guards are `bundle`'s (see `candidate_domain`);
    `options` go to `build_desk` (e.g. `data`, the pack's handle a desk in force holds)."""
    governed, on_fail = candidate_domain(domain, bundle, workdir)
    options.setdefault("model", bundle.content.get("model") or {})
    return build_desk(governed, store, claims_on_fail=on_fail, approvals=True, **options)


def check_buildable(domain: Domain, store: RunStore, bundle: Bundle, **options: Any) -> None:
    """RELEASE_SOURCE_INVALID, naming why, unless a desk of `domain` can be built from `bundle`
    as every desk pinned to it will be (its model is not built: it may be another host's). A
    bundle of another pack or version is left alone: no desk here would build it anyway."""
    pack = bundle.content.get("domain") or {}
    if (pack.get("name"), pack.get("version")) != (domain.name, domain.version):
        return
    with tempfile.TemporaryDirectory(prefix="tether-release-check-") as folder:
        try:
            candidate_desk(domain, store, bundle, Path(folder) / "release", model=None, **options)
        except TetherError as exc:
            if exc.code is ErrorCode.RELEASE_SOURCE_INVALID:
                raise
            raise TetherError(
                ErrorCode.RELEASE_SOURCE_INVALID,
                f"release {bundle.id} cannot be built by {domain.name} {domain.version}: "
                f"{exc.code.value}: {exc.message}",
            ) from None

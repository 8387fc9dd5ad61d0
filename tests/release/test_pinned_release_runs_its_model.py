"""A release holds "the configured model (adapter, name, and the parameters that shape its
output)", and a conversation pinned to a release has "every turn execute under that release
... nothing of it runs under another configuration" (README, Releases). The desk built for a
pinned release runs the model the release names (built as the process builds its own), so a
rollout of a model change judges the model it records; a model this process cannot build is
refused (RELEASE_SOURCE_INVALID), never served by another. Tool specs are the pack's code: a
rollout of a release that changes them is refused rather than judged on what nobody ran."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.release.cli_store import Cli, exported_production
from tests.release.test_pinning import desk_over, model, service
from tests.sdk.packs.library import fresh_data
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, StepKind
from tether.release import PRODUCTION, Bundle
from tether.release.rollout import Rollouts
from tether.sdk import Desk
from tether.sdk.desk import build_desk
from tether.sdk.loader import resolve_domain
from tether.sdk.releases import ReleaseDesks
from tether.store.runs import RunStore

MODEL = {"adapter": "openai", "name": "gpt-4o-mini", "parameters": {"temperature": 0.2}}


def test_a_pinned_release_runs_its_own_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(tmp_path)

    def another_model(settings: dict[str, Any]) -> None:
        assert settings["model"] != MODEL
        settings["model"] = MODEL

    folder = exported_production(cli, another_model)
    cand = cli.ok("release", "create", "--from", str(folder))["release"]["id"]
    cli.ok("rollout", "start", cand, "--guard", "cost_per_conversation <= baseline * 1.2")

    monkeypatch.setenv("TETHER_HOME", str(cli.home))
    monkeypatch.setenv("TETHER_DATABASE_URL", cli.url)
    monkeypatch.delenv("TETHER_MODEL", raising=False)
    store = RunStore.open(cli.url)
    try:
        desks = ReleaseDesks(build_desk(resolve_domain("retail"), store), refresh_s=0)
        built = desks.desk_of(cand)  # a model this process can build: it is served, never refused
        assert built.release is not None
        assert built.release.bundle().content["model"] == MODEL
        # and its runtime runs that model, not the process's own
        assert built.runtime.release_model is not None
        assert built.runtime.release_model().name == "openai:gpt-4o-mini"
    finally:
        store.close()


def release_with(desk: Desk, **changes: Any) -> str:
    """A stored release of `desk`'s configuration with `changes` to its sections."""
    assert desk.release is not None
    content = {**desk.release.bundle().content, **changes}
    release, _ = desk.release.releases.create(Bundle(content), "admin", "changed")
    return release.id


@pytest.fixture
def library(sqlite_url: str) -> Iterator[Desk]:
    store = RunStore.open(sqlite_url)
    yield desk_over(store, fresh_data(), lending=True)
    store.close()


def test_a_turn_pinned_to_a_release_runs_on_the_model_it_names(
    library: Desk, tmp_path: Path
) -> None:
    script = tmp_path / "release-model.json"
    script.write_text(json.dumps([{"refuse": "The release's model declines."}]))
    named = release_with(
        library, model={"adapter": "scripted", "name": str(script), "parameters": {}}
    )
    pins = ReleaseDesks(library, refresh_s=0)
    pins.pin = lambda conversation, principal: named  # type: ignore[method-assign]
    talk = service(library, pins).start("ada")
    outcome = talk.send("I'd like Dune", model())  # the caller's model would borrow it
    assert outcome.run.release == named
    assert outcome.run.decision is not None and outcome.run.decision.reason is not None
    assert outcome.run.decision.reason.code is ErrorCode.MODEL_REFUSED
    assert not [s for s in outcome.run.steps if s.kind is StepKind.GUARD]


def test_a_release_naming_a_model_this_process_cannot_build_is_refused(library: Desk) -> None:
    named = release_with(library, model={"adapter": "nonesuch", "name": "m", "parameters": {}})
    pins = ReleaseDesks(library, refresh_s=0)
    with pytest.raises(TetherError) as refused:
        pins.desk_of(named)
    assert refused.value.code is ErrorCode.RELEASE_SOURCE_INVALID
    pins.pin = lambda conversation, principal: named  # type: ignore[method-assign]
    outcome = service(library, pins).start("ada").send("Is Dune in?", model())
    assert outcome.run.decision is not None and outcome.run.decision.kind is DecisionKind.REFUSAL
    assert outcome.run.decision.reason is not None
    assert outcome.run.decision.reason.code is ErrorCode.RELEASE_SOURCE_INVALID


def test_a_rollout_of_changed_tool_envelopes_is_refused(library: Desk) -> None:
    """Tools are the pack's code, which every desk runs: a candidate whose tool specs differ
    from production's is refused by name rather than rolled out and judged on envelopes
    nobody ran. The release itself is stored (and builds), so `diff` still shows the change."""
    assert library.release is not None and library.access is not None
    baseline = library.release.configuration
    tools = [dict(t) for t in library.release.bundle().content["tools"]]
    envelope = {**tools[0]["envelope"], "timeout_s": 3.0}
    tools[0] = {**tools[0], "envelope": envelope}
    named = release_with(library, tools=tools)
    assert ReleaseDesks(library, refresh_s=0).desk_of(named) is not None
    releases = library.release.releases
    releases.move_label(PRODUCTION, baseline, "admin")
    rollouts = Rollouts(releases, library.access.audit)
    with pytest.raises(TetherError) as refused:
        rollouts.start(named, ["resolution_rate >= baseline - 0.02"], "admin")
    assert refused.value.code is ErrorCode.ROLLOUT_INVALID
    assert tools[0]["name"] in refused.value.message

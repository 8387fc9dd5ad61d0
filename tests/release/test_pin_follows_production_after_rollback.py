"""Once a rollout is promoted, new conversations take its candidate "while it holds the
production label, until the process is deployed with it" (README, Staged rollout, Live
assignment). A later rollout against that new production which is rolled back does not send
new conversations back to the release production was promoted away from: with no rollout
running, the rollout that promoted what production names routes them, whichever came after."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.release.cli_store import Cli, production_and_candidate
from tether.release.store import PRODUCTION
from tether.sdk.desk import build_desk
from tether.sdk.loader import resolve_domain
from tether.sdk.releases import ReleaseDesks
from tether.store.runs import RunStore

GUARD = "resolution_rate >= baseline - 0.05"


def test_rolled_back_rollout_does_not_undo_an_earlier_promotion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(tmp_path)
    base, first = production_and_candidate(cli, "Be extra polite.")
    cli.ok("rollout", "start", first, "--guard", GUARD)
    for _ in range(3):
        cli.ok("rollout", "promote")
    assert cli.ok("rollout", "status")["state"] == "promoted"
    assert cli.ok("release", "show", "production")["id"] == first

    monkeypatch.setenv("TETHER_HOME", str(cli.home))
    monkeypatch.setenv("TETHER_DATABASE_URL", cli.url)
    store = RunStore.open(cli.url)
    try:
        desk = build_desk(resolve_domain("retail"), store)
        assert desk.release is not None and desk.release.configuration == base
        pins = ReleaseDesks(desk, refresh_s=0)
        assert pins.pin("conv_before", "alice") == first  # the promoted candidate

        # a second candidate is tried against the new production, and rolled back
        folder = tmp_path / "second"
        cli.ok("release", "export", "production", str(folder))
        prompt = next((folder / "prompts").glob("*.md"))
        prompt.write_text(prompt.read_text() + "\nAnswer briefly.\n")
        second = cli.ok("release", "create", "--from", str(folder))["release"]["id"]
        cli.ok("rollout", "start", second, "--guard", GUARD)
        cli.ok("rollout", "rollback")
        assert pins.releases.target(PRODUCTION) == first  # production never moved

        assert pins.pin("conv_after", "bob") == first

        # near miss: production moved by hand onto a release no rollout promoted, then back to
        # the baseline: both end the promotion, and the configuration in force serves
        cli.ok("release", "label", "production", second)
        assert pins.pin("conv_by_hand", "carol") == base
        cli.ok("release", "label", "production", base)
        assert pins.pin("conv_back", "dave") == base
    finally:
        store.close()

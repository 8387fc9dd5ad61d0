"""README, Releases: at `release create --from DIR` "each agent is built here exactly as a desk
built from the release builds it", and a release the runtime could not build is
RELEASE_SOURCE_INVALID "with nothing written". An agent granting a tool no part of the pack
registers was stored anyway, and every desk built from it failed (DOMAIN_INVALID from a
counterfactual replay, a refusal for every conversation a rollout sent to it). Now the desk is
built at create time: such a release is refused, naming the tool, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

from tests.release.cli_store import Cli, exported_production


def test_a_release_granting_an_unknown_tool_is_refused_with_nothing_stored(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    folder = exported_production(cli, lambda s: s["agents"][0]["tools"].append("delete_everything"))

    code, created = cli("release", "create", "--from", str(folder))
    assert code == 2, created
    assert created["error"]["code"] == "RELEASE_SOURCE_INVALID", created
    assert "delete_everything" in created["error"]["message"]
    assert len(cli.ok("release", "list")["releases"]) == 1  # nothing written


def test_a_release_granting_fewer_tools_is_built_and_stored(tmp_path: Path) -> None:
    """Near miss: a grant taken away builds, so the release is stored and replays."""
    cli = Cli(tmp_path)
    folder = exported_production(cli, lambda s: s["agents"][0]["tools"].pop())
    made = cli.ok("release", "create", "--from", str(folder))["release"]["id"]
    code, replayed = cli("replay", "--release", made)
    assert code in (0, 1), replayed

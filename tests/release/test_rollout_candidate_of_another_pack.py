"""A staged rollout sends a share of live conversations to its candidate, and a release that
cannot make a rollout is refused up front (`ROLLOUT_INVALID`: "a rollout's steps, sample size
or releases cannot make a rollout", exit 2). A candidate of another domain pack (or pack
version) than the one in production can never be built by a desk running production's code (a
turn pinned to it is refused with RELEASE_SOURCE_INVALID, and `tether eval suite` cannot
evaluate it, so no failing gate is ever stored to stop it): `tether rollout start` refuses it,
rather than route real customers to a release that refuses every turn."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.release.clitools import tether_json


@pytest.mark.parametrize(
    "pack", [{"name": "clinic", "version": "0.1.0"}, {"name": "retail", "version": "0.0.1"}]
)
def test_a_candidate_of_another_domain_pack_is_not_rolled_out(
    tmp_path: Path, store_url: str, pack: dict[str, str]
) -> None:
    code, made = tether_json(tmp_path, "release", "create", "--note", "baseline", url=store_url)
    assert code == 0, made
    base = made["release"]["id"]
    code, _ = tether_json(tmp_path, "release", "label", "production", base, url=store_url)
    assert code == 0
    code, _ = tether_json(
        tmp_path, "release", "export", base, str(tmp_path / "base"), url=store_url
    )
    assert code == 0

    other = tmp_path / "other"
    shutil.copytree(tmp_path / "base", other)
    settings = json.loads((other / "release.json").read_text("utf-8"))
    settings["domain"] = pack
    (other / "release.json").write_text(json.dumps(settings, indent=2), "utf-8")
    code, made = tether_json(tmp_path, "release", "create", "--from", str(other), url=store_url)
    assert code == 0, made
    candidate = made["release"]["id"]

    # the gate cannot judge it: nothing is stored that would hold the rollout back
    code, suite = tether_json(
        tmp_path, "eval", "suite", "--release", candidate, "--checks", "policy", url=store_url
    )
    assert code == 2 and suite["error"]["code"] == "RELEASE_SOURCE_INVALID", suite

    code, started = tether_json(
        tmp_path,
        "rollout",
        "start",
        candidate,
        "--guard",
        "resolution_rate >= baseline - 0.05",
        url=store_url,
    )
    assert code == 2, f"a rollout of a release this desk cannot build was started: {started}"
    assert started["error"]["code"] == "ROLLOUT_INVALID", started
    assert pack["name"] in started["error"]["message"] and base in started["error"]["message"]
    code, status = tether_json(tmp_path, "rollout", "status", url=store_url)
    assert code == 2 and status["error"]["code"] == "ROLLOUT_NOT_FOUND", status

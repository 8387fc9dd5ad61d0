"""A counterfactual replay re-checks recorded proposals under a candidate's agents, and "a run
it cannot re-check (..., an agent the candidate lacks, ...) counts under `errors` ..., never as
unchanged" (README, *Counterfactual replay*). A release whose `agents` list is empty was accepted
by `release create --from`, and a desk built from it quietly governed with the pack's own agents
instead: every run was reported unchanged under a release that has no agent at all. Such a
release is refused before it is stored, and one stored anyway (an older version let it through)
is never built into a desk with the pack's agents in its place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.release.clitools import tether_json
from tests.sdk.packs.library import LIBRARY
from tether.core.errors import ErrorCode, TetherError
from tether.release import Bundle
from tether.sdk.candidate import candidate_domain

from .helpers import bundle


def test_a_release_with_no_agents_is_refused_before_it_is_stored(
    tmp_path: Path, store_url: str
) -> None:
    code, made = tether_json(tmp_path, "release", "create", "--note", "baseline", url=store_url)
    assert code == 0, made
    base = made["release"]["id"]
    code, _ = tether_json(
        tmp_path, "release", "export", base, str(tmp_path / "base"), url=store_url
    )
    assert code == 0

    empty = tmp_path / "empty"
    shutil.copytree(tmp_path / "base", empty)
    settings = json.loads((empty / "release.json").read_text("utf-8"))
    settings["agents"] = []
    (empty / "release.json").write_text(json.dumps(settings, indent=2), "utf-8")
    shutil.rmtree(empty / "prompts")
    (empty / "prompts").mkdir()

    code, made = tether_json(tmp_path, "release", "create", "--from", str(empty), url=store_url)
    assert code == 2 and made["error"]["code"] == "RELEASE_SOURCE_INVALID", made
    assert "agent" in made["error"]["message"]
    code, listed = tether_json(tmp_path, "release", "list", url=store_url)
    assert code == 0 and [r["id"] for r in listed["releases"]] == [base], listed  # nothing stored


def test_a_stored_release_with_no_agents_is_not_governed_by_the_packs_agents(
    tmp_path: Path,
) -> None:
    content = {**bundle().content, "agents": []}
    stored = Bundle(content)  # as a row an older version stored holds it, unchecked
    with pytest.raises(TetherError) as caught:
        candidate_domain(LIBRARY, stored, tmp_path / "release")
    assert caught.value.code is ErrorCode.RELEASE_SOURCE_INVALID
    assert stored.id in caught.value.message

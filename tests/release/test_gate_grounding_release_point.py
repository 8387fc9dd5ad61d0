"""The gate's grounding check measures the verifier a release's runs would use: an agent's
`verifier_operating_point` is part of the release, and runs under it flag answers at that point."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from tests.runtime.edited_demo import tether
from tether.grounding.ragtruth import evaluate, load_dataset
from tether.sdk.gate import _grounding
from tether.sdk.loader import load_domain


def run_path_scores(point: float) -> dict[str, object]:
    """What the run-path verifier scores on the probes at an agent's operating point (the point
    `ClaimCheck` hands the verifier from `ctx.agent.verifier_operating_point`)."""
    domain = load_domain("retail")
    pack = domain.grounding
    verifier = pack.verifier(config=replace(pack.config, operating_point=point))
    report = evaluate(
        load_dataset(domain.grounding_probes),
        lambda e: verifier.verify_source(e.task, e.source, e.response, e.tool).flagged,
    )
    return report.overall.to_dict()


def test_the_gate_scores_grounding_at_the_release_agents_operating_point(
    store_url: str, tmp_path: Path
) -> None:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    env = {**keep, "TETHER_HOME": str(tmp_path / "home"), "TETHER_DATABASE_URL": store_url}
    made = tether(env, tmp_path, "release", "create", "--json")
    assert made.returncode == 0, made.stderr
    production = json.loads(made.stdout)["release"]["id"]
    assert tether(env, tmp_path, "release", "label", "production", production).returncode == 0
    first = tether(env, tmp_path, "eval", "suite", "--release", production, "--checks",
                   "grounding", "--json")  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr

    exported = tmp_path / "candidate"
    assert tether(env, tmp_path, "release", "export", production, str(exported)).returncode == 0
    settings = json.loads((exported / "release.json").read_text())
    for agent in settings["agents"]:
        agent["verifier_operating_point"] = 0.05  # flags most faithful answers
    (exported / "release.json").write_text(json.dumps(settings))
    made = tether(env, tmp_path, "release", "create", "--from", str(exported), "--json")
    assert made.returncode == 0, made.stderr
    candidate = json.loads(made.stdout)["release"]["id"]
    assert candidate != production

    gate = tether(env, tmp_path, "eval", "suite", "--release", candidate, "--checks",
                  "grounding", "--json")  # fmt: skip
    result = json.loads(gate.stdout)
    grounding = result["checks"]["grounding"]
    expected = run_path_scores(0.05)
    # what the candidate's runs would flag: most faithful probes
    assert grounding["false_alarm_rate"] == expected["false_alarm_rate"]
    assert grounding["f1"] == expected["f1"]
    # and that is a regression against production: the release does not pass
    assert result["passed"] is False
    assert gate.returncode == 1


def test_agents_at_different_points_are_each_scored_and_the_worst_decides() -> None:
    domain = load_domain("retail")
    agent = domain.agents[0]
    strict = replace(agent, name="strict", verifier_operating_point=0.05)
    two = replace(domain, agents=(agent, strict))
    found = _grounding(two)
    points = {p["operating_point"]: p for p in found["by_operating_point"]}
    assert set(points) == {None, 0.05}
    assert points[0.05]["agents"] == ["strict"] and points[None]["agents"] == [agent.name]
    assert found["operating_point"] == 0.05  # the worse of the two
    assert found["f1"] == run_path_scores(0.05)["f1"] < points[None]["f1"]

"""The rollouts page: before any rollout it says so; then it shows the running rollout (else the
latest) with both arms' KPIs, each guard's test and the reason, and the rollouts before it."""

from __future__ import annotations

import re

from tests.dashboard.conftest import Site, page_text
from tests.release.helpers import bundle
from tether.access.control import AccessControl
from tether.release import ReleaseStore
from tether.release.rollout import Rollouts
from tether.release.rollout_sim import Profile, simulate


def arm_cells(page: str, kpi: str) -> tuple[str, str]:
    row = re.search(rf"<code>{kpi}</code>.*?<td class=\"num\">(.*?)</td><td class=\"num\">(.*?)</td>",
                    page, flags=re.S)  # fmt: skip
    assert row is not None, kpi
    return row.group(1), row.group(2)


def test_the_page_shows_both_arms_the_guards_and_why(fresh_site: Site) -> None:
    with fresh_site.client("viewer") as client:
        assert "No rollout yet." in page_text(client.get("/rollouts"))
    engine = fresh_site.desk.store.engine
    audit = AccessControl.open(engine).audit
    releases = ReleaseStore(engine, audit)
    base, _ = releases.create(bundle(), "cli:ana")
    cand, _ = releases.create(bundle(instructions="Say <b>hi</b>."), "cli:ana")
    releases.move_label("production", base.id, "cli:ana")
    rollouts = Rollouts(releases, audit)
    guards = ["refused_by_verification <= baseline + 0.03", "p95_latency_s <= baseline * 1.25"]
    first = rollouts.start(cand.id, guards, "cli:ana", min_runs=100)
    ended = simulate(rollouts, first, Profile(), Profile(unsupported_rate=0.2), 100_000, 1)
    assert ended.state == "rolled_back"

    with fresh_site.client("viewer") as client:
        page = page_text(client.get("/rollouts"))
    arms = ended.status()["arms"]
    assert first.id in page and "rolled back" in page and ended.reason in page
    assert arm_cells(page, "n") == (str(arms["baseline"]["n"]), str(arms["candidate"]["n"]))
    assert arm_cells(page, "refused_by_verification") == (
        str(arms["baseline"]["refused_by_verification"]),
        str(arms["candidate"]["refused_by_verification"]),
    )
    assert re.search(r"<code>refused_by_verification <= baseline \+ 0.03</code></td>\s*<td>"
                     r"<span class=\"badge effect-deny\">failed", page)  # fmt: skip

    second = rollouts.start(cand.id, guards, "cli:bo", steps=(20, 100), min_runs=100)
    with fresh_site.client("approver") as client:
        page = page_text(client.get("/rollouts"))
    head, earlier = page.split("<h2>Earlier</h2>")
    assert second.id in head and "candidate now takes 20 % of traffic" in head
    assert head.count("undecided") == len(guards) and first.id not in head
    assert first.id in earlier and second.id in earlier and ended.reason in earlier

"""The per-claim verdicts of the `claims` answer check on the run and step pages: every claim
with its status, what decided it and the evidence field, escaped; older verdicts that kept only
the failing claims (and lack keys) still render."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.dashboard.conftest import page_text
from tests.server.conftest import open_desk, serve
from tether.core.errors import ErrorCode
from tether.core.types import Decision, DecisionKind, Reason, Run, RunStatus, Step, StepKind
from tether.server.app import create_app
from tether.server.dashboard_lineage import claim_table

SCRIPT_CLAIM = "<script>alert('claim')</script> ships for free"
CLAIMS: list[dict[str, Any]] = [
    {
        "claim": "Order #W2378156 was delivered on 2 May.",
        "span": [0, 39],
        "status": "supported",
        "reasons": ["the order record says delivered"],
        "evidence": [{"source": "record", "key": "status", "value": "delivered"}],
        "decided_by": "rules",
        "field": "order.status",
    },
    {
        "claim": "The refund reaches your card in 2 days.",
        "span": [40, 79],
        "status": "contradicted",
        "reasons": ["the refunds passage says 5 to 7 business days"],
        "evidence": [{"source": "kb", "start": 0, "end": 30, "text": "5 to 7 business days"}],
        "decided_by": "judge:minicheck",
        "field": "refund_window",
    },
    {
        "claim": "We price-match any store.",
        "span": [80, 105],
        "status": "unsupported",
        "reasons": ["no evidence mentions price matching"],
        "evidence": [],
        "decided_by": "rules",
        "field": None,
    },
    {
        "claim": SCRIPT_CLAIM,
        "span": [106, 150],
        "status": "uncertain",
        "reasons": ["the judge did not answer <b>in time</b>"],
        "evidence": [],
        "decided_by": "fallback",
        "field": "shipping<fee>",
    },
]
# what verdicts recorded before every claim was kept: the failing ones, some keys missing
FAILING: list[dict[str, Any]] = [
    {"claim": "Refunds take 2 days.", "status": "contradicted", "reasons": ["5 to 7 days"]},
    {"claim": "Exchanges are free."},
]


@dataclass
class ClaimSite:
    client: httpx.Client
    runs: dict[str, str]


def _store(desk: Any, run_id: str, facts: dict[str, Any]) -> None:
    now = time.time()
    run = Run(
        run_id,
        "retail-desk",
        "raj_sanchez_2970",
        RunStatus.RUNNING,
        now - 1,
        now - 1,
        {"messages": [{"role": "user", "content": "When does my refund arrive?"}]},
    )
    desk.store.create_run(run, {})
    verdicts = [
        {"check": "citations", "effect": "allow", "reasons": [], "facts": None},
        {
            "check": "claims",
            "effect": "deny",
            "reasons": [{"code": "CLAIM_CONTRADICTED", "message": "1 claim(s) contradict"}],
            "facts": facts,
        },
    ]
    guard = {"effect": "deny", "decided_by": "claims", "verdicts": verdicts}
    reason = Reason(ErrorCode.CLAIM_CONTRADICTED, "the answer contradicts its evidence")
    desk.store.append_steps(
        [
            Step(run_id, 1, StepKind.GUARD, "answer", now - 0.5, now - 0.4, guard),
            Step(run_id, 2, StepKind.DECISION, "refusal", now - 0.4, now - 0.3, {}),
        ],
        {},
        decision=Decision(DecisionKind.REFUSAL, "I can't answer that reliably.", reason=reason),
    )


@pytest.fixture(scope="module")
def claim_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClaimSite]:
    desk = open_desk(tmp_path_factory.mktemp("claims"))
    runs = {"every": "run_" + "c1" * 16, "failing": "run_" + "c2" * 16}
    _store(desk, runs["every"], {"claims": CLAIMS, "score": 0.4213, "operating_point": 0.5})
    _store(desk, runs["failing"], {"checked": 2, "failing": FAILING})
    app = create_app(desk)
    key, _ = app.state.operators.create("viewer", name="reader", actor="tests")
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield ClaimSite(client, runs)
    desk.store.close()


def claim_rows(raw: str) -> list[str]:
    """The rows of the page's per-claim table (raw HTML, entities kept)."""
    table = re.search(r'<table class="claims[^"]*">(.*?)</table>', raw, re.S)
    assert table is not None, raw[:2000]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)[1:]  # after the head


def cells(row: str) -> list[str]:
    """A row's cells as plain text."""
    found = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in found]


@pytest.mark.parametrize("path", ["/runs/{run}", "/runs/{run}/steps/1"])
def test_every_claim_shows_its_status_decider_and_field(claim_site: ClaimSite, path: str) -> None:
    response = claim_site.client.get(path.format(run=claim_site.runs["every"]))
    page = page_text(response)  # no <script> element anywhere in the raw HTML
    rows = [cells(r) for r in claim_rows(response.text)]
    assert rows == [
        [
            c["claim"],
            c["status"],
            c["decided_by"],
            c["field"] or "—",
            " ".join(c["reasons"]),
        ]
        for c in CLAIMS
    ]
    for c in CLAIMS:
        assert f'class="badge claim-{c["status"]}">{c["status"]}<' in response.text
    assert "score 0.42 · operating point 0.5" in page
    # recorded markup is text: the claim, its reason and its field arrive escaped
    assert "&lt;script&gt;alert(&#39;claim&#39;)&lt;/script&gt; ships for free" in response.text
    assert "&lt;b&gt;in time&lt;/b&gt;" in response.text
    assert "<code>shipping&lt;fee&gt;</code>" in response.text


def test_older_verdicts_show_their_failing_claims(claim_site: ClaimSite) -> None:
    response = claim_site.client.get(f"/runs/{claim_site.runs['failing']}")
    page = page_text(response)
    rows = [cells(r) for r in claim_rows(response.text)]
    assert rows == [
        ["Refunds take 2 days.", "contradicted", "—", "—", "5 to 7 days"],
        ["Exchanges are free.", "—", "—", "—", "—"],
    ]
    assert "failing claims only" in page
    assert "operating point" not in page  # not recorded, so not shown


def test_malformed_claim_records_become_blanks_not_errors() -> None:
    assert claim_table({"check": "claims", "facts": None}) is None
    assert claim_table({"check": "claims", "facts": {"checked": 0}}) is None
    table = claim_table(
        {
            "facts": {
                "claims": "not a list",  # unreadable: fall back to the failing claims
                "failing": ["a string", {"claim": "Ok.", "reasons": "one reason", "field": 3}],
                "score": True,
                "operating_point": "high",
            }
        }
    )
    assert table == {
        "every": False,
        "rows": [
            {
                "text": "Ok.",
                "status": "",
                "known": False,
                "decided_by": "",
                "field": "3",
                "reasons": [],
            }
        ],
        "score": None,
        "operating_point": None,
    }

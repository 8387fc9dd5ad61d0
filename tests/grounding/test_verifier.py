"""The run-path verifier: the desk's answer check and `tether eval grounding --domain retail`
reach the same verdicts, and the meaning checks tell near misses from faithful paraphrases of
a retail order and the retail knowledge base."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.grounding.common import context
from tether.cli.app import app
from tether.core.types import Effect, Evidence, Message, ModelTurn, TurnKind
from tether.domains.retail.pack import RETAIL
from tether.grounding.verifier import Verification
from tether.grounding.verify import ClaimCheck

KB_DIR = Path(__file__).resolve().parents[2] / "src" / "tether" / "domains" / "retail" / "kb"
REFUNDS = Evidence("kb:refunds#0", "kb://retail/refunds.md", (KB_DIR / "refunds.md").read_text())
RETURNS = Evidence("kb:returns#0", "kb://retail/returns.md", (KB_DIR / "returns.md").read_text())
ORDER: dict[str, Any] = {
    "order_id": "#W100",
    "status": "pending",
    "items": [{"name": "Desk Lamp", "price": 30.5}],
}
DELIVERED: dict[str, Any] = {"order_id": "#W200", "status": "delivered"}
QA_SOURCE = {
    "question": "How long does a refund take?",
    "passages": "passage 1:A refund to a credit card takes 5 to 7 business days. "
    "passage 2:A refund to a gift card is credited at once.",
}


def tool(record: dict[str, Any], n: int = 1) -> Evidence:
    return Evidence(f"tool:{n}", "tool:get_order_details", json.dumps(record))


def desk_flags(text: str, evidence: list[Evidence], said: str = "") -> bool:
    """What the desk's answer check does with the answer, the customer having last said
    `said`: deny (flagged) or allow."""
    check = ClaimCheck(RETAIL.grounding.verifier())
    ctx = replace(context(evidence), messages=(Message("user", said),) if said else ())
    verdict = check(ctx, ModelTurn(TurnKind.ANSWER, text=text))
    return verdict.effect is not Effect.ALLOW


def harness_flags(tmp: Path, task: str, source: Any, text: str) -> bool:
    """What `tether eval grounding --domain retail` does with the one response: labelled
    hallucinated, it is flagged exactly when the run's recall is 1."""
    tmp.mkdir(parents=True)
    item = {"response": text, "model": "m", "labels": [{"start": 0, "end": 1, "text": "x"}]}
    line = json.dumps({"source_id": "s1", "source": source, "responses": [item]})
    (tmp / f"{task}.jsonl").write_text(line + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "grounding", "--data", str(tmp), "--domain", "retail", "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["tasks"][task]["recall"] == 1.0


SHARED = [
    ("data2txt", "Order #W100 is pending, so it has not shipped yet.", False),
    ("data2txt", "The status of order #W100 is pending.", False),
    ("data2txt", "Order #W100 has been delivered.", True),
    ("data2txt", "Order #W100 was cancelled yesterday.", True),
    ("qa", "A refund to a credit card takes 5 to 7 business days.", False),
    ("qa", "A refund to a gift card takes 5 to 7 business days.", True),
    ("qa", "A refund to a credit card takes 24 hours.", True),
]


@pytest.mark.parametrize(("task", "text", "flagged"), SHARED)
def test_the_desk_and_the_harness_run_the_same_verifier(
    tmp_path: Path, task: str, text: str, flagged: bool
) -> None:
    if task == "qa":
        evidence = [
            Evidence(
                "passage 1", "kb://faq", "A refund to a credit card takes 5 to 7 business days."
            ),
            Evidence("passage 2", "kb://faq", "A refund to a gift card is credited at once."),
        ]
        source: Any = QA_SOURCE
    else:
        evidence = [tool(ORDER)]
        source = ORDER
    said = QA_SOURCE["question"] if task == "qa" else ""
    assert desk_flags(text, evidence, said) is flagged
    assert harness_flags(tmp_path / "data", task, source, text) is flagged


# the customer's words, read alike by both: what they name may be named back ("your
# Mastercard"); what they report someone promised is no support for saying it
ASKED = [
    (
        "I paid with my Mastercard. How long does a refund to it take?",
        "A refund to your Mastercard takes 5 to 7 business days.",
        False,
    ),
    (
        "I paid with my Mastercard. How long does a refund to it take?",
        "A refund to your Mastercard takes 24 hours.",
        True,
    ),
    (
        "Your agent promised me a $100 credit for the delay. When do I get it?",
        "You'll get the $100 credit for the delay within 5 to 7 business days.",
        True,
    ),
]


@pytest.mark.parametrize(("said", "text", "flagged"), ASKED)
def test_the_desk_and_the_harness_read_the_customers_words_alike(
    tmp_path: Path, said: str, text: str, flagged: bool
) -> None:
    evidence = [
        Evidence("passage 1", "kb://faq", "A refund to a credit card takes 5 to 7 business days."),
        Evidence("passage 2", "kb://faq", "A refund to a gift card is credited at once."),
    ]
    source = {**QA_SOURCE, "question": said}
    assert desk_flags(text, evidence, said) is flagged
    assert harness_flags(tmp_path / "data", "qa", source, text) is flagged


def verify(text: str, *evidence: Evidence) -> Verification:
    return RETAIL.grounding.verifier().verify_items(text, evidence)


def statuses(text: str, *evidence: Evidence) -> list[str]:
    return [c.status for c in verify(text, *evidence).claims]


@pytest.mark.parametrize(
    ("text", "record", "status"),
    [
        ("Order #W100 is not pending.", ORDER, "contradicted"),
        ("Your order is not pending.", ORDER, "contradicted"),
        ("Order #W100 hasn't shipped yet.", ORDER, "supported"),
        ("Order #W100 is still pending.", ORDER, "supported"),
        ("Order #W100 has been delivered.", ORDER, "contradicted"),
        ("Order #W100 was cancelled yesterday.", ORDER, "contradicted"),
        ("Order #W200 hasn't been delivered.", DELIVERED, "contradicted"),
        ("Order #W200 has been delivered.", DELIVERED, "supported"),
    ],
)
def test_a_stated_order_status_is_read_with_its_polarity(
    text: str, record: dict[str, Any], status: str
) -> None:
    result = verify(text, tool(record))
    (claim,) = result.claims
    assert claim.status == status
    assert claim.field == "tool:1:status"
    assert result.flagged is (status == "contradicted")


def test_a_gift_card_refund_said_to_take_days_is_contradicted_by_the_refund_page() -> None:
    result = verify("Gift card refunds take 5 to 7 business days.", REFUNDS, RETURNS)
    (claim,) = result.claims
    assert claim.status == "contradicted"
    assert claim.field == "kb:refunds#0"
    assert any("immediately" in r for r in claim.reasons)
    assert result.flagged


@pytest.mark.parametrize(
    "text",
    [
        "PayPal refunds take 5 to 7 business days.",
        "Credit card refunds take 5 to 7 business days to arrive.",
        "A refund to a gift card is immediate.",
        "Gift-card refunds arrive immediately.",
        "Items can be returned once the order is delivered.",
        "Delivered orders can be returned.",
        "Pending orders can be cancelled instead of returned.",
    ],
)
def test_faithful_paraphrases_of_the_knowledge_base_are_not_flagged(text: str) -> None:
    result = verify(text, REFUNDS, RETURNS)
    assert [c.status for c in result.claims] == ["supported"]
    assert not result.flagged


def test_a_return_rule_that_swaps_the_state_is_contradicted() -> None:
    result = verify("Only pending orders can be returned.", REFUNDS, RETURNS)
    assert [c.status for c in result.claims] == ["contradicted"]
    assert result.flagged


def test_each_claim_says_what_decided_it_and_where() -> None:
    result = verify(
        "Order #W100 has been delivered. PayPal refunds take 5 to 7 business days.",
        tool(ORDER),
        REFUNDS,
    )
    first, second = result.to_dict()["claims"]
    for claim in (first, second):
        assert {"status", "decided_by", "field", "reasons"} <= set(claim)
    assert (first["status"], first["decided_by"], first["field"]) == (
        "contradicted",
        "rules",
        "tool:1:status",
    )
    assert first["reasons"]
    assert (second["status"], second["decided_by"], second["field"]) == (
        "supported",
        "rules",
        "kb:refunds#0",
    )

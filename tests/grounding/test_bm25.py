"""BM25 retrieval over the retail knowledge base: relevance, ACL filtering, determinism."""

from __future__ import annotations

import random

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence
from tether.domains.retail.knowledge import load_packaged_kb
from tether.grounding.bm25 import MAX_QUERY_CHARS, Bm25Retriever, Retriever, stem
from tether.grounding.documents import Chunk, chunk_documents

CANARY = "CANARY-STAFF-7f3a9c"
PUBLIC = frozenset({"public"})
EVERYONE = frozenset({"public", "staff"})


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return chunk_documents(load_packaged_kb())


@pytest.fixture(scope="module")
def retriever(chunks: list[Chunk]) -> Bm25Retriever:
    return Bm25Retriever(chunks)


def _docs(results: list[Evidence]) -> list[str]:
    return [e.id.split(":", 1)[1].split("#", 1)[0] for e in results]


def _chunk(doc_id: str, text: str, acl: tuple[str, ...] = ("public",), index: int = 0) -> Chunk:
    return Chunk(doc_id, index, text, doc_id.title(), acl, f"kb://t/{doc_id}.md", "v1")


def test_it_is_a_retriever(retriever: Bm25Retriever) -> None:
    assert isinstance(retriever, Retriever)


# --- relevance ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how long does a refund to my credit card take", "refunds"),
        ("when will I get my money back on PayPal", "refunds"),
        ("can I cancel an order I already received", "cancellations"),
        ("what reasons are accepted to cancel my order", "cancellations"),
        ("I want to exchange my shoes for a different size", "exchanges"),
        ("send back items from a delivered order for a refund to my gift card", "returns"),
        ("change the shipping address of my pending order", "order-changes"),
        ("update my default address on my profile", "default-address"),
        ("I want to speak with a real person", "human-handoff"),
        ("how do you verify my identity, I only have my user id", "authentication"),
        ("can you look up my wife's orders too", "authentication"),
        ("what does the processed status mean", "order-status"),
        ("do I have to say yes before you change anything", "confirmation"),
    ],
)
def test_realistic_questions_rank_the_right_document_first(
    retriever: Bm25Retriever, query: str, expected: str
) -> None:
    results = retriever.search(query, 3, PUBLIC)
    assert _docs(results)[0] == expected


def test_cancelling_a_received_order_also_finds_returns(retriever: Bm25Retriever) -> None:
    docs = _docs(retriever.search("can I cancel an order I already received", 5, PUBLIC))
    assert "cancellations" in docs and "returns" in docs


def test_results_carry_lineage_positive_scores_and_order(
    retriever: Bm25Retriever, chunks: list[Chunk]
) -> None:
    by_id = {c.evidence_id: c for c in chunks}
    results = retriever.search("refund to a gift card after a return", 6, PUBLIC)
    assert 0 < len(results) <= 6
    scores = [e.score for e in results]
    assert all(s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    for evidence in results:
        chunk = by_id[evidence.id]
        assert evidence == chunk.to_evidence(evidence.score)
        assert evidence.source.startswith("kb://retail/")


def test_k_limits_the_results(retriever: Bm25Retriever) -> None:
    assert len(retriever.search("order", 2, PUBLIC)) == 2
    assert len(retriever.search("order", 100, PUBLIC)) > 2


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "the and of to", "?!", "a"])
def test_empty_or_contentless_queries_give_nothing(retriever: Bm25Retriever, query: str) -> None:
    assert retriever.search(query, 5, EVERYONE) == []


def test_non_positive_k_gives_nothing(retriever: Bm25Retriever) -> None:
    assert retriever.search("refund", 0, PUBLIC) == []
    assert retriever.search("refund", -3, PUBLIC) == []


def test_words_absent_from_the_kb_score_nothing(retriever: Bm25Retriever) -> None:
    assert retriever.search("zebra quantum saxophone", 5, EVERYONE) == []


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE orders; --",
        "1 OR 1=1 UNION SELECT * FROM users",
        "../../etc/passwd",
        "C:\\Windows\\system32\\config",
        "file:///etc/shadow %00 %s %n {0} ${HOME} $(rm -rf /)",
        "\x00\x01 refund \ufffd",
        "refund " * 5000,
    ],
)
def test_hostile_queries_are_harmless(retriever: Bm25Retriever, query: str) -> None:
    results = retriever.search(query, 5, PUBLIC)
    assert all(e.acl == ("public",) for e in results)
    # The retriever still answers normally afterwards.
    assert _docs(retriever.search("how long does a refund take", 1, PUBLIC)) == ["refunds"]


def test_overlong_query_is_cut_at_a_word(retriever: Bm25Retriever) -> None:
    filler = "zzzz " * (MAX_QUERY_CHARS // 5)
    # The useful word sits past the limit, so it must not be seen.
    assert retriever.search(filler + "refund", 5, PUBLIC) == []
    assert _docs(retriever.search("refund " + filler, 1, PUBLIC)) == ["refunds"]
    # A word cut in two by the limit is dropped, not searched as a fragment.
    cut = "x" * (MAX_QUERY_CHARS - 7) + " refundable"  # the limit leaves "refund"
    assert retriever.search(cut, 5, PUBLIC) == []
    padded = " " * (MAX_QUERY_CHARS + 10) + "refund"
    assert retriever.search(padded, 5, PUBLIC) == []


# --- ACL filtering -----------------------------------------------------------------------------


def _staff_probe_queries(chunks: list[Chunk]) -> list[str]:
    staff_text = "\n".join(c.text for c in chunks if "staff" in c.acl)
    lines = [line for line in staff_text.split("\n") if line.strip()]
    return [
        CANARY,
        CANARY.lower(),
        "canary staff 7f3a9c",
        "refund-review-t2 fraud-watch carrier-claims vip-desk",
        "internal escalation guide supervisor override register badge number",
        staff_text,
        *lines,
    ]


def test_staff_text_never_reaches_public_labels(
    retriever: Bm25Retriever, chunks: list[Chunk]
) -> None:
    for query in _staff_probe_queries(chunks):
        for evidence in retriever.search(query, 50, PUBLIC):
            assert "staff" not in evidence.acl
            assert not evidence.id.startswith("kb:staff-escalations#")
            assert CANARY not in evidence.text
            assert "refund-review-t2" not in evidence.text


def test_canary_query_returns_nothing_to_the_public(retriever: Bm25Retriever) -> None:
    assert retriever.search(CANARY, 10, PUBLIC) == []


def test_staff_labels_reach_the_staff_doc(retriever: Bm25Retriever) -> None:
    results = retriever.search(CANARY, 3, EVERYONE)
    assert results[0].id == "kb:staff-escalations#0"
    assert CANARY in results[0].text
    assert results[0].acl == ("staff",)
    only_staff = retriever.search("refund supervisor review queue", 10, {"staff"})
    assert only_staff and all(e.acl == ("staff",) for e in only_staff)


def test_unknown_or_empty_labels_see_nothing(retriever: Bm25Retriever) -> None:
    assert retriever.search("refund", 5, set()) == []
    assert retriever.search("refund", 5, {"partner", "admin"}) == []


def test_a_single_string_is_not_a_label_set(retriever: Bm25Retriever) -> None:
    with pytest.raises(TetherError) as caught:
        retriever.search("refund", 5, "public")
    assert caught.value.code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize(
    "query",
    [
        "how long does a refund to my credit card take",
        "refund supervisor review queue",
        "exchange delivered order gift card balance",
        "internal queue for fraud",
    ],
)
def test_restricted_chunks_do_not_influence_public_ranking(
    retriever: Bm25Retriever, chunks: list[Chunk], query: str
) -> None:
    # Public results must equal those of an index that never held the staff document:
    # same ids, same order, same scores.
    public_only = Bm25Retriever([c for c in chunks if "public" in c.acl])
    assert retriever.search(query, 20, PUBLIC) == public_only.search(query, 20, PUBLIC)


def test_label_combinations_are_cached_and_stay_correct(chunks: list[Chunk]) -> None:
    small = Bm25Retriever(chunks, max_views=1)
    for _ in range(3):
        for labels in (PUBLIC, EVERYONE, {"staff"}, {"staff", "other"}):
            results = small.search("refund review", 10, labels)
            assert results and all(set(e.acl) & set(labels) for e in results)


# --- determinism -------------------------------------------------------------------------------


def test_ties_are_broken_by_evidence_id() -> None:
    text = "Gift cards are refunded at once."
    shuffled = [_chunk(d, text) for d in ("delta", "alpha", "charlie", "bravo")]
    results = Bm25Retriever(shuffled).search("gift card refund", 10, PUBLIC)
    assert [e.id for e in results] == ["kb:alpha#0", "kb:bravo#0", "kb:charlie#0", "kb:delta#0"]
    assert len({e.score for e in results}) == 1


def test_results_do_not_depend_on_chunk_order_or_repetition(chunks: list[Chunk]) -> None:
    shuffled = list(chunks)
    random.Random(7).shuffle(shuffled)
    first, second = Bm25Retriever(chunks), Bm25Retriever(shuffled)
    for query in ("refund credit card", "cancel pending order reason", "exchange size"):
        expected = first.search(query, 10, EVERYONE)
        assert second.search(query, 10, EVERYONE) == expected
        assert first.search(query, 10, EVERYONE) == expected


def test_duplicate_evidence_ids_are_rejected() -> None:
    with pytest.raises(TetherError) as caught:
        Bm25Retriever([_chunk("a", "one"), _chunk("a", "two")])
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_an_empty_corpus_answers_nothing() -> None:
    assert Bm25Retriever([]).search("refund", 5, PUBLIC) == []


def test_building_and_searching_print_nothing(
    chunks: list[Chunk], capsys: pytest.CaptureFixture[str]
) -> None:
    Bm25Retriever(chunks).search("refund", 3, EVERYONE)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_from_documents_matches_chunking_by_hand(chunks: list[Chunk]) -> None:
    built = Bm25Retriever.from_documents(load_packaged_kb())
    assert built.chunks == tuple(chunks)


# --- stemming ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forms",
    [
        ("refund", "refunds", "refunded"),
        ("cancel", "cancelled", "cancelling", "cancellation", "cancels"),
        ("exchange", "exchanges", "exchanged", "exchanging"),
        ("deliver", "delivered", "delivery", "deliveries"),
        ("modify", "modified", "modifying", "modification"),
        ("authenticate", "authenticated", "authentication"),
        ("verify", "verified", "verification"),
        ("pay", "payment", "payments"),
        ("address", "addresses"),
    ],
)
def test_stem_conflates_word_forms(forms: tuple[str, ...]) -> None:
    assert len({stem(f) for f in forms}) == 1


def test_stem_keeps_distinct_words_apart() -> None:
    assert len({stem(w) for w in ("return", "refund", "order", "address", "status")}) == 5
    assert stem("7f3a9c") == "7f3a9c"

"""Loading Markdown documents with front matter, and chunking them with lineage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.knowledge import load_packaged_kb
from tether.grounding.documents import (
    Document,
    chunk_document,
    chunk_documents,
    load_markdown_dir,
    parse_markdown,
)

CANARY = "CANARY-STAFF-7f3a9c"

GOOD = """---
id: shipping
title: Shipping times
acl: [public, partner, public]
---
# Shipping times

Orders ship within two days.

## Overseas

Overseas parcels take longer.
"""


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _doc(body: str, doc_id: str = "d", title: str = "Doc", acl: str = "[public]") -> Document:
    raw = f"---\nid: {doc_id}\ntitle: {title}\nacl: {acl}\n---\n{body}"
    return parse_markdown(raw.encode(), f"{doc_id}.md", f"kb://test/{doc_id}.md")


def _body_words(chunk_text: str) -> list[str]:
    # Drop the heading-context line that every chunk starts with.
    return chunk_text.split("\n\n", 1)[1].split()


# --- the packaged knowledge base ---------------------------------------------------------------


def test_packaged_kb_has_public_docs_and_one_staff_doc() -> None:
    docs = load_packaged_kb()
    public = [d for d in docs if d.acl == ("public",)]
    staff = [d for d in docs if "staff" in d.acl]
    assert 8 <= len(public) <= 10
    assert [d.id for d in staff] == ["staff-escalations"]
    assert staff[0].acl == ("staff",)
    assert len(public) + len(staff) == len(docs)
    assert len({d.id for d in docs}) == len(docs)
    for doc in docs:
        assert doc.source == f"kb://retail/{doc.source.rsplit('/', 1)[1]}"
        assert doc.source.endswith(".md")
        assert re.fullmatch(r"[0-9a-f]{64}", doc.version)
        assert doc.title and doc.text


def test_canary_lives_only_in_the_staff_doc() -> None:
    holders = [d.id for d in load_packaged_kb() if CANARY in d.text]
    assert holders == ["staff-escalations"]


def test_packaged_kb_covers_the_policy_topics() -> None:
    text = {d.id: " ".join(d.text.lower().split()) for d in load_packaged_kb()}
    assert "zip code" in text["authentication"] and "user id" in text["authentication"]
    assert "single customer" in text["authentication"]
    assert '"yes"' in text["confirmation"]
    assert "no longer needed" in text["cancellations"] and "by mistake" in text["cancellations"]
    assert "only once per order" in text["order-changes"]
    assert "gift card" in text["returns"] and "original" in text["returns"]
    assert "same product" in text["exchanges"]
    assert "immediately" in text["refunds"] and "5 to 7 business days" in text["refunds"]
    assert "default address" in text["default-address"]
    assert "ask to speak with a person" in text["human-handoff"]


# --- front matter ------------------------------------------------------------------------------


def test_load_markdown_dir_parses_front_matter(tmp_path: Path) -> None:
    path = _write(tmp_path, "shipping.md", GOOD)
    _write(tmp_path, "notes.txt", "not markdown, ignored")
    [doc] = load_markdown_dir(tmp_path)
    assert doc.id == "shipping"
    assert doc.title == "Shipping times"
    assert doc.acl == ("partner", "public")  # deduplicated and sorted
    assert doc.source == str(path)
    assert doc.text.startswith("# Shipping times\n\nOrders ship within two days.")
    assert "acl:" not in doc.text


def test_source_prefix_names_the_source(tmp_path: Path) -> None:
    _write(tmp_path, "shipping.md", GOOD)
    [doc] = load_markdown_dir(tmp_path, source_prefix="kb://acme/")
    assert doc.source == "kb://acme/shipping.md"


def test_documents_come_back_sorted_by_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "b.md", GOOD.replace("id: shipping", "id: second"))
    _write(tmp_path, "a.md", GOOD.replace("id: shipping", "id: first"))
    assert [d.id for d in load_markdown_dir(tmp_path)] == ["first", "second"]


# case -> (file content, a phrase the error message must contain)
BAD_FILES: dict[str, tuple[str | bytes, str]] = {
    "no_front_matter": ("# Title\n\nJust a body.\n", "missing front matter"),
    "unclosed": ("---\nid: x\ntitle: X\nacl: [public]\n# Title\n\nbody\n", "missing front"),
    "bad_yaml": ("---\nid: [unclosed\ntitle: X\n---\nbody\n", "not valid YAML"),
    "not_a_mapping": ("---\n- a\n- b\n---\nbody\n", "YAML mapping"),
    "empty_front_matter": ("---\n---\nbody\n", "YAML mapping"),
    "missing_id": ("---\ntitle: X\nacl: [public]\n---\nbody\n", "'id'"),
    "id_not_a_slug": ("---\nid: Not A Slug\ntitle: X\nacl: [public]\n---\nbody\n", "'id'"),
    "id_is_path": ("---\nid: ../etc/passwd\ntitle: X\nacl: [public]\n---\nbody\n", "'id'"),
    "missing_title": ("---\nid: x\nacl: [public]\n---\nbody\n", "'title'"),
    "blank_title": ("---\nid: x\ntitle: '  '\nacl: [public]\n---\nbody\n", "'title'"),
    "missing_acl": ("---\nid: x\ntitle: X\n---\nbody\n", "'acl'"),
    "acl_is_string": ("---\nid: x\ntitle: X\nacl: public\n---\nbody\n", "'acl'"),
    "acl_empty": ("---\nid: x\ntitle: X\nacl: []\n---\nbody\n", "'acl'"),
    "acl_has_number": ("---\nid: x\ntitle: X\nacl: [public, 3]\n---\nbody\n", "'acl'"),
    "empty_body": ("---\nid: x\ntitle: X\nacl: [public]\n---\n  \n\n \t\n", "body is empty"),
    "not_utf8": (b"---\nid: x\ntitle: X\nacl: [public]\n---\ncaf\xe9 au lait\n", "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_config_invalid_naming_the_file(tmp_path: Path, case: str) -> None:
    content, phrase = BAD_FILES[case]
    _write(tmp_path, "good.md", GOOD)
    bad = _write(tmp_path, f"{case}.md", content)
    with pytest.raises(TetherError) as caught:
        load_markdown_dir(tmp_path)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert str(bad) in caught.value.message
    assert phrase in caught.value.message
    assert caught.value.details["file"] == str(bad)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", GOOD)
    _write(tmp_path, "b.md", GOOD)
    with pytest.raises(TetherError) as caught:
        load_markdown_dir(tmp_path)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert "b.md" in caught.value.message and "'shipping'" in caught.value.message


def test_missing_directory_is_config_invalid(tmp_path: Path) -> None:
    with pytest.raises(TetherError) as caught:
        load_markdown_dir(tmp_path / "absent")
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_bom_and_crlf_are_accepted() -> None:
    raw = ("\ufeff" + GOOD).replace("\n", "\r\n").encode("utf-8")
    doc = parse_markdown(raw, "shipping.md", "s")
    assert doc.id == "shipping"
    assert "\r" not in doc.text


# --- versions ----------------------------------------------------------------------------------


def test_version_ignores_formatting_noise() -> None:
    plain = parse_markdown(GOOD.encode(), "a.md", "a")
    noisy_text = GOOD.replace("two days.", "two days.   ").replace("\n", "\r\n") + "\n\n\n"
    noisy = parse_markdown(noisy_text.encode(), "b.md", "b")
    assert noisy.text == plain.text
    assert noisy.version == plain.version


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("two days", "three days"),  # body
        ("title: Shipping times", "title: Delivery times"),  # title
        ("acl: [public, partner, public]", "acl: [public]"),  # audience
        ("id: shipping", "id: shipping-2"),  # identity
    ],
)
def test_version_changes_when_content_changes(old: str, new: str) -> None:
    before = parse_markdown(GOOD.encode(), "a.md", "a")
    after = parse_markdown(GOOD.replace(old, new).encode(), "a.md", "a")
    assert after.version != before.version


def test_chunk_versions_change_iff_their_document_changes(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", GOOD.replace("id: shipping", "id: alpha"))
    _write(tmp_path, "b.md", GOOD.replace("id: shipping", "id: beta"))
    before = {c.evidence_id: c.version for c in chunk_documents(load_markdown_dir(tmp_path))}
    again = {c.evidence_id: c.version for c in chunk_documents(load_markdown_dir(tmp_path))}
    assert again == before
    _write(tmp_path, "b.md", GOOD.replace("id: shipping", "id: beta").replace("two", "five"))
    after = {c.evidence_id: c.version for c in chunk_documents(load_markdown_dir(tmp_path))}
    assert after.keys() == before.keys()
    for evidence_id, version in after.items():
        changed = evidence_id.startswith("kb:beta#")
        assert (version != before[evidence_id]) is changed


# --- chunking ----------------------------------------------------------------------------------


def test_chunks_carry_lineage_and_heading_context() -> None:
    doc = parse_markdown(GOOD.encode(), "shipping.md", "kb://test/shipping.md")
    chunks = chunk_document(doc)
    assert [c.evidence_id for c in chunks] == ["kb:shipping#0", "kb:shipping#1"]
    assert [c.index for c in chunks] == [0, 1]
    assert [c.heading for c in chunks] == ["Shipping times", "Shipping times > Overseas"]
    assert chunks[1].text == "Shipping times > Overseas\n\nOverseas parcels take longer."
    for chunk in chunks:
        assert chunk.doc_id == "shipping"
        assert chunk.title == "Shipping times"
        assert chunk.acl == ("partner", "public")
        assert chunk.source == "kb://test/shipping.md"
        assert chunk.version == doc.version


def test_to_evidence_keeps_full_lineage() -> None:
    doc = parse_markdown(GOOD.encode(), "shipping.md", "kb://test/shipping.md")
    chunk = chunk_document(doc)[1]
    evidence = chunk.to_evidence(2.5)
    assert evidence.id == "kb:shipping#1"
    assert evidence.source == "kb://test/shipping.md"
    assert evidence.version == doc.version
    assert evidence.chunk == 1
    assert evidence.acl == ("partner", "public")
    assert evidence.title == "Shipping times"
    assert evidence.text == chunk.text
    assert evidence.score == 2.5


def test_nested_headings_build_a_path_and_reset_by_level() -> None:
    body = "# Doc\n\nintro\n\n## A\n\na text\n\n### A1\n\na1 text\n\n## B\n\nb text\n"
    headings = [c.heading for c in chunk_document(_doc(body))]
    assert headings == ["Doc", "Doc > A", "Doc > A > A1", "Doc > B"]


def test_title_leads_when_the_body_has_no_top_heading() -> None:
    [chunk] = chunk_document(_doc("## Section\n\nsome text\n", title="Guide"))
    assert chunk.text == "Guide > Section\n\nsome text"


def test_headings_inside_code_fences_are_text() -> None:
    body = "# Doc\n\n```\n# not a heading\n\nstill code\n```\n"
    [chunk] = chunk_document(_doc(body))
    assert chunk.heading == "Doc"
    assert "# not a heading\n\nstill code" in chunk.text


def test_long_sections_split_on_words_within_max_chars() -> None:
    words = [f"word{i:03d}" for i in range(300)]
    paragraphs = [" ".join(words[i : i + 30]) for i in range(0, 300, 30)]
    body = "# Long\n\n" + "\n\n".join(paragraphs) + "\n\n## Tail\n\nshort end\n"
    chunks = chunk_document(_doc(body, title="Long"), max_chars=150)
    assert len(chunks) > 10
    assert all(len(c.text) <= 150 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # No word is cut: the chunks' words, in order, are exactly the document's words.
    assert [w for c in chunks for w in _body_words(c.text)] == [*words, "short", "end"]
    assert chunks[-1].heading == "Long > Tail"


def test_short_paragraphs_of_one_section_share_a_chunk() -> None:
    body = "# S\n\none.\n\ntwo.\n\nthree.\n"
    [chunk] = chunk_document(_doc(body, title="S"))
    assert chunk.text == "S\n\none.\n\ntwo.\n\nthree."


def test_a_word_longer_than_the_budget_stays_whole() -> None:
    giant = "x" * 300
    chunks = chunk_document(_doc(f"# T\n\nbefore {giant} after\n", title="T"), max_chars=100)
    assert [_body_words(c.text) for c in chunks] == [["before"], [giant], ["after"]]


def test_packaged_chunks_respect_the_default_size() -> None:
    chunks = chunk_documents(load_packaged_kb())
    assert all(len(c.text) <= 700 for c in chunks)
    assert len({c.evidence_id for c in chunks}) == len(chunks)


def test_tiny_max_chars_is_rejected() -> None:
    with pytest.raises(TetherError) as caught:
        chunk_document(_doc("text"), max_chars=10)
    assert caught.value.code is ErrorCode.CONFIG_INVALID

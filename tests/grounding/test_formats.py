"""Reading source files: safe decoding, and Markdown, text, HTML, JSON and CSV as documents."""

from __future__ import annotations

import codecs

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.documents import Document, chunk_document
from tether.grounding.formats import SourceFile, decode, read_document, slug


def read(name: str, raw: bytes, acl: tuple[str, ...] = ("public",), **kw: str) -> Document:
    return read_document(SourceFile(f"file:///docs/{name}", name, raw), acl, **kw)[0]


def code_of(name: str, raw: bytes, **kw: str) -> ErrorCode:
    with pytest.raises(TetherError) as caught:
        read_document(SourceFile(f"file:///docs/{name}", name, raw), ("public",), **kw)
    assert caught.value.details["file"] == name
    assert caught.value.message.startswith(name)
    return caught.value.code


def test_utf8_and_byte_order_marks_decode() -> None:
    assert decode("café".encode(), "a.txt") == "café"
    assert decode(codecs.BOM_UTF8 + "café".encode(), "a.txt") == "café"
    assert decode("café ok".encode("utf-16"), "a.txt") == "café ok"  # has a BOM, NULs allowed


def test_binary_content_is_refused_whatever_the_extension() -> None:
    assert code_of("photo.md", b"\x89PNG\r\n\x1a\nrest") is ErrorCode.DOCUMENT_BINARY
    assert code_of("doc.txt", b"%PDF-1.7 ...") is ErrorCode.DOCUMENT_BINARY
    assert code_of("data.json", b'{"a": "b\x00c"}') is ErrorCode.DOCUMENT_BINARY


def test_invalid_bytes_name_the_offset_and_a_declared_encoding_reads_them() -> None:
    raw = "Prix: 20 €, café".encode("cp1252")
    with pytest.raises(TetherError) as caught:
        decode(raw, "prices.txt")
    assert caught.value.code is ErrorCode.DOCUMENT_ENCODING
    assert caught.value.details["byte"] == raw.index(b"\x80")
    assert decode(raw, "prices.txt", "cp1252") == "Prix: 20 €, café"
    with pytest.raises(TetherError) as unknown:
        decode(b"x", "a.txt", "no-such-codec")
    assert unknown.value.code is ErrorCode.CONFIG_INVALID


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("empty.txt", b""),
        ("blank.md", b"  \n\n\t\n"),
        ("only-meta.md", b"---\ntitle: T\n---\n\n"),
        ("scripts.html", b"<html><head><title>T</title></head><body><script>x()</script></body>"),
        ("header.csv", b"a,b\n"),
        ("null.json", b"null"),
    ],
)
def test_documents_without_text_are_empty(name: str, raw: bytes) -> None:
    assert code_of(name, raw) is ErrorCode.DOCUMENT_EMPTY


@pytest.mark.parametrize(
    ("name", "raw", "where"),
    [
        ("bad.json", b'{"a": 1,\n "b": }', "line 2"),
        ("ragged.csv", b"id,name\n1,Lamp\n2,Desk,extra\n", "row 3"),
        ("meta.md", b"---\nid: [unclosed\n---\nbody\n", "front matter"),
        ("meta-list.md", b"---\n- a\n---\nbody\n", "mapping"),
        ("labels.md", b"---\nacl: ['has space']\n---\nbody\n", "ACL labels"),
        ("image.png", b"plain", "unsupported"),
    ],
)
def test_malformed_documents_say_where(name: str, raw: bytes, where: str) -> None:
    with pytest.raises(TetherError) as caught:
        read_document(SourceFile(f"file:///d/{name}", name, raw), ("public",))
    assert caught.value.code is ErrorCode.DOCUMENT_MALFORMED
    assert where in caught.value.message


def test_markdown_front_matter_sets_id_title_and_acl() -> None:
    doc = read(
        "guide.md", b"---\nid: refunds\ntitle: Refund rules\nacl: [staff]\n---\n# X\n\nBody."
    )
    assert (doc.id, doc.title, doc.acl) == ("refunds", "Refund rules", ("staff",))
    plain = read("guides/Refund Policy.md", b"# Refunds\n\nBody text.")
    assert plain.id == "guides-refund-policy"
    assert plain.title == "Refunds" and plain.acl == ("public",)


def test_version_changes_with_text_title_or_acl_only() -> None:
    base = read("a.md", b"# A\n\nSame body.")
    assert read("a.md", b"# A\r\n\r\nSame body.\r\n").version == base.version
    assert read("a.md", b"# A\n\nOther body.").version != base.version
    assert read("a.md", b"# A\n\nSame body.", ("staff",)).version != base.version


def test_html_keeps_visible_text_headings_and_list_items() -> None:
    raw = (
        b"<html><head><title>Shipping &amp; returns</title><style>p{color:red}</style></head>"
        b"<body><nav>Home</nav><h1>Returns</h1><p>Send items back within <b>30 days</b>.</p>"
        b"<ul><li>Unused</li><li>In the box</li></ul><script>track()</script>"
        b"<h2>Refunds</h2><p>Paid in 5&ndash;7 days.</p></body></html>"
    )
    doc = read("returns.html", raw)
    assert doc.title == "Shipping & returns"
    text = doc.text
    assert "track()" not in text and "color:red" not in text
    assert "# Returns" in text and "## Refunds" in text
    assert "Send items back within 30 days." in text and "- Unused" in text
    chunks = chunk_document(doc)
    assert any(c.heading.endswith("Refunds") and "5\u20137 days" in c.text for c in chunks)


def test_json_records_and_documents() -> None:
    records = read(
        "products.json", b'[{"name": "Lamp", "price": 20}, {"name": "Desk", "tags": ["oak"]}]'
    )
    assert records.title == "products.json"
    chunks = chunk_document(records, max_chars=80)
    assert [c.heading for c in chunks] == ["products.json > Lamp", "products.json > Desk"]
    assert "price: 20" in chunks[0].text and "tags.0: oak" in chunks[1].text
    article = read("note.json", b'{"title": "Note", "body": "The body text.", "acl": ["staff"]}')
    assert (article.title, article.text, article.acl) == ("Note", "The body text.", ("staff",))


def test_csv_rows_become_sections_named_by_their_name_column() -> None:
    doc = read("catalog.csv", b"sku;name;price\nA1;Lamp;20\nB2;Desk;100\n")
    text = doc.text
    assert "## Lamp" in text and "## Desk" in text and "price: 100" in text


def test_slug_is_a_path_without_extension() -> None:
    assert slug("Guides/Refund Policy (v2).md") == "guides-refund-policy-v2"
    assert slug("...") == "document"

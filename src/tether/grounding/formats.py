"""Source files as documents: decoding bytes safely, and reading Markdown, text, HTML, JSON and
CSV into the `Document` the chunker takes.

Every way a file can be unusable has its own code, and the message names the file: binary
content or a NUL character anywhere in the decoded text, escapes included (DOCUMENT_BINARY),
bytes invalid in the encoding or an escape that is no character (DOCUMENT_ENCODING), no text
(DOCUMENT_EMPTY), a body that does not parse as its format, nests too deep to read, or an id
longer than the store keeps (DOCUMENT_MALFORMED).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

import yaml

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.documents import Document, content_version, normalise_text
from tether.grounding.facts import flatten

MEDIA_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".csv": "text/csv",
}

# Leading bytes of common binary formats that can hide behind a text extension.
_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"\x7fELF",
    b"MZ",
    b"BZh",
    b"\xfd7zXZ",
    b"SQLite format 3",
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\n")
# closed by '---' or by YAML's document end marker '...'
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SLUG = re.compile(r"[^a-z0-9]+")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._@/-]*$")
MAX_ID_CHARS = 256  # the store's document id column


@dataclass(frozen=True)
class SourceFile:
    """The bytes of one file, where they came from, and the name used in messages and ids."""

    uri: str  # e.g. file:///srv/docs/refunds.md
    name: str  # the path below the ingested root, with '/' separators
    raw: bytes


def problem(code: ErrorCode, name: str, message: str, **details: Any) -> TetherError:
    """A document error naming the file."""
    return TetherError(code, f"{name}: {message}", {"file": name, **details})


def media_type(name: str) -> str | None:
    """The media type tether reads a file as, from its extension; None if unsupported."""
    return MEDIA_TYPES.get(PurePosixPath(name).suffix.lower())


def check_labels(labels: Any, name: str) -> tuple[str, ...]:
    """ACL labels as a sorted tuple; DOCUMENT_MALFORMED (naming `name`) for anything else,
    an empty list included: an ACL naming no label could never be read by anyone."""
    if isinstance(labels, str):
        labels = [labels]
    if isinstance(labels, list | tuple) and not labels:
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED,
            name,
            "its ACL names no label, so no one could ever read it; name at least one",
        )
    if not isinstance(labels, list | tuple) or not all(
        isinstance(x, str) and _LABEL.match(x.strip()) for x in labels
    ):
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED,
            name,
            "ACL labels must be words of letters, digits and : . _ @ / -",
        )
    return tuple(sorted({x.strip() for x in labels}))


def decode(raw: bytes, name: str, encoding: str | None = None) -> str:
    """The text of a file: binary content and invalid bytes are errors, never guessed at.

    A byte-order mark decides the encoding; otherwise `encoding` (default UTF-8) must decode
    every byte. A NUL byte (outside UTF-16/32) or a known binary signature means binary.
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return _decode(raw, codec, name)
    if raw.startswith(_MAGIC) or b"\x00" in raw[:8192]:
        raise problem(ErrorCode.DOCUMENT_BINARY, name, "binary content, not text")
    return _decode(raw, encoding or "utf-8", name)


def check_text(value: str, name: str) -> str:
    """`value` unchanged if a store can hold it: a NUL character is DOCUMENT_BINARY, a lone
    surrogate (which no encoding can write) DOCUMENT_ENCODING."""
    if "\x00" in value:
        raise problem(ErrorCode.DOCUMENT_BINARY, name, "binary content, not text (a NUL character)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise problem(
            ErrorCode.DOCUMENT_ENCODING, name, f"holds a lone surrogate at character {exc.start}"
        ) from None
    return value


def _decode(raw: bytes, codec: str, name: str) -> str:
    try:
        return check_text(raw.decode(codec), name)
    except LookupError:
        raise TetherError(ErrorCode.CONFIG_INVALID, f"unknown text encoding {codec!r}") from None
    except UnicodeDecodeError as exc:
        raise problem(
            ErrorCode.DOCUMENT_ENCODING,
            name,
            f"not valid {exc.encoding} at byte {exc.start} (pass the file's encoding)",
            byte=exc.start,
        ) from None


def slug(name: str) -> str:
    """A document id from a path: lower case, runs of other characters as '-'."""
    stem = str(PurePosixPath(name).with_suffix("")) if PurePosixPath(name).suffix else name
    return _SLUG.sub("-", stem.lower()).strip("-")[:200] or "document"


def read_document(
    file: SourceFile,
    acl: tuple[str, ...],
    *,
    doc_id: str | None = None,
    encoding: str | None = None,
) -> tuple[Document, str]:
    """The `Document` a file holds, and its media type.

    Markdown may carry YAML front matter (`id`, `title`, `acl`); its labels then replace `acl`.
    The title is the front matter's, else the first heading or HTML title, else the file name.
    """
    kind = media_type(file.name)
    if kind is None:
        raise problem(ErrorCode.DOCUMENT_MALFORMED, file.name, "unsupported file type")
    text = decode(file.raw, file.name, encoding).replace("\r\n", "\n").replace("\r", "\n")
    reader = _READERS[kind]
    try:
        meta, body = reader(text, file.name)
    except RecursionError:  # JSON or YAML nested past what a parser can descend
        raise problem(ErrorCode.DOCUMENT_MALFORMED, file.name, "nested too deep to read") from None
    # what a reader unescaped (JSON "\u0000", YAML "\0", "\ud800") is checked as text again
    body = check_text(body, file.name)
    if not body:
        raise problem(ErrorCode.DOCUMENT_EMPTY, file.name, "no text to index")
    ident = check_text(str(meta.get("id") or doc_id or slug(file.name)), file.name)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", ident):
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED, file.name, f"document id {ident[:80]!r} is not a slug"
        )
    if len(ident) > MAX_ID_CHARS:
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED,
            file.name,
            f"document id is {len(ident)} characters; at most {MAX_ID_CHARS} are kept",
        )
    # a declared acl is checked whatever it holds: an empty or null one never falls back to `acl`
    labels = check_labels(meta["acl"], file.name) if "acl" in meta else acl
    title = str(meta.get("title") or _first_heading(body) or file.name)
    title = " ".join(check_text(title, file.name).split())[:500]
    version = content_version(ident, title, labels, body)
    return Document(ident, title, body, labels, file.uri, version), kind


def _first_heading(body: str) -> str | None:
    found = _HEADING.search(body)
    return found.group(1) if found else None


def _markdown(text: str, name: str) -> tuple[dict[str, Any], str]:
    text = text.removeprefix("\ufeff")
    match = _FRONT_MATTER.match(text)
    if match is None and _FRONT_MATTER_OPEN.match(text):
        # read as body text, its acl would be lost and the document take the whole ceiling
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED,
            name,
            "front matter opened with '---' is never closed (by '---' or '...')",
        )
    if match is None:
        return {}, normalise_text(text)
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED, name, f"front matter is not YAML ({type(exc).__name__})"
        ) from None
    if not isinstance(meta, dict):
        raise problem(ErrorCode.DOCUMENT_MALFORMED, name, "front matter must be a mapping")
    return meta, normalise_text(text[match.end() :])


def _plain(text: str, _name: str) -> tuple[dict[str, Any], str]:
    return {}, normalise_text(text.removeprefix("\ufeff"))


class _HtmlText(HTMLParser):
    """Visible text of an HTML page, with headings as Markdown headings and blocks as lines."""

    _SKIP = frozenset(("script", "style", "noscript", "template", "svg"))
    # what a head may hold; anything else (the body's start tag, body content) ends the head,
    # whose end tag HTML lets a page leave out
    _HEAD = frozenset(
        ("title", "meta", "link", "style", "script", "base", "noscript", "template", "head")
    )
    _BLOCK = frozenset(
        (
            *("p", "div", "section", "article", "main", "aside", "header", "footer", "nav"),
            *("ul", "ol", "li", "tr", "table", "br", "hr", "pre", "blockquote", "dl", "dt"),
            *("dd", "figure", "figcaption", "form", "fieldset", "address"),
        )
    )

    # elements with no content, whose start tag is never matched by an end tag
    _VOID = frozenset(
        ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source")
    )
    _HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._pre = 0
        self._hidden: tuple[str, int] | None = None  # the hidden element's tag, its nesting
        self._in_head = False

    def _hides(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """Whether an element is never shown to a reader: `hidden`, or a style hiding it."""
        if tag in self._VOID:
            return False
        found = dict(attrs)
        return "hidden" in found or bool(self._HIDING_STYLE.search(found.get("style") or ""))

    def _hidden_tag(self, tag: str, start: bool) -> bool:
        """Track a hidden element's extent; True while inside one (its own tags included)."""
        if self._hidden is None:
            return False
        name, depth = self._hidden
        if tag == name:
            depth += 1 if start else -1
        self._hidden = (name, depth) if depth > 0 else None
        return True

    def _flush(self, blank: bool = False) -> None:
        line = "".join(self.current)
        line = line if self._pre else " ".join(line.split())
        if line.strip():
            self.lines.append(line)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        elif tag not in self._HEAD:
            self._in_head = False
        if self._hidden_tag(tag, start=True):
            return
        if self._hides(tag, attrs):
            self._hidden = (tag, 1)  # text a browser never shows is not the page's content
            return
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush(blank=True)
            self.current.append("#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self._flush(blank=tag in ("p", "table", "ul", "ol", "pre", "blockquote"))
            if tag == "li":
                self.current.append("- ")
            self._pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        if self._hidden_tag(tag, start=False):
            return
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCK:
            self._flush(blank=tag not in ("li", "br", "tr", "dt", "dd"))
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden is not None:
            return
        if self._in_title:
            self.title += data
        elif not self._skip and (data.strip() or not self._in_head):
            self._in_head = False  # text outside a head's elements is the body's
            self.current.append(data)


def _html(text: str, name: str) -> tuple[dict[str, Any], str]:
    parser = _HtmlText()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError as exc:  # html.parser signals unrecoverable markup this way
        raise problem(ErrorCode.DOCUMENT_MALFORMED, name, f"HTML does not parse: {exc}") from None
    parser._flush()
    meta = {"title": " ".join(parser.title.split())} if parser.title.strip() else {}
    return meta, normalise_text("\n".join(parser.lines))


def _record_lines(record: Any) -> list[str]:
    lines = []
    for fact in flatten(record):
        key = ".".join(fact.path) or "value"
        value = "" if fact.value is None else fact.value
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False).strip(chr(34))}")
    return lines


def _record_name(record: Any, position: int) -> str:
    if isinstance(record, dict):
        for key in ("title", "name", "id"):
            if isinstance(record.get(key), str | int) and str(record[key]).strip():
                return str(record[key]).strip()[:120]
    return f"Item {position}"


def _json(text: str, name: str) -> tuple[dict[str, Any], str]:
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise problem(
            ErrorCode.DOCUMENT_MALFORMED,
            name,
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            line=exc.lineno,
        ) from None
    if isinstance(data, dict):
        body = next(
            (data[k] for k in ("text", "body", "content") if isinstance(data.get(k), str)), None
        )
        title = data.get("title") if isinstance(data.get("title"), str) else None
        meta: dict[str, Any] = {"title": title} if title else {}
        if "acl" in data:  # one label or a list, checked like front matter's: never dropped
            meta["acl"] = data["acl"]
        if body is not None:
            return meta, normalise_text(body)
        return meta, normalise_text("\n".join(_record_lines(data)))
    if isinstance(data, list):
        sections = [
            f"## {_record_name(item, i + 1)}\n\n" + "\n".join(_record_lines(item))
            for i, item in enumerate(data)
            if _record_lines(item)
        ]
        return {"title": PurePosixPath(name).name}, normalise_text("\n\n".join(sections))
    return {}, normalise_text("" if data is None else str(data))


def _csv(text: str, name: str) -> tuple[dict[str, Any], str]:
    text = text.removeprefix("\ufeff")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise problem(ErrorCode.DOCUMENT_MALFORMED, name, f"CSV does not parse: {exc}") from None
    if len(rows) < 2:
        return {}, ""
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    sections = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise problem(
                ErrorCode.DOCUMENT_MALFORMED,
                name,
                f"row {number} has {len(row)} fields; the header has {len(header)}",
                line=number,
            )
        record = {h.lower(): v.strip() for h, v in zip(header, row, strict=True)}
        lines = [f"{h}: {v.strip()}" for h, v in zip(header, row, strict=True) if v.strip()]
        sections.append(f"## {_record_name(record, number - 1)}\n\n" + "\n".join(lines))
    return {"title": PurePosixPath(name).name}, normalise_text("\n\n".join(sections))


_READERS: dict[str, Callable[[str, str], tuple[dict[str, Any], str]]] = {
    "text/markdown": _markdown,
    "text/plain": _plain,
    "text/html": _html,
    "application/json": _json,
    "text/csv": _csv,
}

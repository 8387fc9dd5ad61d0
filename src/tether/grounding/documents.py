"""Knowledge-base documents: loading Markdown with front matter, and chunking with lineage."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence

MIN_CHUNK_CHARS = 80

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*$\n?", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One knowledge-base document: its body, who may read it, and where it came from."""

    id: str
    title: str
    text: str
    acl: tuple[str, ...]
    source: str
    version: str  # sha256 hex over the normalised metadata and body


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, small enough to cite, carrying the document's lineage."""

    doc_id: str
    index: int
    text: str  # starts with the heading context, so a chunk reads on its own
    title: str
    acl: tuple[str, ...]
    source: str
    version: str
    heading: str = ""

    @property
    def evidence_id(self) -> str:
        """The stable id a model cites: ``kb:<doc_id>#<chunk_index>``."""
        return f"kb:{self.doc_id}#{self.index}"

    def to_evidence(self, score: float) -> Evidence:
        """This chunk as retrieved evidence, with its full lineage and the given score."""
        return Evidence(
            id=self.evidence_id,
            source=self.source,
            text=self.text,
            version=self.version,
            chunk=self.index,
            acl=self.acl,
            score=float(score),
            title=self.title,
        )


def _invalid(name: str, problem: str) -> TetherError:
    return TetherError(ErrorCode.CONFIG_INVALID, f"{name}: {problem}", {"file": name})


def normalise_text(text: str) -> str:
    """Canonical form of a body: NFC, LF line ends, no trailing spaces, no outer blank lines."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def content_version(doc_id: str, title: str, acl: tuple[str, ...], text: str) -> str:
    """sha256 hex of the canonical metadata and normalised body.

    The ACL is part of the version: a passage whose audience changed is a different passage.
    """
    canonical = json.dumps(
        {"id": doc_id, "title": title, "acl": list(acl), "text": normalise_text(text)},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _front_matter(meta: Any, name: str) -> tuple[str, str, tuple[str, ...]]:
    if not isinstance(meta, dict):
        raise _invalid(name, "front matter must be a YAML mapping")
    doc_id, title, acl = meta.get("id"), meta.get("title"), meta.get("acl")
    if not isinstance(doc_id, str) or not _ID_RE.match(doc_id):
        raise _invalid(name, "front matter 'id' must be a slug (lowercase letters, digits, - or _)")
    if not isinstance(title, str) or not title.strip():
        raise _invalid(name, "front matter 'title' must be a non-empty string")
    if (
        not isinstance(acl, list)
        or not acl
        or not all(isinstance(label, str) and label.strip() for label in acl)
    ):
        raise _invalid(name, "front matter 'acl' must be a non-empty list of labels")
    labels = tuple(sorted({label.strip() for label in acl}))
    return doc_id, " ".join(title.split()), labels


def parse_markdown(raw: bytes, name: str, source: str) -> Document:
    """Parse one Markdown file with YAML front matter into a `Document`.

    Raises CONFIG_INVALID (naming the file) for non-UTF-8 bytes, missing or invalid front
    matter, and an empty body.
    """
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(name, "not valid UTF-8") from None
    text = decoded.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        raise _invalid(name, "missing front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise _invalid(name, f"front matter is not valid YAML ({type(exc).__name__})") from None
    doc_id, title, acl = _front_matter(meta, name)
    body = normalise_text(text[match.end() :])
    if not body:
        raise _invalid(name, "the document body is empty")
    return Document(doc_id, title, body, acl, source, content_version(doc_id, title, acl, body))


def _load_files(files: list[tuple[str, bytes, str]]) -> list[Document]:
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for name, raw, source in files:
        doc = parse_markdown(raw, name, source)
        if doc.id in seen:
            raise _invalid(name, f"document id {doc.id!r} is also used by {seen[doc.id]}")
        seen[doc.id] = name
        docs.append(doc)
    return docs


def load_markdown_dir(path: str | Path, source_prefix: str | None = None) -> list[Document]:
    """Load every ``*.md`` file directly in `path`, sorted by file name.

    Each document's source is its file path, or ``source_prefix + file name`` when given.
    Document ids must be unique across the directory.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise _invalid(str(folder), "not a directory")
    files: list[tuple[str, bytes, str]] = []
    for file in sorted(folder.glob("*.md")):
        if not file.is_file():
            continue
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise _invalid(str(file), f"cannot be read ({exc.strerror})") from None
        source = f"{source_prefix}{file.name}" if source_prefix is not None else str(file)
        files.append((str(file), raw, source))
    return _load_files(files)


def load_package_documents(package: str, folder: str, uri: str) -> list[Document]:
    """The Markdown documents a Python package ships in `folder`, with sources `uri` + name
    (e.g. a domain pack's knowledge base: `load_package_documents("my_pack", "kb", "kb://my/")`).
    """
    try:
        root: Traversable = resources.files(package).joinpath(folder)
        entries = sorted(
            (e for e in root.iterdir() if e.name.endswith(".md") and e.is_file()),
            key=lambda entry: entry.name,
        )
    except (ModuleNotFoundError, OSError) as exc:
        raise _invalid(f"{package}/{folder}", f"cannot be read ({exc})") from None
    return _load_files([(f"{uri}{e.name}", e.read_bytes(), f"{uri}{e.name}") for e in entries])


@dataclass
class _Section:
    heading: tuple[str, ...]
    paragraphs: list[str]


def _sections(doc: Document) -> list[_Section]:
    """Split a body into sections by heading, each a list of blank-line separated paragraphs."""
    stack: list[tuple[int, str]] = []
    sections = [_Section((), [])]
    lines: list[str] = []

    def flush() -> None:
        paragraph = "\n".join(lines).strip()
        if paragraph:
            sections[-1].paragraphs.append(paragraph)
        lines.clear()

    in_fence = False
    for line in doc.text.split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING_RE.match(line)
        if heading is not None:
            flush()
            level = len(heading.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading.group(2)))
            sections.append(_Section(tuple(h for _, h in stack), []))
        elif not line.strip() and not in_fence:
            flush()
        else:
            lines.append(line)
    flush()
    return [s for s in sections if s.paragraphs]


def _context(doc: Document, heading: tuple[str, ...]) -> str:
    # The document title leads unless the top heading already repeats it.
    parts = list(heading)
    if not parts or parts[0].casefold() != doc.title.casefold():
        parts.insert(0, doc.title)
    return " > ".join(parts)


def _split_words(paragraph: str, budget: int) -> list[str]:
    """Split an over-long paragraph at whitespace; a single word longer than budget stays whole."""
    pieces: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > budget:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _pack(paragraphs: list[str], budget: int) -> list[str]:
    """Group consecutive paragraphs greedily into bodies of at most `budget` characters."""
    bodies: list[str] = []
    current = ""
    for paragraph in paragraphs:
        parts = [paragraph] if len(paragraph) <= budget else _split_words(paragraph, budget)
        for part in parts:
            candidate = f"{current}\n\n{part}" if current else part
            if current and len(candidate) > budget:
                bodies.append(current)
                current = part
            else:
                current = candidate
    if current:
        bodies.append(current)
    return bodies


def chunk_document(doc: Document, max_chars: int = 700) -> list[Chunk]:
    """Split a document into citable chunks on headings and paragraphs, never mid-word.

    Each chunk's text starts with its heading context (``Title > Section``) and stays within
    `max_chars`, except when that context is longer than half of `max_chars` (the body then
    keeps half) or a single word is longer than the room left.
    """
    if max_chars < MIN_CHUNK_CHARS:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"max_chars must be at least {MIN_CHUNK_CHARS}, got {max_chars}",
            {"max_chars": max_chars},
        )
    chunks: list[Chunk] = []
    for section in _sections(doc):
        context = _context(doc, section.heading)
        budget = max(max_chars - len(context) - 2, max_chars // 2)
        for body in _pack(section.paragraphs, budget):
            chunks.append(
                Chunk(
                    doc_id=doc.id,
                    index=len(chunks),
                    text=f"{context}\n\n{body}",
                    title=doc.title,
                    acl=doc.acl,
                    source=doc.source,
                    version=doc.version,
                    heading=context,
                )
            )
    return chunks


def chunk_documents(docs: list[Document], max_chars: int = 700) -> list[Chunk]:
    """Chunk several documents, in order."""
    return [chunk for doc in docs for chunk in chunk_document(doc, max_chars)]

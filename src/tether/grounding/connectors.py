"""Connectors: where ingested documents come from.

`DirectorySource` reads a directory (or one file) of Markdown, text, HTML, JSON and CSV files;
`DocumentsSource` serves documents already in memory (e.g. a domain pack's knowledge base). A
domain pack may name its own sources (e.g. its records, one document per record, with the
graph they form). A connector only reads; the ingest job decides what to store.

Access is the operator's to grant: a document may narrow the ACL the job is given, never widen
it (`narrow_acl`), and a directory source reads nothing outside its folder, whatever a symlink
or a ".." in a name points at (DOCUMENT_OUTSIDE_ROOT).
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.documents import Document, content_version, normalise_text
from tether.grounding.facts import flatten
from tether.grounding.formats import SourceFile, media_type, problem, read_document, slug
from tether.grounding.graph import Entity, Relation

PRIVATE_LABEL = "private"  # the labels a document gets when the operator gives none

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
# the largest limit a directory source accepts: a file is read whole into memory
MAX_MAX_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class SourceDocument:
    """A document a connector read, with what the job records about it."""

    document: Document
    media_type: str
    size: int  # bytes read
    # the document's ACL may come from its own content (front matter, a JSON "acl" field),
    # which the job keeps within the operator's labels; a trusted source's labels stand
    declares_acl: bool = False


def narrow_acl(document: Document, ceiling: tuple[str, ...] | None, name: str) -> Document:
    """`document` with the labels it declares kept within the operator's `ceiling`.

    A document may narrow who reads it, never widen it. The stored ACL is declared ∩
    operator's (front matter `[public, staff]` under `--acl staff` is `staff`); without the
    operator's labels (`ceiling` None) the ceiling is the default, `private`: a document
    cannot give itself a role label every principal of a domain holds, nor `public`. When
    nothing is left the document is refused with DOCUMENT_ACL_WIDENS rather than stored
    under the operator's labels, which would reach readers its own ACL excludes.
    """
    declared = set(document.acl)
    kept = declared & set(ceiling if ceiling is not None else (PRIVATE_LABEL,))
    if not kept:
        allowed = "the --acl labels" if ceiling is not None else "--acl"
        raise problem(
            ErrorCode.DOCUMENT_ACL_WIDENS,
            name,
            f"its own ACL {sorted(declared)} reaches readers only {allowed} may grant",
            declared=sorted(declared),
            ceiling=sorted(ceiling) if ceiling is not None else None,
        )
    labels = tuple(sorted(kept))
    if labels == document.acl:
        return document
    version = content_version(document.id, document.title, labels, document.text)
    return dataclasses.replace(document, acl=labels, version=version)


def within_ceiling(
    found: SourceDocument, ceiling: tuple[str, ...] | None, name: str
) -> SourceDocument:
    """`found` (item `name`) with its self-declared ACL narrowed to the operator's (see
    `narrow_acl`)."""
    if not found.declares_acl:
        return found  # a trusted source (a domain's records, a pack's documents) labels its own
    return dataclasses.replace(found, document=narrow_acl(found.document, ceiling, name))


class Connector(Protocol):
    """A source of documents (and, for structured sources, of graph entities)."""

    @property
    def uri(self) -> str:
        """The source's root URI; every document URI it yields starts with it."""
        ...

    def names(self) -> list[str]:
        """The items to read, in a stable order."""
        ...

    def uri_of(self, name: str) -> str:
        """The URI of the document item `name` becomes."""
        ...

    def read(self, name: str, acl: tuple[str, ...]) -> SourceDocument:
        """One item as a document; a TetherError with a DOCUMENT_* code when it is unusable."""
        ...

    def graph(self) -> tuple[list[Entity], list[Relation]] | None:
        """The entities and relations the source states, or None for unstructured sources."""
        ...


def check_max_bytes(max_bytes: int) -> None:
    """A file-size limit a directory source can apply: 1 byte to MAX_MAX_BYTES (a file is read
    whole, and a limit past what fits in memory overflows the read); else CONFIG_INVALID."""
    if not 1 <= max_bytes <= MAX_MAX_BYTES:
        shown = str(max_bytes) if len(str(max_bytes)) <= 20 else f"{str(max_bytes)[:20]}..."
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"max_bytes must be between 1 and {MAX_MAX_BYTES} (1 GiB), not {shown}",
        )


def _path_mark(name: str) -> str:
    """A short stable mark of a path, telling apart files whose names slug alike."""
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _resolve_failure(exc: BaseException) -> str:
    """Why a path could not be resolved, in words."""
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "a symlink loop"
    return getattr(exc, "strerror", None) or type(exc).__name__


class DirectorySource:
    """Every supported file under a directory (hidden entries skipped), or one file.

    The path must be a folder or a regular file (a FIFO or a device is DOCUMENT_UNREADABLE,
    never waited on); so must every file read from the folder.

    An empty path is BAD_REQUEST, never the current folder `Path("")` would make of it.

    Files with other extensions are listed in `skipped`, not read. A file larger than
    `max_bytes` is DOCUMENT_TOO_LARGE; one that cannot be opened is DOCUMENT_UNREADABLE; a
    name that resolves outside the folder (a symlink out of it, a "..") is
    DOCUMENT_OUTSIDE_ROOT and is never opened. Symlinked folders are not descended into.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        encoding: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        check_max_bytes(max_bytes)
        if isinstance(path, str) and not path:  # Path("") is ".", the current folder
            raise TetherError(
                ErrorCode.BAD_REQUEST,
                "an empty path names no file or folder (an unset shell variable?); "
                "give '.' to ingest the current folder",
            )
        given = Path(path).expanduser()
        if not given.exists() and not given.is_symlink():
            raise problem(ErrorCode.DOCUMENT_UNREADABLE, str(given), "no such file or directory")
        try:
            self.root = given.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before 3.13)
            raise problem(
                ErrorCode.DOCUMENT_UNREADABLE,
                str(given),
                f"cannot be resolved ({_resolve_failure(exc)})",
            ) from None
        if not self.root.is_dir() and not self.root.is_file():
            # a FIFO would block the read forever, a device would read without end
            missing = not self.root.exists()
            raise problem(
                ErrorCode.DOCUMENT_UNREADABLE,
                str(given),
                "no such file or directory"
                if missing
                else "is neither a folder nor a regular file",
            )
        self.single = not self.root.is_dir()
        self.encoding = encoding
        self.max_bytes = max_bytes
        self.skipped: list[str] = []
        self._names: list[str] | None = None
        self._ids: dict[str, str] = {}

    @property
    def uri(self) -> str:
        return self.root.as_uri() if self.single else self.root.as_uri() + "/"

    def names(self) -> list[str]:
        if self._names is not None:
            return self._names
        found: list[str] = []
        if self.single:
            found = [self.root.name]
        else:
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for file in sorted(files):
                    rel = Path(folder, file).relative_to(self.root).as_posix()
                    if file.startswith("."):
                        continue
                    (found if media_type(file) else self.skipped).append(rel)
        self._names = sorted(found)
        stems: dict[str, int] = {}
        for name in self._names:
            stems[slug(name)] = stems.get(slug(name), 0) + 1
        # "a.md" and "a.txt" side by side keep their extensions in their ids
        ids = {
            n: slug(n) if stems[slug(n)] == 1 else slug(n.replace(".", "-")) for n in self._names
        }
        # paths that still slug alike ("a/b.md", "a-b.md") each get a mark of their own path
        taken = Counter(ids.values())
        self._ids = {n: i if taken[i] == 1 else f"{i}-{_path_mark(n)}" for n, i in ids.items()}
        return self._names

    def _path(self, name: str) -> Path:
        return self.root if self.single else self.root / name

    def uri_of(self, name: str) -> str:
        return self._path(name).as_uri()

    def _inside(self, name: str) -> Path:
        """The real path of `name`, which must lie inside the folder."""
        if self.single:
            return self.root  # the operator named this very file
        try:
            real = (self.root / name).resolve()
        except (OSError, RuntimeError) as exc:  # gone since listed, or a symlink loop
            raise problem(
                ErrorCode.DOCUMENT_UNREADABLE, name, f"cannot be resolved ({_resolve_failure(exc)})"
            ) from None
        if real == self.root or not real.is_relative_to(self.root):
            raise problem(
                ErrorCode.DOCUMENT_OUTSIDE_ROOT,
                name,
                "resolves outside the ingested folder (a symlink or '..'); not read",
            )
        return real

    def _opened_inside(self, descriptor: int) -> bool:
        """Whether an open file lies inside the root, by what the kernel says it opened
        (Linux's /proc; elsewhere the resolved path checked before opening stands)."""
        link = Path(f"/proc/self/fd/{descriptor}")
        if self.single or not link.exists():
            return True
        return Path(os.readlink(link)).is_relative_to(self.root)

    def read(self, name: str, acl: tuple[str, ...]) -> SourceDocument:
        path = self._path(name)
        real = self._inside(name)
        try:
            # the checked path itself, and never through a symlink swapped in since the check
            # never blocking: a FIFO (or one swapped in since listed) opens at once, and is
            # refused below as not a regular file rather than waited on
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            descriptor = os.open(real, flags)
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                os.close(descriptor)
                raise problem(
                    ErrorCode.DOCUMENT_UNREADABLE, name, "is not a regular file; not read"
                )
            with os.fdopen(descriptor, "rb") as handle:
                # a folder on the way may have been swapped for a symlink since the check:
                # what was opened must still lie inside the root
                if not self._opened_inside(handle.fileno()):
                    raise problem(
                        ErrorCode.DOCUMENT_OUTSIDE_ROOT,
                        name,
                        "was moved outside the ingested folder while being read; not read",
                    )
                raw = handle.read(self.max_bytes + 1)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise problem(
                ErrorCode.DOCUMENT_UNREADABLE, name, f"cannot be read ({reason})"
            ) from None
        if len(raw) > self.max_bytes:
            raise problem(
                ErrorCode.DOCUMENT_TOO_LARGE,
                name,
                f"larger than the {self.max_bytes}-byte limit",
                limit=self.max_bytes,
            )
        self.names()
        file = SourceFile(path.as_uri(), name, raw)
        doc, kind = read_document(file, acl, doc_id=self._ids.get(name), encoding=self.encoding)
        return SourceDocument(doc, kind, len(raw), declares_acl=True)

    def graph(self) -> tuple[list[Entity], list[Relation]] | None:
        return None


class DocumentsSource:
    """Documents already parsed (e.g. the packaged knowledge base) under one root URI."""

    def __init__(self, uri: str, docs: list[Document]) -> None:
        self._uri = uri
        self._docs = {d.source: d for d in docs}
        outside = [s for s in self._docs if not s.startswith(uri)]
        if outside:
            raise TetherError(ErrorCode.CONFIG_INVALID, f"{outside[0]} is not under {uri}")

    @property
    def uri(self) -> str:
        return self._uri

    def names(self) -> list[str]:
        return sorted(self._docs)

    def uri_of(self, name: str) -> str:
        return name

    def read(self, name: str, acl: tuple[str, ...]) -> SourceDocument:
        doc = self._docs[name]
        return SourceDocument(doc, "text/markdown", len(doc.text.encode("utf-8")))

    def graph(self) -> tuple[list[Entity], list[Relation]] | None:
        return None


def record_text(title: str, record: Mapping[str, Any]) -> str:
    """A structured record as Markdown text: a heading, then one `path: value` line per fact."""
    lines = []
    for fact in flatten(dict(record)):
        value = "" if fact.value is None else fact.value
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"{'.'.join(fact.path)}: {text}")
    return normalise_text(f"# {title}\n\n" + "\n".join(lines))


def open_source(
    spec: str, named: Mapping[str, Callable[[], Connector]] | None = None, **options: Any
) -> Connector:
    """The connector for a CLI source: one a domain names (e.g. `db:retail`) or a path."""
    factory = (named or {}).get(spec.rstrip("/"))
    if factory is not None:
        return factory()
    if ":" in spec.split("/", 1)[0] and not Path(spec).exists():
        known = ", ".join(sorted(named or {})) or "none"
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"unknown source {spec!r} (the domain's sources: {known})"
        )
    return DirectorySource(spec, **options)

"""Whatever a document holds, ingesting it ends in a DOCUMENT_* code, alike on both stores.

A lone surrogate escape, nesting too deep for a parser, a NUL character anywhere in the decoded
text (escapes included) or an id longer than the store keeps is one bad document: the job fails
with nothing written and is recorded, or with `--skip-invalid` the good documents are kept and
the bad one listed. A failure no reader foresaw still leaves the failed job on record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import no_traceback, tether
from tether.grounding.connectors import DocumentsSource, SourceDocument
from tether.grounding.corpus import current_chunks, jobs
from tether.grounding.ingest import Ingestor
from tether.store.runs import RunStore

GOOD = "---\nid: good\nacl: [public]\n---\n# Refunds\n\nCard refunds take 5 to 7 days.\n"


def _ingest(store_url: str, home: Path, folder: Path, *extra: str) -> tuple[int, dict, str]:
    RunStore.open(store_url).close()  # the schema, as a deployment's migration makes it
    proc = tether(
        "ingest", str(folder), "--acl", "public", "--json", *extra,
        home=home, env={"TETHER_DATABASE_URL": store_url}, timeout=60,
    )  # fmt: skip
    no_traceback(proc)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def _store(store_url: str) -> tuple[list[dict], list[str]]:
    store = RunStore.open(store_url)
    try:
        return jobs(store.engine), [c.text for c in current_chunks(store.engine)]
    finally:
        store.close()


# inputs a document may hold that no reader may turn into an internal error: a JSON escape
# that is no character, JSON nested past Python's recursion limit, YAML front matter likewise
UNREADABLE = {
    "json-lone-surrogate": ("a.json", b'{"title": "x", "text": "refunds \\ud800 take days"}'),
    "json-deep": ("a.json", b"[" * 100_000 + b"]" * 100_000),
    "front-matter-deep": ("a.md", b"---\ntitle: " + b"[" * 5000 + b"]" * 5000 + b"\n---\nhi\n"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_an_unreadable_document_fails_with_a_document_code_and_a_recorded_job(
    store_url: str, tmp_path: Path, case: str
) -> None:
    name, raw = UNREADABLE[case]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / name).write_bytes(raw)
    code, out, err = _ingest(store_url, tmp_path / "home", folder)
    error = out.get("error", {})
    assert code == 2 and str(error.get("code", "")).startswith("DOCUMENT_"), (code, out, err)
    recorded, texts = _store(store_url)
    assert [j["status"] for j in recorded] == ["failed"], recorded  # the failed job is kept
    assert texts == []


# NUL characters past the 8 KiB binary sniff of the raw bytes: late in a text file, a JSON
# "\u0000" escape, a front matter value; each is DOCUMENT_BINARY, whatever the extension
WITH_NUL = {
    "text-late-nul": ("b.txt", b"words " * 2000 + b"\x00 more words"),
    "json-nul-escape": ("b.json", b'{"title": "x", "text": "refunds \\u0000 take days"}'),
    "front-matter-nul": ("b.md", b'---\nid: b\ntitle: "a\\0b"\n---\nshipping takes days\n'),
}


@pytest.mark.parametrize("case", sorted(WITH_NUL))
def test_a_nul_character_is_refused_and_skip_invalid_keeps_the_good_document(
    store_url: str, tmp_path: Path, case: str
) -> None:
    name, raw = WITH_NUL[case]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD)
    (folder / name).write_bytes(raw)
    code, out, err = _ingest(store_url, tmp_path / "home", folder, "--skip-invalid")
    assert code == 0 and out.get("status") == "succeeded", (code, out, err)
    assert [p["file"] for p in out["problems"]] == [name], out
    assert out["problems"][0]["code"] == "DOCUMENT_BINARY", out
    _, texts = _store(store_url)
    assert texts and all("\x00" not in t for t in texts), texts  # nothing stored with a NUL
    assert any("Card refunds" in t for t in texts)  # the good document is not lost


def test_an_overlong_document_id_is_refused_alike_on_both_stores(
    store_url: str, tmp_path: Path
) -> None:
    """A front matter id longer than the store's 256 characters is one bad document on both
    stores (never STORE_UNAVAILABLE, never stored truncated); the good document is kept."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD)
    (folder / "long.md").write_text(f"---\nid: {'a' * 300}\n---\nGift cards never expire.\n")
    code, out, err = _ingest(store_url, tmp_path / "home", folder, "--skip-invalid")
    assert code == 0 and out.get("status") == "succeeded", (code, out, err)
    assert [(p["file"], p["code"]) for p in out["problems"]] == [
        ("long.md", "DOCUMENT_MALFORMED")
    ], out
    _, texts = _store(store_url)
    assert any("Card refunds" in t for t in texts) and not any("Gift cards" in t for t in texts)


class _BrokenSource(DocumentsSource):
    def names(self) -> list[str]:
        return ["mem://kb/a"]

    def read(self, name: str, acl: tuple[str, ...]) -> SourceDocument:
        raise RuntimeError("a reader bug")


def test_an_unforeseen_failure_in_reading_still_records_the_failed_job(
    store_url: str,
) -> None:
    store = RunStore.open(store_url)
    try:
        with pytest.raises(RuntimeError):
            Ingestor(store.engine).run(_BrokenSource("mem://kb", []), ["public"])
        recorded = jobs(store.engine)
    finally:
        store.close()
    assert [(j["status"], j["error"]["code"]) for j in recorded] == [("failed", "INTERNAL")]

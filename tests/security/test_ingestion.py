"""Ingestion cannot widen access: the operator's ACL is a ceiling a document's own front matter
may narrow but never lift, and nothing outside the ingested folder is read, whatever a symlink
or a ".." points at. Checked through the real store, the real retriever and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.core.clock import ManualClock, SequentialIds
from tether.core.errors import ErrorCode, TetherError
from tether.grounding.connectors import DirectorySource
from tether.grounding.corpus import current_chunks, jobs
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).with_name("tether"))
CANARY = "CANARY-OUTSIDE-5d1e"


def note(doc_id: str, acl: str, body: str) -> str:
    return f"---\nid: {doc_id}\ntitle: {doc_id}\nacl: {acl}\n---\n# {doc_id}\n\n{body}\n"


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    opened = RunStore.open(store_url)
    yield opened
    opened.close()


def ingestor(store: RunStore) -> Ingestor:
    return Ingestor(store.engine, clock=ManualClock(tick=1.0), ids=SequentialIds())


def stored_acl(store: RunStore) -> dict[str, tuple[str, ...]]:
    return {c.doc_id: c.acl for c in current_chunks(store.engine)}


def search(store: RunStore, query: str, labels: set[str]) -> list[str]:
    retriever = StoreRetriever(store.engine)
    return [e.id for e in retriever.search(query, 5, labels)]


def test_public_front_matter_under_a_staff_acl_is_refused_and_never_public(
    store: RunStore, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.md").write_text(note("memo", "[public]", "Staff discount code is ZEBRA-91."))
    with pytest.raises(TetherError) as caught:
        ingestor(store).run(DirectorySource(docs), ["staff"])
    assert caught.value.code is ErrorCode.DOCUMENT_ACL_WIDENS
    problem = caught.value.details["problems"][0]
    assert problem["file"] == "memo.md" and problem["details"]["declared"] == ["public"]
    assert stored_acl(store) == {}  # the failed job wrote nothing
    assert jobs(store.engine)[0]["status"] == "failed"
    assert search(store, "staff discount code ZEBRA-91", {"public"}) == []


def test_front_matter_narrows_the_ceiling_and_the_retriever_honours_it(
    store: RunStore, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.md").write_text(note("memo", "[public, staff]", "Discount code ZEBRA-91."))
    (docs / "payroll.md").write_text(note("payroll", "[hr]", "Payroll runs on the 25th."))
    (docs / "plain.txt").write_text("Shift swaps need a manager's approval.")
    report = ingestor(store).run(DirectorySource(docs), ["staff"], skip_invalid=True)
    # [public, staff] ∩ [staff] = [staff]; [hr] shares nothing with [staff]: refused, reported
    assert stored_acl(store) == {"memo": ("staff",), "plain": ("staff",)}
    assert [(p["file"], p["code"]) for p in report.problems] == [
        ("payroll.md", "DOCUMENT_ACL_WIDENS")
    ]
    memo = next(d for d in report.documents if d["doc_id"] == "memo")
    assert memo["acl"] == ["staff"]
    assert search(store, "discount code ZEBRA-91", {"public"}) == []
    assert search(store, "discount code ZEBRA-91", {"public", "staff"}) == ["kb:memo#0"]
    assert search(store, "payroll 25th", {"hr", "staff", "public"}) == []


def test_without_an_acl_front_matter_may_not_make_a_document_public(
    store: RunStore, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.md").write_text(note("memo", "[public]", "Discount code ZEBRA-91."))
    (docs / "team.md").write_text(note("team", "[staff, public]", "Team lunch on Friday."))
    (docs / "plain.txt").write_text("No labels here.")
    job = ingestor(store)
    report = job.run(DirectorySource(docs), skip_invalid=True)
    # without the operator's labels the ceiling is the default, private: a document cannot
    # give itself public, nor a label such as a role every principal holds
    assert stored_acl(store) == {"plain": ("private",)}
    assert [p["code"] for p in report.problems] == ["DOCUMENT_ACL_WIDENS"] * 2
    assert all("--acl" in p["message"] for p in report.problems)
    assert search(store, "discount code ZEBRA-91 team lunch", {"public"}) == []
    # the operator's explicit public is what publishes it
    job.run(DirectorySource(docs), ["public"], skip_invalid=True)
    assert stored_acl(store)["memo"] == ("public",)


def test_a_symlink_out_of_the_folder_is_refused_and_not_read(
    store: RunStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text(note("secret", "[public]", f"Root password {CANARY}."))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.txt").write_text("Open 9 to 5.")
    (docs / "leak.md").symlink_to(secret)
    (docs / "inside.txt").symlink_to(docs / "hours.txt")  # a link within the folder is fine
    job = ingestor(store)
    with pytest.raises(TetherError) as caught:
        job.run(DirectorySource(docs), ["public"])
    assert caught.value.code is ErrorCode.DOCUMENT_OUTSIDE_ROOT
    assert stored_acl(store) == {}  # nothing half-written
    report = job.run(DirectorySource(docs), ["public"], skip_invalid=True)
    assert [(p["file"], p["code"]) for p in report.problems] == [
        ("leak.md", "DOCUMENT_OUTSIDE_ROOT")
    ]
    assert set(stored_acl(store)) == {"hours", "inside"}
    assert CANARY not in json.dumps(report.to_dict())
    assert all(CANARY not in c.text for c in current_chunks(store.engine))


def test_a_dotdot_name_is_refused_before_anything_is_opened(tmp_path: Path) -> None:
    (tmp_path / "secret.md").write_text(note("secret", "[public]", CANARY))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.txt").write_text("Open 9 to 5.")
    source = DirectorySource(docs)
    for name in ("../secret.md", "sub/../../secret.md", str(tmp_path / "secret.md")):
        with pytest.raises(TetherError) as caught:
            source.read(name, ("public",))
        assert caught.value.code is ErrorCode.DOCUMENT_OUTSIDE_ROOT, name
        assert CANARY not in json.dumps(caught.value.to_dict())


def test_the_cli_ceiling(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.md").write_text(note("memo", "[public]", "Discount code ZEBRA-91."))
    (docs / "hours.txt").write_text("Open 9 to 5.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(tmp_path / "home")
    command = [TETHER, "ingest", str(docs), "--acl", "staff", "--json"]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert json.loads(refused.stdout)["error"]["code"] == "DOCUMENT_ACL_WIDENS"
    skipped = subprocess.run(
        [*command, "--skip-invalid"], capture_output=True, text=True, env=env, check=False
    )
    report = json.loads(skipped.stdout)
    assert report["status"] == "succeeded" and report["stats"]["added"] == 1
    assert [p["code"] for p in report["problems"]] == ["DOCUMENT_ACL_WIDENS"]
    assert [d["acl"] for d in report["documents"]] == [["staff"]]

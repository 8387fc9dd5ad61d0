"""A release is immutable and content-addressed: "its id is `rel_` and the first 16 hex digits
of the sha256 of the bundle's canonical JSON ... any change gives a new one" (README,
*Releases*). A bundle edited in the store (here: a policy that forbids every cancellation
added to the stored release) was read back and served under the old id and digest, unchecked.
Now every read checks the content against its id: the edited release is refused with
RELEASE_TAMPERED wherever it is read by id or label, and left out of the list without hiding the
others."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.release.clitools import tether_json
from tether.access.canonical import canonical_json

FORBID = '@id("no-cancellations")\nforbid (principal, action == Action::"cancel_pending_order", resource);\n'


def _add_policy(url: str, rid: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            stored = conn.execute(text("SELECT bundle FROM releases WHERE id = :id"), {"id": rid})
            bundle = json.loads(stored.scalar_one())
            bundle["policies"]["files"].append({"name": "zz.cedar", "text": FORBID})
            conn.execute(
                text("UPDATE releases SET bundle = :b WHERE id = :id"),
                {"b": json.dumps(bundle), "id": rid},
            )
    finally:
        engine.dispose()


def test_a_stored_release_whose_content_was_edited_is_not_served_under_its_id(
    tmp_path: Path, store_url: str
) -> None:
    code, made = tether_json(tmp_path, "release", "create", "--note", "baseline", url=store_url)
    assert code == 0, made
    rid = made["release"]["id"]
    code, _ = tether_json(tmp_path, "release", "export", rid, str(tmp_path / "base"), url=store_url)
    assert code == 0
    note = tmp_path / "base" / "prompts" / "retail-desk.md"
    note.write_text(note.read_text("utf-8") + "\nBe brief.", "utf-8")
    code, other = tether_json(
        tmp_path, "release", "create", "--from", str(tmp_path / "base"), url=store_url
    )
    assert code == 0, other
    code, _ = tether_json(tmp_path, "release", "label", "production", rid, url=store_url)
    assert code == 0

    _add_policy(store_url, rid)

    for ref in (rid, "production"):
        code, shown = tether_json(tmp_path, "release", "show", ref, url=store_url)
        if code == 0:
            served = hashlib.sha256(canonical_json(shown["bundle"]).encode("utf-8")).hexdigest()
            assert served == shown["digest"] and "rel_" + served[:16] == rid, (
                f"release {rid} is served with content that hashes to rel_{served[:16]}: "
                f"{[f['name'] for f in shown['bundle']['policies']['files']]}"
            )
        assert code == 2 and shown["error"]["code"] == "RELEASE_TAMPERED", shown
        assert rid in shown["error"]["message"]
    code, diff = tether_json(
        tmp_path, "release", "diff", rid, other["release"]["id"], url=store_url
    )
    assert code == 2 and diff["error"]["code"] == "RELEASE_TAMPERED", diff

    # the one altered row does not deny the others
    code, listed = tether_json(tmp_path, "release", "list", url=store_url)
    assert code == 0, listed
    assert [r["id"] for r in listed["releases"]] == [other["release"]["id"]], listed
    code, shown = tether_json(tmp_path, "release", "show", other["release"]["id"], url=store_url)
    assert code == 0 and shown["id"] == other["release"]["id"], shown

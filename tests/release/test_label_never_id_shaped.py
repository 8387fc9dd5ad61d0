"""A label works wherever an id does (README, *Releases*), and a reference starting with `rel_` is
read as a release id everywhere: so a label starting with `rel_`, which could never be used, is
refused when it is moved (RELEASE_LABEL_INVALID, exit 2, nothing written)."""

from __future__ import annotations

from pathlib import Path

from tests.release.clitools import tether_json


def test_a_label_accepted_by_release_label_can_be_used_where_an_id_can(
    tmp_path: Path, store_url: str
) -> None:
    code, created = tether_json(tmp_path, "release", "create", "--note", "baseline", url=store_url)
    assert code == 0, created
    rid = created["release"]["id"]

    code, moved = tether_json(tmp_path, "release", "label", "rel_next", rid, url=store_url)
    assert code == 2 and moved["error"]["code"] == "RELEASE_LABEL_INVALID", moved
    assert "rel_" in moved["error"]["message"]
    code, shown = tether_json(tmp_path, "release", "show", "rel_next", url=store_url)
    assert code == 2 and shown["error"]["code"] == "RELEASE_NOT_FOUND", shown

    code, moved = tether_json(tmp_path, "release", "label", "next_rel", rid, url=store_url)
    assert code == 0 and moved["release"] == rid, moved
    code, shown = tether_json(tmp_path, "release", "show", "next_rel", url=store_url)
    assert code == 0, f"the label next_rel was accepted but does not resolve: {shown}"
    assert shown["id"] == rid

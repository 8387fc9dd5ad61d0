"""A release directory `tether release create --from` accepts is one a desk can be built from."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.refusal_helpers import error_of, tether


def _exported(url: str, tmp_path: Path) -> Path:
    made = tether("release", "create", "--json", url=url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    rid = json.loads(made.stdout)["release"]["id"]
    folder = tmp_path / "release"
    done = tether("release", "export", rid, str(folder), "--json", url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return folder


def test_a_release_whose_claims_handling_is_unknown_is_refused_at_create(
    store_url: str, tmp_path: Path
) -> None:
    folder = _exported(store_url, tmp_path)
    settings = json.loads((folder / "release.json").read_text())
    settings["verifier"]["claims_on_fail"] = "explode"
    (folder / "release.json").write_text(json.dumps(settings))
    before = tether("release", "list", "--json", url=store_url, cwd=tmp_path).stdout

    done = tether("release", "create", "--from", str(folder), "--json", url=store_url, cwd=tmp_path)

    assert done.returncode == 2, done.stdout
    assert error_of(done)["code"] == "RELEASE_SOURCE_INVALID"
    assert "claims_on_fail" in error_of(done)["message"]
    assert tether("release", "list", "--json", url=store_url, cwd=tmp_path).stdout == before

"""`tether release create --from DIR` refuses a release directory whose settings JSON cannot
carry, or whose agents could not be built as the runtime builds them, with RELEASE_SOURCE_INVALID
(exit 2, no traceback) before anything is stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tether.release import write_release_dir
from tether.store.release_schema import releases
from tether.store.runs import RunStore

from .helpers import bundle

TETHER = str(Path(sys.executable).parent / "tether")


def create_from(url: str, home: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(TETHER_HOME=str(home), TETHER_DATABASE_URL=url)
    return subprocess.run(
        [TETHER, "release", "create", "--from", str(folder), "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def stored(url: str) -> int:
    store = RunStore.open(url)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(releases)).scalar_one())
    finally:
        store.close()


def folder_with(tmp_path: Path, edit: Any) -> Path:
    """A release directory (the library pack's) whose release.json `edit` rewrote as text."""
    folder = tmp_path / "release"
    write_release_dir(bundle(), folder)
    settings = folder / "release.json"
    settings.write_text(edit(json.loads(settings.read_text())), encoding="utf-8")
    return folder


def refused(url: str, tmp_path: Path, folder: Path, code: str) -> None:
    before = stored(url)
    proc = create_from(url, tmp_path / "home", folder)
    said = proc.stdout + proc.stderr
    assert "Traceback" not in said, said
    assert proc.returncode == 2, (proc.returncode, said)
    assert json.loads(proc.stdout)["error"]["code"] == code, said
    assert stored(url) == before  # nothing written


def with_limits(limits: Any) -> Any:
    def edit(settings: dict[str, Any]) -> str:
        settings["agents"][0]["limits"] = limits
        return json.dumps(settings)

    return edit


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e999", pytest.param("9" * 5000, id="5000-digits")]
)
def test_a_number_json_cannot_hash_is_a_source_error_not_an_internal_one(
    store_url: str, tmp_path: Path, number: str
) -> None:
    # Python's json reads NaN, Infinity and 1e999 (inf), and no integer of 4,301+ digits; the
    # canonical JSON a release is hashed from holds none of them: refused by name, not INTERNAL
    def edit(settings: dict[str, Any]) -> str:
        settings["model"]["parameters"]["temperature"] = "@@"
        return json.dumps(settings).replace('"@@"', number)

    refused(store_url, tmp_path, folder_with(tmp_path, edit), "RELEASE_SOURCE_INVALID")


def test_format_true_is_not_format_1(sqlite_url: str, tmp_path: Path) -> None:
    # `True == 1` in Python: a release.json saying "format": true is stored as a release whose
    # bundle says format true, under an id no format-1 bundle has
    def edit(settings: dict[str, Any]) -> str:
        settings["format"] = True
        return json.dumps(settings)

    refused(sqlite_url, tmp_path, folder_with(tmp_path, edit), "RELEASE_SOURCE_INVALID")


@pytest.mark.parametrize(
    "limits",
    [
        "forty steps",
        {"max_steps": "many", "max_seconds": 120.0},
        {"steps": 3},
        {"max_steps": True},
        {"max_steps": 0},
        {"max_seconds": -1},
    ],
)
def test_an_agent_whose_limits_cannot_be_built_is_refused_before_it_is_stored(
    store_url: str, tmp_path: Path, limits: Any
) -> None:
    # a limit the runtime cannot compare with would fail a pinned conversation's turn mid-run
    refused(store_url, tmp_path, folder_with(tmp_path, with_limits(limits)),
            "RELEASE_SOURCE_INVALID")  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [("tools", "lookup_order"), ("retrieval_k", 2.5), ("verifier_operating_point", 7)],
)
def test_an_agent_field_it_cannot_hold_is_refused(
    sqlite_url: str, tmp_path: Path, field: str, value: Any
) -> None:
    def edit(settings: dict[str, Any]) -> str:
        settings["agents"][0][field] = value
        return json.dumps(settings)

    refused(sqlite_url, tmp_path, folder_with(tmp_path, edit), "RELEASE_SOURCE_INVALID")


def test_limits_the_runtime_can_use_are_kept(sqlite_url: str, tmp_path: Path) -> None:
    limits = {"max_steps": 12, "max_seconds": 30}  # whole seconds are seconds too
    proc = create_from(sqlite_url, tmp_path / "home",
                       folder_with(tmp_path, with_limits(limits)))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stored(sqlite_url) == 1

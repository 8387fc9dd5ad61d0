"""A release directory: what it must hold, and the problems named before anything is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether import ErrorCode, TetherError
from tether.release import read_release_dir, write_release_dir

from .helpers import bundle


def refused(folder: Path) -> str:
    with pytest.raises(TetherError) as caught:
        read_release_dir(folder)
    assert caught.value.code is ErrorCode.RELEASE_SOURCE_INVALID
    return caught.value.message


def test_a_written_directory_reads_back_as_the_same_release(tmp_path: Path) -> None:
    original = bundle()
    write_release_dir(original, tmp_path / "r")
    assert (tmp_path / "r" / "prompts" / "librarian.md").read_text() == (
        original.content["agents"][0]["instructions"]
    )
    assert read_release_dir(tmp_path / "r").id == original.id
    with pytest.raises(TetherError):  # never over a directory that holds something
        write_release_dir(original, tmp_path / "r")


def test_each_missing_or_misplaced_part_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_release_dir(bundle(), folder)
    settings = json.loads((folder / "release.json").read_text())
    (folder / "prompts" / "librarian.md").unlink()
    assert "librarian.md" in refused(folder)
    (folder / "prompts" / "librarian.md").write_text("Help members.")
    (folder / "release.json").write_text(json.dumps({**settings, "policies": {}}))
    assert "policies live in policies/" in refused(folder)
    inline = [{**settings["agents"][0], "instructions": "x"}]
    (folder / "release.json").write_text(json.dumps({**settings, "agents": inline}))
    assert "prompts/librarian.md" in refused(folder)
    (folder / "release.json").write_text(
        json.dumps({k: v for k, v in settings.items() if k != "model"})
    )
    assert "missing: model" in refused(folder)
    (folder / "release.json").write_text(json.dumps(settings))
    (folder / "policies" / "library.cedarschema").unlink()
    assert "cedarschema" in refused(folder)

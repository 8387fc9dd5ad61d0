"""A script or scenario file that cannot be a script is SCENARIO_INVALID, exit 2, nothing run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.refusal_helpers import error_of, tether

DEPTH = 100_000


def _deep(path: Path, as_json: bool) -> Path:
    text = "[" * DEPTH + "]" * DEPTH if as_json else "- " * DEPTH + "x"
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (("run", "where is my order?", "--as", "u1", "--script"), "script.json"),
        (("run", "where is my order?", "--as", "u1", "--script"), "script.yaml"),
        (("converse", "--as", "u1", "--script"), "conversation.yaml"),
    ],
)
def test_a_deeply_nested_script_is_refused_with_its_code(
    sqlite_url: str, tmp_path: Path, command: tuple[str, ...], name: str
) -> None:
    script = _deep(tmp_path / name, name.endswith(".json"))

    done = tether(*command, str(script), "--json", url=sqlite_url, cwd=tmp_path)

    assert done.returncode == 2, done.stdout
    assert error_of(done)["code"] == "SCENARIO_INVALID"
    listed = tether("runs", "list", "--json", url=sqlite_url, cwd=tmp_path)
    assert json.loads(listed.stdout)["runs"] == []


def test_a_deeply_nested_scenario_is_refused_with_its_code(sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    _deep(folder / "deep.yaml", as_json=False)

    done = tether(
        "demo", "--no-serve", "--scenarios", str(folder), "--json", url=sqlite_url, cwd=tmp_path
    )

    assert done.returncode == 2, done.stdout
    assert error_of(done)["code"] == "SCENARIO_INVALID"
    listed = tether("runs", "list", "--json", url=sqlite_url, cwd=tmp_path)
    assert json.loads(listed.stdout)["runs"] == []


def test_a_script_that_is_a_pipe_is_refused_not_waited_on(sqlite_url: str, tmp_path: Path) -> None:
    pipe = tmp_path / "script.yaml"
    os.mkfifo(pipe)  # nobody ever writes to it

    done = tether(
        "run", "where is my order?", "--as", "u1", "--script", str(pipe), "--json",
        url=sqlite_url, cwd=tmp_path, timeout=30,
    )  # fmt: skip

    assert done.returncode == 2, done.stdout
    assert error_of(done)["code"] == "SCENARIO_INVALID"

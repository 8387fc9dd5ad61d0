"""The `tether` command on a fresh SQLite store, with the store at hand for edits, a
production release and a candidate that differs from it by one prompt line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.processes import tether


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "store.db"
        self.url = f"sqlite:///{self.db}"
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.tmp = tmp_path

    def __call__(self, *args: str) -> tuple[int, Any]:
        return tether(self.url, self.home, *args)

    def ok(self, *args: str) -> Any:
        code, out = self(*args)
        assert code == 0, (args, out)
        return out

    def sql(self, statement: str, *params: Any) -> int:
        conn = sqlite3.connect(self.db)
        try:
            changed = conn.execute(statement, params).rowcount
            conn.commit()
            return changed
        finally:
            conn.close()


def exported_production(cli: Cli, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A baseline labelled production, exported to a folder whose release.json `edit` has
    changed in place: the folder, for `release create --from`."""
    base = cli.ok("release", "create")["release"]["id"]
    cli.ok("release", "label", "production", base)
    folder = cli.tmp / "candidate"
    cli.ok("release", "export", "production", str(folder))
    settings = json.loads((folder / "release.json").read_text())
    edit(settings)
    (folder / "release.json").write_text(json.dumps(settings, indent=2))
    return folder


def production_and_candidate(cli: Cli, line: str = "Be extra polite.") -> tuple[str, str]:
    """A baseline labelled production and a candidate whose prompt adds `line`."""
    base = cli.ok("release", "create", "--note", "base")["release"]["id"]
    cli.ok("release", "label", "production", base)
    folder = cli.tmp / "candidate"
    cli.ok("release", "export", "production", str(folder))
    prompt = next((folder / "prompts").glob("*.md"))
    prompt.write_text(prompt.read_text() + "\n" + line + "\n")
    cand = cli.ok("release", "create", "--from", str(folder), "--note", "cand")["release"]["id"]
    assert cand != base
    return base, cand

"""A small library pack written from scratch, and a way to run the real `tether` CLI on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

PACK_HEAD = '''
from tether import Agent, Principal, tool
from tether.sdk import Domain, DomainParts


class Members:
    def resolve(self, principal_id):
        return Principal(principal_id, tenant="library", roles=("member",))


@tool
def find_book(book_id: str) -> dict:
    """Look a book up."""
    return {"book_id": book_id, "title": "Dune"}


AGENTS = (Agent("desk", "You help library members.", ("find_book",), require_grounding=False),)


def setup(ctx):
    return DomainParts(tools=[find_book], principals=Members(), rights={"member": ()})
'''

SCRIPT = "- tool: find_book\n  args: {book_id: b1}\n- answer: It is Dune.\n"


def write_pack(folder: Path, module: str, body: str) -> None:
    """A module `module` in `folder`: the common head, then `body`."""
    (folder / f"{module}.py").write_text(PACK_HEAD + textwrap.dedent(body), encoding="utf-8")


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tether ARGS` in its own process, with `folder` importable and a store inside it."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([SRC, str(folder)]),
        "TETHER_DATABASE_URL": f"sqlite:///{folder / 'tether.db'}",
    }
    env.pop("TETHER_DOMAIN", None)
    code = "import sys; from tether.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=25,
    )


def run_pack(folder: Path, reference: str) -> subprocess.CompletedProcess[str]:
    """`tether run --json` on the pack `reference` (module:ATTRIBUTE), with the pack's script."""
    (folder / "s.yaml").write_text(SCRIPT, encoding="utf-8")
    return run_cli(
        folder,
        "run",
        "find b1",
        "--as",
        "m1",
        "--script",
        "s.yaml",
        "--json",
        "--domain",
        reference,
    )


def error_of(out: str) -> dict:
    """The `{"error": ...}` object a `--json` command prints last."""
    for line in reversed(out.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "error" in data:
            return data["error"]
    return {}

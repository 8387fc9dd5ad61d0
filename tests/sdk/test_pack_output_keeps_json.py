"""`--json` output is one JSON document a machine reads: a pack that prints while it is
imported (a side effect of its own) must not corrupt what the command prints on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sdk.packs_cli import run_pack, write_pack


def test_pack_printing_at_import_leaves_json_output_parseable(tmp_path: Path) -> None:
    write_pack(
        tmp_path,
        "chattypack",
        """
        print("loading the library pack...")


        def chatty_setup(ctx):
            print("opening the catalogue...")
            return setup(ctx)


        LIBRARY = Domain(name="library", version="1.0", setup=chatty_setup, agents=AGENTS,
                         on_desk=lambda desk: print("desk ready"))
        """,
    )
    done = run_pack(tmp_path, "chattypack:LIBRARY")
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["principal"] == "m1"
    for said in ("loading the library pack...", "opening the catalogue...", "desk ready"):
        assert said in done.stderr  # the pack's prints are kept, on stderr

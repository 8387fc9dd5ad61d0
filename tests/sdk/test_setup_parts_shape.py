"""`setup` returning DomainParts whose fields have the wrong shape is a wrong-shaped setup:
DOMAIN_INVALID (exit 2) naming the pack, never INTERNAL with a bare TypeError."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sdk.packs_cli import error_of, run_pack, write_pack

BAD_PARTS = {
    "tools-none": 'DomainParts(tools=None, principals=Members(), rights={"member": ()})',
    "rights-number": 'DomainParts(tools=[find_book], principals=Members(), rights={"member": 5})',
}


@pytest.mark.parametrize("case", sorted(BAD_PARTS))
def test_wrong_shaped_parts_are_domain_invalid(tmp_path: Path, case: str) -> None:
    write_pack(
        tmp_path,
        "shapepack",
        f"""
        def bad_setup(ctx):
            return {BAD_PARTS[case]}


        LIBRARY = Domain(name="library", version="1.0", setup=bad_setup, agents=AGENTS)
        """,
    )
    done = run_pack(tmp_path, "shapepack:LIBRARY")
    out = done.stdout + done.stderr
    assert error_of(out).get("code") == "DOMAIN_INVALID", out
    assert done.returncode == 2, out

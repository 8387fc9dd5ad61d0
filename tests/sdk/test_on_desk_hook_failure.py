"""A pack's `on_desk` hook is the pack's own code: its failure is DOMAIN_INVALID (exit 2),
as for a failing setup or a `sys.exit` in the pack, never INTERNAL and never a clean exit."""

from __future__ import annotations

from pathlib import Path

from tests.sdk.packs_cli import error_of, run_pack, write_pack


def _run_pack(tmp_path: Path, hook_body: str) -> tuple[int, dict, str]:
    write_pack(
        tmp_path,
        "hookpack",
        f"""
        def last_touch(desk):
            {hook_body}


        LIBRARY = Domain(name="library", version="1.0", setup=setup, agents=AGENTS,
                         on_desk=last_touch)
        """,
    )
    done = run_pack(tmp_path, "hookpack:LIBRARY")
    return done.returncode, error_of(done.stdout + "\n" + done.stderr), done.stdout + done.stderr


def test_on_desk_sys_exit_zero_is_domain_invalid_not_a_silent_success(tmp_path: Path) -> None:
    code, error, out = _run_pack(tmp_path, "raise SystemExit(0)")
    assert code == 2, f"exit {code}, output: {out!r}"
    assert error.get("code") == "DOMAIN_INVALID", out


def test_on_desk_raising_is_domain_invalid_not_internal(tmp_path: Path) -> None:
    code, error, out = _run_pack(tmp_path, "raise RuntimeError('the catalogue is offline')")
    assert error.get("code") == "DOMAIN_INVALID", out
    assert code == 2, out
    assert "hookpack.py" in error.get("message", ""), error

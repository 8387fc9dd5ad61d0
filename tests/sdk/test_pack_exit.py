"""A pack that calls `sys.exit(...)` when imported (wanting a setting first), from its factory
or from its setup has failed to load, like a pack raising any exception of its own: `domains
list` lists it with `ok: false` and DOMAIN_INVALID naming its file and exits 1, and a command
hosting it fails with DOMAIN_INVALID (exit 2) with nothing stored. A KeyboardInterrupt is not
the pack's failure: it still stops the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tether.core.errors import ErrorCode, TetherError
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_reference
from tether.store.release_schema import releases
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
PACKS = {
    "needs_setting": 'import sys\nsys.exit("set CLINIC_DB before loading the clinic pack")\n',
    "factory_exits": "def make():\n    raise SystemExit(0)\n",
}
REFS = {"needs_setting": "needs_setting:CLINIC", "factory_exits": "factory_exits:make"}


def tether(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    for name, text in PACKS.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env.update(TETHER_HOME=str(tmp_path / "home"), PYTHONPATH=f"{src}:{tmp_path}")
    return subprocess.run([TETHER, *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False, cwd=tmp_path, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_domains_list_lists_a_pack_that_exits_as_failing(tmp_path: Path, pack: str) -> None:
    proc = tether(tmp_path, "domains", "list", "--domain", REFS[pack], "--json")
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-300:], proc.stderr[-300:])
    listed = {d["module"]: d for d in json.loads(proc.stdout)["domains"]}
    assert listed[REFS[pack]]["ok"] is False
    error = listed[REFS[pack]]["error"]
    assert error["code"] == "DOMAIN_INVALID" and "sys.exit(" in error["message"]
    assert error["details"]["file"] == str(tmp_path / f"{pack}.py")


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_release_create_over_a_pack_that_exits_fails_with_a_code(tmp_path: Path, pack: str) -> None:
    proc = tether(tmp_path, "release", "create", "--domain", REFS[pack], "--json")
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-300:], proc.stderr[-300:])
    assert json.loads(proc.stdout)["error"]["code"] == "DOMAIN_INVALID"
    store = RunStore.open(f"sqlite:///{tmp_path / 'home' / 'tether.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(releases)).scalar_one() == 0
    store.close()


def write_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> str:
    (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:PACK"


def test_a_setup_that_exits_is_the_packs_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = write_pack(tmp_path, monkeypatch, "setup_exits", (
        "import sys\nfrom tether.core.types import Agent\nfrom tether.sdk import Domain\n"
        "PACK = Domain('setup_exits', '1', (Agent('a', 'Help.', ()),), "
        "lambda ctx: sys.exit(3))\n"))  # fmt: skip
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        with pytest.raises(TetherError) as caught:
            build_desk(load_reference(ref), store)
    finally:
        store.close()
    assert caught.value.code is ErrorCode.DOMAIN_INVALID
    assert "sys.exit(3)" in caught.value.message


def test_a_keyboard_interrupt_in_a_pack_still_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = write_pack(tmp_path, monkeypatch, "interrupted", "raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        load_reference(ref)

"""Domain packs through the `tether` command as a user runs it: real subprocesses with
`TETHER_HOME` in a tmp dir, the repo on `PYTHONPATH` for the test packs, exit codes, and no
tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from tether.domains.retail.pack import RETAIL

TETHER = str(Path(sys.executable).parent / "tether")
ROOT = Path(__file__).resolve().parents[2]
PACKS = ROOT / "tests" / "sdk" / "packs"
LIBRARY_REF = "tests.sdk.packs.library:LIBRARY"
BROKEN_REF = "tests.sdk.packs.broken_import:PACK"


def tether(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command in `cwd` (no tether.toml unless a test writes one)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    full_env["TETHER_HOME"] = str(cwd / "home")
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run(
        [TETHER, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout


def listed(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {d["module"]: d for d in json.loads(proc.stdout)["domains"]}


def script(tmp_path: Path) -> Path:
    path = tmp_path / "turns.yaml"
    path.write_text(
        "- tool: find_book\n  args: {title: Dune}\n"
        "- answer: 'Dune by Frank Herbert is on the shelf [tool:1].'\n",
        encoding="utf-8",
    )
    return path


def test_domains_list_shows_the_retail_pack(tmp_path: Path) -> None:
    proc = tether("domains", "list", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    domains = json.loads(proc.stdout)["domains"]
    [retail] = [d for d in domains if d["name"] == "retail"]
    assert retail == {
        "name": "retail",
        "version": metadata.version("tether"),
        "module": "tether.domains.retail.pack:RETAIL",
        "agents": ["retail-desk"],
        "tools": list(RETAIL.tool_names()),
        "ok": True,
        "error": None,
    }
    assert {"get_order_details", "cancel_pending_order"} <= set(retail["tools"])


def test_a_pack_that_fails_to_import_is_listed_with_its_error(tmp_path: Path) -> None:
    proc = tether("domains", "list", "--json", "--domain", BROKEN_REF, cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    packs = listed(proc)
    assert packs["tether.domains.retail.pack:RETAIL"]["ok"] is True  # the others still load
    broken = packs[BROKEN_REF]
    assert broken["ok"] is False and broken["version"] is None and broken["tools"] == []
    assert broken["error"]["code"] == "DOMAIN_INVALID"
    assert broken["error"]["details"]["file"] == str(PACKS / "broken_import.py")


def test_domains_list_adds_a_pack_named_by_reference(tmp_path: Path) -> None:
    proc = tether("domains", "list", "--json", "--domain", LIBRARY_REF, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    library = listed(proc)[LIBRARY_REF]
    assert library["ok"] is True and library["error"] is None
    assert (library["name"], library["version"]) == ("library", "0.1.0")
    assert library["agents"] == ["librarian"]
    assert library["tools"] == ["borrow_book", "find_book"]


def test_the_table_names_the_failing_pack_its_code_and_file(tmp_path: Path) -> None:
    wide = {"COLUMNS": "400"}  # one row per pack, unwrapped
    proc = tether("domains", "list", "--domain", BROKEN_REF, cwd=tmp_path, env=wide)
    assert proc.returncode == 1
    no_traceback(proc)
    [row] = [line for line in proc.stdout.splitlines() if BROKEN_REF in line]
    assert "│ NO " in row and "DOMAIN_INVALID" in row
    assert str(PACKS / "broken_import.py") in row


def test_run_with_an_unknown_domain_exits_2_without_a_traceback(tmp_path: Path) -> None:
    turns = str(script(tmp_path))
    proc = tether(
        "run", "hi", "--as", "someone", "--script", turns, "--domain", "nosuch", cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "DOMAIN_NOT_FOUND" in proc.stderr and "'nosuch'" in proc.stderr
    assert proc.stdout == ""
    no_traceback(proc)


def test_run_reports_an_unknown_domain_before_a_missing_model(tmp_path: Path) -> None:
    proc = tether("run", "hi", "--as", "someone", "--domain", "nosuch", cwd=tmp_path)
    assert proc.returncode == 2
    assert "DOMAIN_NOT_FOUND" in proc.stderr


def test_the_domain_flag_beats_the_environment(tmp_path: Path) -> None:
    env = {"TETHER_DOMAIN": LIBRARY_REF}
    args = ("run", "hi", "--as", "ada", "--script", str(script(tmp_path)), "--domain", "nosuch")
    proc = tether(*args, cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "DOMAIN_NOT_FOUND" in proc.stderr


def test_tether_domain_runs_the_library_pack(tmp_path: Path) -> None:
    turns = script(tmp_path)
    env = {"TETHER_DOMAIN": LIBRARY_REF}
    args = ("run", "Is Dune in?", "--as", "ada", "--script", str(turns), "--json")
    proc = tether(*args, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["input"]["domain"] == {"name": "library", "version": "0.1.0"}
    assert run["agent"] == "librarian" and run["principal"] == "ada"
    assert run["decision"]["kind"] == "answer"
    assert run["decision"]["citations"] == ["tool:1"]
    [done] = [s for s in run["steps"] if s["kind"] == "tool"]
    assert done["name"] == "find_book" and done["data"]["output"]["author"] == "Frank Herbert"
    # the principal comes from the library's directory: a retail customer is unknown there
    retail_user = ("run", "Is Dune in?", "--as", "raj_sanchez_2970", "--script", str(turns))
    proc = tether(*retail_user, cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "UNKNOWN_PRINCIPAL" in proc.stderr
    no_traceback(proc)


def test_tether_toml_in_the_working_directory_selects_the_pack(tmp_path: Path) -> None:
    (tmp_path / "tether.toml").write_text(f'domain = "{LIBRARY_REF}"\n', encoding="utf-8")
    args = ("run", "Is Dune in?", "--as", "ada", "--script", str(script(tmp_path)), "--json")
    proc = tether(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["input"]["domain"]["name"] == "library"


def test_a_malformed_tether_toml_exits_2_with_config_invalid(tmp_path: Path) -> None:
    (tmp_path / "tether.toml").write_text("domain = [unclosed\n", encoding="utf-8")
    proc = tether("run", "hi", "--as", "ada", "--script", str(script(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 2
    assert "CONFIG_INVALID" in proc.stderr and "tether.toml" in proc.stderr
    no_traceback(proc)

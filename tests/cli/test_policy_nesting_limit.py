"""A Cedar policy or schema nested deeper than MAX_NESTING (200) levels of parentheses, brackets
and braces is refused as POLICY_INVALID at the line where it goes deeper, before Cedar's native
parser (which overflows the stack near 700 levels) sees it: `tether policy check` and `tether
release create --from` exit 2 with nothing stored; a policy nested exactly 200 deep loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from tests.release.helpers import SCHEMA, bundle
from tether.policy.source import MAX_NESTING, load_policies
from tether.release import write_release_dir
from tether.store.release_schema import releases
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
DEPTH = 1000


def nested(depth: int) -> str:
    return (
        '@id("deep")\npermit (principal, action == Action::"read", resource) when {\n'
        + "(" * depth + "true" + ")" * depth + " };\n"
    )  # fmt: skip


DEEP = nested(DEPTH)


def tether(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(TETHER_HOME=str(home), TETHER_DATABASE_URL=url)
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def stable_refusal(proc: subprocess.CompletedProcess[str]) -> None:
    said = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode} (-11/139: SIGSEGV): {said[-500:]}"
    assert "Traceback" not in said
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "POLICY_INVALID"
    assert "deep.cedar:3: nested more than 200 levels" in error["message"]  # the line it is on


def test_policy_check_refuses_a_deeply_nested_condition(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "library.cedarschema").write_text(SCHEMA)
    (tmp_path / "deep.cedar").write_text(DEEP)
    proc = tether(sqlite_url, tmp_path / "home", "policy", "check", str(tmp_path / "deep.cedar"),
                  "--schema", str(tmp_path / "library.cedarschema"), "--json")  # fmt: skip
    stable_refusal(proc)


def test_release_create_refuses_it_and_stores_nothing(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "release"
    write_release_dir(bundle(policies=[("deep.cedar", DEEP)]), folder)
    proc = tether(store_url, tmp_path / "home", "release", "create", "--from", str(folder),
                  "--json")  # fmt: skip
    stable_refusal(proc)
    store = RunStore.open(store_url)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(releases)).scalar_one() == 0
    store.close()


def test_a_policy_nested_to_the_limit_loads(tmp_path: Path) -> None:
    (tmp_path / "library.cedarschema").write_text(SCHEMA)
    (tmp_path / "deep.cedar").write_text(nested(MAX_NESTING - 1))  # and its `when { }`
    loaded = load_policies(tmp_path / "library.cedarschema", [tmp_path / "deep.cedar"])
    assert list(loaded.meta) == ["deep"]
    # brackets in strings and comments do not count
    (tmp_path / "deep.cedar").write_text("// " + "(" * 900 + "\n" + nested(1).replace(
        "true", '"' + "[" * 900 + '" == "' + "[" * 900 + '"'))  # fmt: skip
    assert list(load_policies(tmp_path / "library.cedarschema", [tmp_path / "deep.cedar"]).meta)


def test_a_schema_nested_too_deep_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    deep = "entity Deep = " + "{a: " * 5000 + "String" + "}" * 5000 + ";\n"
    (tmp_path / "library.cedarschema").write_text(SCHEMA + deep)
    (tmp_path / "deep.cedar").write_text(nested(1))
    proc = tether(sqlite_url, tmp_path / "home", "policy", "check", str(tmp_path / "deep.cedar"),
                  "--schema", str(tmp_path / "library.cedarschema"), "--json")  # fmt: skip
    assert proc.returncode == 2, f"exit {proc.returncode} (-11/139: SIGSEGV)"
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "POLICY_INVALID"
    assert "library.cedarschema:3: schema: nested more than 200" in error["message"]

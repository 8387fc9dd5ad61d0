"""`tether policy test`: the packaged cases pass, a wrong expectation fails, bad files are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.domains.retail.policy import policy_dir
from tether.policy.cases import WorldFactory, run_case_dir
from tether.sdk.cases import case_world
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
CASES = policy_dir() / "cases"
STORE_RULES = {
    "authenticate-first",
    "one-customer",
    "own-records-only",
    "confirm-before-write",
    "cancel-pending-only",
    "cancel-reason",
    "modify-pending-only",
    "modify-items-once",
    "delivered-only",
    "refund-to-original-or-gift-card",
    "payment-change-differs",
    "gift-card-covers",
    "same-product-swap",
    "available-items-only",
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[WorldFactory]:
    store = RunStore.open(f"sqlite:///{tmp_path / 'cases.db'}")
    yield case_world(RETAIL, store)
    store.close()


def tether(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(home)
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_every_packaged_case_passes_and_every_store_rule_has_a_denying_case(
    world: WorldFactory,
) -> None:
    results = list(run_case_dir(CASES, world))
    assert [r.name for r in results if not r.ok] == []
    denied = {rule for r in results if r.verdict.effect.value != "allow" for rule in r.rules}
    assert denied >= STORE_RULES
    assert {r.verdict.effect.value for r in results} == {"allow", "deny", "escalate", "confirm"}


def write_cases(folder: Path, body: str) -> None:
    folder.mkdir()
    root = policy_dir()
    header = f"schema: {root / 'retail.cedarschema'}\npolicies: [{root / 'store.cedar'}]\n"
    (folder / "cases.yaml").write_text(header + body)


def test_a_wrong_expectation_fails_and_the_command_exits_1(
    tmp_path: Path, world: WorldFactory
) -> None:
    folder = tmp_path / "cases"
    write_cases(
        folder,
        """cases:
  - name: claims an unverified read is fine
    principal: raj_sanchez_2970
    conversation:
      - user: "What's in #W4566809?"
    call: {tool: get_order_details, args: {order_id: "#W4566809"}}
    expect: {effect: allow}
""",
    )
    [result] = run_case_dir(folder, world)
    assert not result.ok and result.rules == ["authenticate-first"]
    proc = tether("policy", "test", str(folder), "--json", home=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["passed"], report["failed"]) == (0, 1)
    assert report["cases"][0]["actual"] == {"effect": "deny", "rules": ["authenticate-first"]}


@pytest.mark.parametrize(
    "body",
    [
        "cases: []\n",
        "cases:\n  - name: x\n    principal: p\n    expect: {effect: allow}\n",
        "cases:\n  - name: x\n    principal: p\n    answer: hi\n    expect: {effect: maybe}\n",
        "cases:\n  - name: x\n    principal: p\n    conversation: [{user: a, assistant: b}]\n"
        "    answer: hi\n    expect: {effect: allow}\n",
    ],
)
def test_malformed_case_files_are_refused(tmp_path: Path, body: str, world: WorldFactory) -> None:
    folder = tmp_path / "cases"
    write_cases(folder, body)
    with pytest.raises(TetherError) as caught:
        list(run_case_dir(folder, world))
    assert caught.value.code is ErrorCode.SCENARIO_INVALID


def test_policy_check_reports_file_and_line_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cedar"
    bad.write_text('@id("a")\n@reason("x")\nforbid (principal, action, resource)\nwhen { 1 + };\n')
    proc = tether("policy", "check", str(bad), home=tmp_path)
    assert proc.returncode == 2
    assert f"POLICY_INVALID: {bad}:4: unexpected token" in proc.stderr.replace("\n", "")
    assert "Traceback" not in proc.stderr
    ok = tether("policy", "check", "--json", home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    ids = [p["id"] for p in json.loads(ok.stdout)["policies"]]
    assert "supervisor-approval-large-return" in ids and "confirm-before-write" in ids

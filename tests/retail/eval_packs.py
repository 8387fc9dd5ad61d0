"""Retail packs whose `eval policy` harness runs on a few cancellation tasks, for driving
`tether eval policy --domain tests.retail.eval_packs:<NAME>` in a real process: the desk's own
rules, rules that refuse legitimate work, and rules missing the one-customer rule."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from tether.domains.retail.evaluation import PolicyEvalReport, evaluate_policies
from tether.domains.retail.pack import RETAIL
from tether.domains.retail.policy import DESK_RULES, SCHEMA_FILE, policy_dir
from tether.domains.retail.replay import Task, gold_actions, load_tasks
from tether.policy.engine import PolicyEngine

OVERREACH = (
    '\n@id("no-cancellations")\n@reason("never cancel")\n'
    'forbid (principal, action == Action::"cancel_pending_order", resource);\n'
)


def cancel_tasks(n: int = 6) -> list[Task]:
    """The first `n` tasks whose gold sequence cancels an order."""
    found = [
        t for t in load_tasks() if any(a["name"] == "cancel_pending_order" for a in gold_actions(t))
    ]
    return found[:n]


def desk_engine(folder: Path, drop: str = "", add: str = "") -> PolicyEngine:
    """The desk's rules (store, safety, house) with one store rule removed and/or text added."""
    paths = []
    for name in DESK_RULES:
        text = (policy_dir() / name).read_text()
        if name == "store.cedar":
            if drop:
                start = text.index(f'@id("{drop}")')
                text = text[:start] + text[text.index(";", text.index("forbid", start)) + 1 :]
            text += add
        path = folder / name
        path.write_text(text)
        paths.append(path)
    return PolicyEngine.from_files(policy_dir() / SCHEMA_FILE, paths)


def _harness(drop: str = "", add: str = "") -> Any:
    def run(**_: Any) -> PolicyEvalReport:
        with tempfile.TemporaryDirectory() as folder:
            engine = desk_engine(Path(folder), drop, add) if drop or add else None
            return evaluate_policies(cancel_tasks(), engine)

    return run


def _pack(name: str, drop: str = "", add: str = "") -> Any:
    harnesses = {**RETAIL.harnesses, "eval policy": _harness(drop, add)}
    return dataclasses.replace(RETAIL, name=name, harnesses=harnesses)


SMALL = _pack("retail-small")
OVERREACHING = _pack("retail-overreaching", add=OVERREACH)
UNGUARDED = _pack("retail-unguarded", drop="one-customer")

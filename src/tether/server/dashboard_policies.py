"""The policies page: the policy set the runtime's checks decide with (every statement, its
effect, reason and origin), how often each rule determined a verdict, and verdicts per check."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tether.access.operators import Operator
from tether.policy.source import LoadedPolicies
from tether.server.dashboard_overview import DEFAULT_WINDOW, WINDOWS, Window, chosen_window

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

MAX_FILE_CHARS = 200_000


def loaded_policy_sets(checks: Iterable[object]) -> list[LoadedPolicies]:
    """The policy sets behind the guard chain's policy checks, each once."""
    found: dict[int, LoadedPolicies] = {}
    for check in checks:
        policies = getattr(getattr(check, "engine", None), "policies", None)
        if isinstance(policies, LoadedPolicies):
            found.setdefault(id(policies), policies)
    return list(found.values())


def _file_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")[:MAX_FILE_CHARS]
    except (OSError, UnicodeDecodeError) as exc:
        return f"(cannot read {Path(path).name}: {type(exc).__name__})"


def _check_name(check: object) -> str:
    return str(getattr(check, "name", type(check).__name__))


def rule_rows(sets: list[LoadedPolicies], hits: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """One row per rule (statements sharing the id before ':'), in file order, with hits."""
    rules: dict[str, dict[str, Any]] = {}
    for policies in sets:
        for meta in policies.meta.values():
            row = rules.setdefault(
                meta.rule, {"rule": meta.rule, "statements": [], "hits": hits.get(meta.rule, {})}
            )
            row["statements"].append(
                {
                    **meta.to_dict(),
                    "approver": meta.approver if meta.escalate else "",
                    "expires_in_s": meta.expires_in_s if meta.escalate else None,
                }
            )
    for row in rules.values():
        row["total"] = sum(row["hits"].values())
    return list(rules.values())


def add_policy_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /policies`."""

    @router.get("/policies", response_class=HTMLResponse, name="dashboard_policies")
    def policies_page(request: Request, window: str = DEFAULT_WINDOW) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        chosen = chosen_window(dash, request, window)
        if not isinstance(chosen, Window):
            return chosen
        axis = chosen.axis(time.time())
        runtime = dash.desk.runtime
        sets = loaded_policy_sets([*runtime.tool_checks, *runtime.answer_checks])
        hits: dict[str, dict[str, int]] = defaultdict(dict)
        for row in dash.kpis.rule_hit_counts(None, axis.start, axis.end):
            hits[row.subject][row.key] = row.count
        rows = rule_rows(sets, hits)
        known = {r["rule"] for r in rows}
        verdicts: dict[str, dict[str, int]] = defaultdict(dict)
        for row in dash.kpis.counts("verdict", None, axis.start, axis.end):
            verdicts[row.subject][row.key] = row.count
        files = [
            {"name": Path(f).name, "path": f, "text": _file_text(f)}
            for policies in sets
            for f in policies.files
        ]
        context = {
            "rules": rows,
            "files": files,
            "statements": sum(len(p.meta) for p in sets),
            "unknown_hits": sorted(
                ((rule, effects) for rule, effects in hits.items() if rule not in known),
                key=lambda kv: kv[0],
            ),
            "verdicts": sorted(verdicts.items()),
            "checks": [_check_name(c) for c in runtime.tool_checks],
            "answer_checks": [_check_name(c) for c in runtime.answer_checks],
            "window": chosen.name,
            "windows": list(WINDOWS),
            "since": axis.start,
        }
        return dash.render(request, "policies.html", context)

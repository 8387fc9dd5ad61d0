"""How a run's decision follows from its data: evidence → claims → decision, and for actions
the chain guard → tool → result. Built from the recorded steps alone, for the run page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.core.types import Run, Step, StepKind

PREVIEW_CHARS = 160
STATUS_TONE = {"supported": "ok", "contradicted": "bad", "unsupported": "warn", "uncertain": "warn"}


def _preview(text: object) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def evidence_index(run: Run) -> dict[str, str]:
    """Evidence id -> title (or tool name) for every passage and tool result in the run."""
    return {e["id"]: e["label"] for e in _evidence(run)}


def _evidence(run: Run) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in run.steps:
        for ev in step.data.get("evidence", ()) if step.kind is StepKind.RETRIEVAL else ():
            out.append(
                {
                    "id": ev["id"],
                    "label": ev.get("title") or ev.get("source", ""),
                    "kind": "passage",
                    "source": ev.get("source", ""),
                    "seq": step.seq,
                    "preview": _preview(ev.get("text", "")),
                }
            )
        if step.kind is StepKind.TOOL and step.data.get("evidence_id"):
            out.append(
                {
                    "id": step.data["evidence_id"],
                    "label": f"result of {step.data.get('tool', step.name)}",
                    "kind": "tool result",
                    "source": str(step.data.get("tool", step.name)),
                    "seq": step.seq,
                    "preview": _preview(step.data.get("output", "")),
                }
            )
    return out


def _answer_guards(run: Run) -> list[Step]:
    """The checks of every proposed answer (guard steps without a tool call), in order."""
    return [s for s in run.steps if s.kind is StepKind.GUARD and "call" not in s.data]


def _claims(verdicts: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every assessed claim the answer checks recorded, once each, with its evidence spans."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for verdict in verdicts:
        facts = verdict.get("facts") or {}
        for claim in [*facts.get("claims", ()), *facts.get("failing", ())]:
            if not isinstance(claim, Mapping):
                continue
            key = (str(claim.get("claim", "")), str(claim.get("span", "")))
            if key in seen:
                continue
            seen.add(key)
            status = str(claim.get("status", ""))
            out.append(
                {
                    "text": key[0],
                    "status": status,
                    "tone": STATUS_TONE.get(status, ""),
                    "reasons": [str(r) for r in claim.get("reasons", ())],
                    "evidence": [e for e in claim.get("evidence", ()) if isinstance(e, Mapping)],
                    "decided_by": str(claim.get("decided_by", "")),
                    "field": str(claim.get("field") or ""),
                    "check": str(verdict.get("check", "")),
                }
            )
    return out


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def claim_table(verdict: Mapping[str, Any]) -> dict[str, Any] | None:
    """The per-claim verdicts of a `claims` check, for its table on the run and step pages:
    every claim when the verdict kept them (`facts.claims`), else the failing ones (what
    earlier verdicts kept). Missing keys become blanks; None when there is nothing to show."""
    facts = verdict.get("facts")
    if not isinstance(facts, Mapping):
        return None
    every = isinstance(facts.get("claims"), list)
    items = facts.get("claims") if every else facts.get("failing")
    if not isinstance(items, list):
        return None
    rows = []
    for claim in items:
        if not isinstance(claim, Mapping):
            continue
        status = str(claim.get("status") or "")
        field, reasons = claim.get("field"), claim.get("reasons")
        rows.append(
            {
                "text": str(claim.get("claim") or ""),
                "status": status,
                "known": status in STATUS_TONE,  # only known statuses name a CSS class
                "decided_by": str(claim.get("decided_by") or ""),
                "field": "" if field is None else str(field),
                "reasons": [str(r) for r in reasons if r] if isinstance(reasons, list) else [],
            }
        )
    return {
        "every": every,
        "rows": rows,
        "score": _number(facts.get("score")),
        "operating_point": _number(facts.get("operating_point")),
    }


def _checks(verdicts: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for verdict in verdicts:
        facts = verdict.get("facts") or {}
        out.append(
            {
                "check": verdict.get("check", ""),
                "effect": verdict.get("effect", ""),
                "reasons": list(verdict.get("reasons", ())),
                "groundedness": facts.get("groundedness"),
                "checked": facts.get("checked"),
                "cited": list(facts.get("cited", ()) or facts.get("evidence", ())),
            }
        )
    return out


def _actions(run: Run) -> list[dict[str, Any]]:
    """Each proposed tool call: the guard's outcome, then the execution and its evidence id."""
    out: list[dict[str, Any]] = []
    by_call: dict[str, dict[str, Any]] = {}
    for step in run.steps:
        data = step.data
        if step.kind is StepKind.GUARD and "call" in data:
            call = data.get("call") or {}
            entry: dict[str, Any] = {
                "tool": call.get("name", step.name),
                "guard_seq": step.seq,
                "effect": data.get("effect", ""),
                "decided_by": data.get("decided_by", ""),
                "tool_seq": None,
                "ok": None,
                "code": "",
                "evidence_id": "",
            }
            out.append(entry)
            by_call[str(call.get("id", ""))] = entry
        elif step.kind is StepKind.TOOL:
            ran = by_call.get(str(data.get("call_id", "")))
            if ran is not None:
                ran.update(
                    tool_seq=step.seq,
                    ok=bool(data.get("ok")),
                    code=(data.get("error") or {}).get("code", ""),
                    evidence_id=data.get("evidence_id", ""),
                )
    return out


def lineage(run: Run) -> dict[str, Any]:
    """The run's evidence (cited items marked), each proposed answer with its checks and the
    claims they assessed, the proposed actions, and the decision they led to."""
    decision = run.decision.to_dict() if run.decision else None
    answers = []
    cited = set(decision["citations"]) if decision else set()
    for guard in _answer_guards(run):
        verdicts = list(guard.data.get("verdicts", ()))
        checks = _checks(verdicts)
        answers.append(
            {
                "seq": guard.seq,
                "effect": guard.data.get("effect", ""),
                "checks": checks,
                "claims": _claims(verdicts),
            }
        )
        for check in checks:
            if check["check"] == "citations":
                cited.update(str(c) for c in check["cited"])
    evidence = _evidence(run)
    for item in evidence:
        item["cited"] = item["id"] in cited
    return {
        "evidence": evidence,
        "answers": answers,
        "actions": _actions(run),
        "decision": decision,
        "uncited": sorted(
            set(decision["citations"] if decision else ()) - {e["id"] for e in evidence}
        ),
    }


def capability(run: Run) -> dict[str, Any] | None:
    """The capability token the run was scoped with (its public claims), if it recorded one."""
    scope = next((s for s in run.steps if s.kind is StepKind.SCOPE), None)
    if scope is None:
        return None
    token = scope.data.get("capability")
    return dict(token) if isinstance(token, Mapping) else None

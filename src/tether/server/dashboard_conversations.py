"""Conversations: the list (latest activity first, paged) and one conversation turn by turn:
what the user sent, the turn's run and Decision, each pending action proposed, and how it was
answered (a button, or a message and the consent classifier's reading of it) or that it expired.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, func, select

from tether.access.operators import Operator
from tether.conversations import ConversationRecord, TurnRecord
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, StepKind
from tether.server.dashboard_core import page_number
from tether.store.conversations_schema import conversation_turns, conversations

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

PAGE_SIZE = 25
MAX_PRINCIPAL_CHARS = 256
BUTTONS = {"confirm": "confirmed", "decline": "declined"}  # what a button turn sent


def count_conversations(engine: Engine, principal_id: str | None = None) -> int:
    """How many conversations there are (of `principal_id`, when given)."""
    query = select(func.count()).select_from(conversations)
    if principal_id is not None:
        query = query.where(conversations.c.principal_id == principal_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def turns_of_runs(engine: Engine, run_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """run id -> (conversation id, turn), for those of `run_ids` that are a conversation's turn
    (one query for a whole page of runs)."""
    if not run_ids:
        return {}
    c = conversation_turns.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.run_id, c.conversation_id, c.turn).where(c.run_id.in_(list(run_ids)))
        ).all()
    return {str(r[0]): (str(r[1]), int(r[2])) for r in rows}


def pending_state(record: ConversationRecord, now: float) -> str:
    """'waiting' while the pending action can be confirmed, 'expired' after, '' with none."""
    if record.pending is None:
        return ""
    return "expired" if record.pending.expired(now) else "waiting"


def _sent(turn: TurnRecord, run: Run | None) -> str:
    """What the user sent in the turn: the message, or the button they pressed."""
    if turn.kind in BUTTONS:
        return BUTTONS[turn.kind]
    if run is None:
        return ""
    messages = run.input.get("messages") or []
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    return str(users[-1]) if users else ""


def turn_views(turns: Sequence[TurnRecord], runs: Mapping[str, Run]) -> list[dict[str, Any]]:
    """Each turn as the page shows it: what was sent, the run's status and Decision, the
    pending action it proposed (with its fate, filled in by the turn that answered it) and the
    answer it gave to an earlier one."""
    proposals: dict[str, dict[str, Any]] = {}  # nonce -> the action, as its turn shows it
    out: list[dict[str, Any]] = []
    for turn in turns:
        run = runs.get(turn.run_id)
        view: dict[str, Any] = {
            "turn": turn.turn,
            "kind": turn.kind,
            "by_button": turn.kind in BUTTONS,
            "sent": _sent(turn, run),
            "created_at": turn.created_at,
            "run_id": turn.run_id,
            "found": run is not None,
            "status": run.status.value if run is not None else "",
            "release": run.release if run is not None else "",
            "decision": run.decision.to_dict() if run and run.decision else None,
            "proposed": None,
            "answer": None,
        }
        for step in run.steps if run is not None else ():
            if step.kind is not StepKind.CONFIRMATION:
                continue
            data = step.data
            nonce = str(data.get("nonce") or (data.get("pending_action") or {}).get("nonce", ""))
            if data.get("event") == "requested":
                action = {**(data.get("pending_action") or {}), "turn": turn.turn, "answer": None}
                proposals[nonce] = view["proposed"] = action
                continue
            answer = {
                "event": str(data.get("event", "")),
                "by": data.get("by") or "",
                "reading": data.get("reading"),
                "nonce": nonce,
                "tool": data.get("tool", ""),
                "run_id": turn.run_id,
                "seq": step.seq,
                "turn": turn.turn,
                "proposed_in": proposals.get(nonce, {}).get("turn"),
            }
            view["answer"] = answer
            if nonce in proposals:
                proposals[nonce]["answer"] = answer
        out.append(view)
    return out


def add_conversation_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /conversations` (the list) and `GET /conversations/{id}` (one conversation)."""
    engine = dash.desk.store.engine

    @router.get("/conversations", response_class=HTMLResponse, name="dashboard_conversations")
    def conversations_page(request: Request, principal: str = "", page: str = "1") -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        principal = principal.strip()
        try:
            if len(principal) > MAX_PRINCIPAL_CHARS:
                detail = f"principal is at most {MAX_PRINCIPAL_CHARS} characters"
                raise TetherError(ErrorCode.BAD_REQUEST, detail)
            number = page_number(page.strip())
        except TetherError as exc:
            return dash.error(request, 400, exc.code, exc.message)
        total = count_conversations(engine, principal or None)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if number > pages:
            detail = f"page {number} is past the last page ({pages})"
            return dash.error(request, 400, ErrorCode.BAD_REQUEST, detail)
        found = dash.conversations.find(
            principal or None, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        now = dash.desk.runtime.clock.now()

        def link(to: int) -> str:
            params = {"principal": principal, "page": to}
            kept = urlencode({k: v for k, v in params.items() if v not in ("", 1)})
            return str(request.url_for("dashboard_conversations").replace(query=kept))

        rows = [{**r.summary(now), "pending": pending_state(r, now)} for r in found]
        context = {
            "conversations": rows,
            "principal": principal,
            "page": number,
            "pages": pages,
            "total": total,
            "prev_url": link(number - 1) if number > 1 else None,
            "next_url": link(number + 1) if number < pages else None,
        }
        return dash.render(request, "conversations.html", context)

    @router.get(
        "/conversations/{conversation_id}",
        response_class=HTMLResponse,
        name="dashboard_conversation",
    )
    def conversation_page(request: Request, conversation_id: str) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        try:
            record = dash.conversations.get(conversation_id)
        except TetherError as exc:
            if exc.code is not ErrorCode.CONVERSATION_NOT_FOUND:
                raise
            return dash.error(request, 404, exc.code, exc.message)
        turns = dash.conversations.turns(record.id)
        runs = _runs(dash, turns)
        now = dash.desk.runtime.clock.now()
        pending = record.pending
        proposed_in = [t.turn for t in turns if pending is not None and t.run_id == pending.run_id]
        context = {
            "conversation": record.summary(now),
            "turns": [
                {**view, "release_changed": record.release_differs(view["release"])}
                for view in turn_views(turns, runs)
            ],
            "pending": pending.to_dict() if pending else None,
            "pending_state": pending_state(record, now),
            "pending_turn": proposed_in[0] if proposed_in else None,
        }
        return dash.render(request, "conversation.html", context)


def _runs(dash: Dashboard, turns: Sequence[TurnRecord]) -> dict[str, Run]:
    """Each turn's run with its steps (a run the store no longer has is left out)."""
    out: dict[str, Run] = {}
    for turn in turns:
        try:
            out[turn.run_id] = dash.desk.store.get_run(turn.run_id)
        except TetherError as exc:
            if exc.code is not ErrorCode.RUN_NOT_FOUND:
                raise
    return out

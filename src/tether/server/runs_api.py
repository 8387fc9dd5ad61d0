"""Starting runs over HTTP: `POST /v1/runs`, `POST /v1/runs/{id}/cancel`, the feedback on a run
and the events stream `GET /v1/runs/{id}/events`.

No agent runs inside a request. A run is accepted once it is durable and on the run queue:
`202 Accepted` with `Location: /v1/runs/{id}` and the run (`status` `queued` or `running`);
a worker executes it (see `tether.workers`). `?wait=SECONDS` (at most 60) answers `200` with
the run and its Decision if it ends within the wait, else `202` with its status then. A full
queue, or a principal or operator key with too many runs in flight (see
`tether.server.quotas`), is `429` with `Retry-After`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tether.access.end_users import EndUserVerifier
from tether.access.operators import Operator, Permission
from tether.conversations.store import ConversationStore
from tether.conversations.turns import fold_turn
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.models.base import ModelAdapter
from tether.observe.feedback import FeedbackStore
from tether.runtime import RunRequest
from tether.runtime.inputs import check_messages
from tether.sdk.desk import Desk
from tether.server.admission import Admission
from tether.server.conversations_api import end_user_token, principal_for, verified_end_user
from tether.server.idempotency import STATE as IDEMPOTENCY
from tether.server.idempotency import keyed_id
from tether.server.inputs import StoredText, plain_digits
from tether.server.problems import problem_responses
from tether.server.run_events import (
    MAX_WAIT_S,
    RunSignals,
    Watch,
    run_events,
    settled_detail,
)
from tether.server.run_models import FeedbackIn, FeedbackOut, RunCreate, RunDetail
from tether.server.security import NO_STORE
from tether.store.run_rows import run_operator

AUTH = (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID, ErrorCode.ROLE_FORBIDDEN)


def runs_router(
    desk: Desk,
    admission: Admission,
    signals: RunSignals,
    choose_model: Callable[[list[dict[str, Any]] | None], ModelAdapter],
    can_read: Callable[..., Awaitable[Operator]],
    can_create: Callable[..., Awaitable[Operator]],
    feedback: FeedbackStore,
    end_users: EndUserVerifier | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/v1/runs", tags=["runs"])
    runtime, store = desk.runtime, desk.store
    conversations = ConversationStore(store.engine)

    def accept(
        body: RunCreate, operator: Operator, run_id: str | None, stored: bool, watch: Watch | None
    ) -> tuple[Run, bool]:
        """Store the run and put it on the queue. `run_id`: the id its Idempotency-Key gives
        it; a retry whose first attempt stored the run (`stored`: it may have) takes that run
        over instead. `watch` starts watching the run before it is queued. Also says whether
        the run is as the watch began (else it may have moved on since it was read)."""
        if run_id is not None and stored:
            first = stored_run(run_id)
            if first is not None:  # the key's claim holds this very body (`RequestKeys.claim`)
                if first.status is RunStatus.QUEUED:  # its hand-over may be what failed
                    queue(first.id, watch, lambda actor: store.forget_queued(first.id))
                elif watch is not None:
                    signals.add(first.id, watch)
                return first, False
        check_messages(body.chat(), runtime.input_limits)  # user messages only, in limits
        choose_model(body.script)  # a script the server refuses, or no model: refused now
        admission.check()  # room on the queue
        run = runtime.submit(
            RunRequest(
                principal_id=body.principal,
                messages=body.chat(),
                agent=body.agent,
                # who asked (for the audit trail and separation of duties), and the script,
                # so any worker can execute the run and continue it after an approval
                metadata={"operator": operator.actor}
                | ({"script": body.script} if body.script is not None else {}),
                run_id=run_id,
                # counted as the run is stored, with the insert: requests sent at once, to
                # any replica, cannot all find the same room
                quota=admission.quotas,
            )
        )
        if run_id is None:  # refused by the queue: it ends, so it does not stay queued
            queue(run.id, watch, lambda actor: runtime.cancel(run.id, actor))
        else:  # refused: it goes, as if never stored, so the key's retry can store it again
            queue(run.id, watch, lambda actor: store.forget_queued(run.id))
        return run, True

    def queue(run_id: str, watch: Watch | None, refused: Callable[[str], object]) -> None:
        """Hand the run to the queue, `watch` watching it from before: no worker can settle
        it unseen (a cancellation before the watch began costs the wait one poll)."""
        if watch is not None:
            signals.add(run_id, watch)
        admission.enqueue(run_id, refused)  # refused: the request's end ends the watch

    def stored_run(run_id: str) -> Run | None:
        try:
            return store.get_run(run_id, with_steps=False)
        except TetherError as exc:
            if exc.code is ErrorCode.RUN_NOT_FOUND:
                return None
            raise

    @router.post(
        "",
        status_code=202,
        response_model=RunDetail,
        summary="Start a run: accepted at once, executed by a worker",
        responses={
            200: {"model": RunDetail, "description": "The run ended within `wait`"},
            **problem_responses(
                ErrorCode.BAD_REQUEST,
                ErrorCode.SCENARIO_INVALID,
                ErrorCode.MODEL_NOT_CONFIGURED,
                ErrorCode.UNKNOWN_PRINCIPAL,
                ErrorCode.UNKNOWN_AGENT,
                ErrorCode.INPUT_TOO_LARGE,
                ErrorCode.INPUT_ROLE_FORBIDDEN,
                ErrorCode.SCRIPT_NOT_ALLOWED,
                ErrorCode.QUEUE_FULL,
                ErrorCode.QUOTA_EXCEEDED,
                ErrorCode.QUEUE_UNAVAILABLE,
                ErrorCode.STORE_UNAVAILABLE,
                *AUTH,
            ),
        },
    )
    async def create_run(
        body: RunCreate,
        request: Request,
        response: Response,
        wait: float = Query(
            0.0, ge=0, le=MAX_WAIT_S, description="seconds to wait for the decision (0-60)"
        ),
        operator: Operator = Depends(can_create),
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        keyed = getattr(request.state, IDEMPOTENCY, None)
        run_id = keyed_id(keyed, "run") if keyed is not None else None
        stored = keyed is not None and not keyed.new  # an earlier attempt may have stored it
        watch = Watch(every_step=False)
        try:  # (a hand-off to a thread is not abandoned: once it raises, `accept` is done)
            run, fresh = await run_in_threadpool(accept, body, operator, run_id, stored, watch)
            remaining = deadline - loop.time()
            run = await settled_detail(store, signals, run, watch, remaining, not fresh)
        finally:
            signals.end(watch)
        # the path by hand: `url_for` tries every route of the app before it finds this one
        root = str(request.scope.get("root_path", "")).rstrip("/")
        response.headers["Location"] = f"{root}/v1/runs/{run.id}"
        if run.status is RunStatus.COMPLETED:
            response.status_code = 200
        return run.to_dict(with_steps=True)

    @router.post(
        "/{run_id}/cancel",
        response_model=RunDetail,
        summary="Cancel a run: it ends in a refusal coded RUN_CANCELLED",
        description=(
            "A queued run ends at once (200, with its Decision). A running one ends before "
            "its next model turn, starting no write it had not started: 202 with its status "
            "now; follow it on its events stream. The writes it had already made are listed "
            "in the refusal's results."
        ),
        responses=problem_responses(
            ErrorCode.RUN_NOT_FOUND,
            ErrorCode.RUN_ENDED,
            ErrorCode.APPROVAL_PENDING,
            ErrorCode.RUN_STATUS_UNKNOWN,
            ErrorCode.CONVERSATION_FORBIDDEN,
            ErrorCode.END_USER_TOKEN_INVALID,
            ErrorCode.STORE_UNAVAILABLE,
            *AUTH,
        ),
    )
    def cancel_run(
        run_id: StoredText,
        response: Response,
        operator: Operator = Depends(can_create),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        may_act_on(store.get_run(run_id, with_steps=False), operator, token)
        run = runtime.cancel(run_id, operator.actor)
        if run.status is not RunStatus.COMPLETED:
            response.status_code = 202
        ended = store.get_run(run_id)
        fold_turn(conversations, ended, runtime.clock.now())  # a turn's conversation is free
        return ended.to_dict(with_steps=True)

    @router.post(
        "/{run_id}/feedback",
        status_code=201,
        response_model=FeedbackOut,
        summary="Record feedback on a run (rolled into the KPIs)",
        description=(
            "By whoever may cancel the run: feedback steers the KPIs, drift and a rollout's "
            "guards, so a key rates only what it may act on."
        ),
        responses=problem_responses(
            ErrorCode.BAD_REQUEST,
            ErrorCode.RUN_NOT_FOUND,
            ErrorCode.CONVERSATION_FORBIDDEN,
            ErrorCode.END_USER_TOKEN_INVALID,
            ErrorCode.STORE_UNAVAILABLE,
            *AUTH,
        ),
    )
    def add_feedback(
        run_id: StoredText,
        body: FeedbackIn,
        operator: Operator = Depends(can_create),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        may_act_on(store.get_run(run_id, with_steps=False), operator, token)
        given = feedback.add(run_id, body.resolved, body.csat, body.note, body.given_by)
        desk.observability.metrics.feedback.labels(str(body.resolved).lower()).inc()
        return given.to_dict()

    def may_act_on(run: Run, operator: Operator, token: str | None) -> None:
        """A conversation's turn is cancelled or rated by whoever may speak in that
        conversation (its customer's token, where it was started with one); any other run by
        an operator who may read runs, or by the one that started it (a cancel answers with
        the whole run)."""
        conversation = run.input.get("metadata", {}).get("conversation")
        if isinstance(conversation, str):
            record = conversations.get(conversation, with_state=False)
            principal_for(record, operator, verified_end_user(end_users, token))
            return
        if not operator.can(Permission.RUNS_READ) and run_operator(run) != operator.actor:
            raise TetherError(
                ErrorCode.ROLE_FORBIDDEN,
                f"role {operator.role.value!r} may act only on the runs it started",
                {"role": operator.role.value, "permission": Permission.RUNS_READ.value},
            )

    @router.get(
        "/{run_id}/events",
        summary="Follow a run: server-sent events `status`, `step` and `decision`",
        description=(
            "`status` comes first and on every change, `step` for each committed step (its "
            "event id is the step's seq: reconnect with `Last-Event-ID` to go on from there), "
            "and `decision` last, after which the stream ends."
        ),
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "the event stream"},
            **problem_responses(
                ErrorCode.RUN_NOT_FOUND,
                ErrorCode.RUN_STATUS_UNKNOWN,
                ErrorCode.STORE_UNAVAILABLE,
                *AUTH,
            ),
        },
        dependencies=[Depends(can_read)],
    )
    async def follow_run(
        run_id: StoredText,
        request: Request,
        last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=20),
    ) -> StreamingResponse:
        # RUN_NOT_FOUND before streaming; a status this version does not know would never end
        # the stream
        found = await run_in_threadpool(store.get_run, run_id, False)
        if found.status is RunStatus.UNKNOWN:
            raise TetherError(
                ErrorCode.RUN_STATUS_UNKNOWN,
                f"run {run_id} has a status this version does not know: it has no events to follow",
            )
        after = int(last_event_id) if last_event_id and plain_digits(last_event_id) else 0
        return StreamingResponse(
            run_events(store, signals, run_id, after, request.is_disconnected),
            media_type="text/event-stream",
            # the steps carry customer data: never kept by a cache (no-store, as every response)
            headers={"Cache-Control": NO_STORE, "X-Accel-Buffering": "no"},
        )

    return router

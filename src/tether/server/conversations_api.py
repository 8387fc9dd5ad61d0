"""The conversations endpoints: `POST /v1/conversations`, `GET /v1/conversations[/{id}]`,
`POST /v1/conversations/{id}/messages` and `POST /v1/conversations/{id}/close`.

Two things identify a request. The operator key (bearer) is the calling application: starting
a conversation or a turn needs `runs:create`, reading needs `runs:read`. The customer is either
vouched for by the application with an end-user token (`X-End-User-Token`, see
`tether.access.end_users`) or asserted by an operator that holds `principals:act_as`; the
conversation records which, and every later request must identify the customer the same way.

A message is accepted once its turn holds the conversation and its run is durable and on the
run queue: 202 with `Location: /v1/runs/{run_id}`; a worker executes the turn, as it does any
run, and folds it into the conversation when it ends (see `tether.conversations.turns`).
`?wait=SECONDS` waits up to that long and answers 200 with the outcome if the turn ended by
then. The bodies the endpoints take and give are in `tether.server.conversation_models`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from tether.access.end_users import EndUser, EndUserVerifier
from tether.access.operators import Operator, Permission
from tether.conversations.admission import TurnClaim
from tether.conversations.handle import TurnOutcome
from tether.conversations.service import Conversations
from tether.conversations.store import ConversationRecord
from tether.conversations.turns import fold_turn, pending_of
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.models.base import ModelAdapter
from tether.runtime.inputs import CALLER_ROLES
from tether.server.admission import Admission
from tether.server.conversation_models import (
    ConversationCreate,
    ConversationDetail,
    ConversationOut,
    ConversationPage,
    MessageIn,
    TurnOut,
)
from tether.server.idempotency import STATE as IDEMPOTENCY
from tether.server.idempotency import Keyed, keyed_id
from tether.server.inputs import MAX_OFFSET, StoredText
from tether.server.problems import problem_responses
from tether.server.run_events import MAX_WAIT_S, SETTLED, RunSignals, Watch, settled_detail

END_USER_HEADER = "X-End-User-Token"
END_USER_SOURCE = "end_user_token"
OPERATOR_SOURCE = "operator"
AUTH = (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID, ErrorCode.ROLE_FORBIDDEN)
WHO = (ErrorCode.END_USER_TOKEN_INVALID, ErrorCode.CONVERSATION_FORBIDDEN, *AUTH)

end_user_token = APIKeyHeader(
    name=END_USER_HEADER,
    scheme_name="EndUserToken",
    auto_error=False,
    description="A JWT the customer's application signs for its customer (`sub`)",
)

ModelChoice = Callable[[list[dict[str, Any]] | None], ModelAdapter]


# -- turns on the run queue ----------------------------------------------------------------


def _turn_now(service: Conversations, claim: TurnClaim, run_id: str) -> TurnOutcome:
    """The turn as things stand (see `_turn_of`)."""
    return _turn_of(service, claim, service.runtime.store.get_run(run_id))


def _turn_of(service: Conversations, claim: TurnClaim, run: Run) -> TurnOutcome:
    """The turn of `run` (read with its steps); one whose run has ended (or waits for a
    person) is folded into its conversation first, if its worker has not done so yet, so the
    answer and the conversation agree."""
    if run.status in SETTLED:
        fold_turn(service.store, run, service.runtime.clock.now())
    return TurnOutcome(claim.conversation_id, claim.turn, run, pending_of(run))


# -- who is speaking ------------------------------------------------------------------------


def verified_end_user(end_users: EndUserVerifier | None, token: str | None) -> EndUser | None:
    """The customer an end-user token names (None without one); END_USER_TOKEN_INVALID for a
    token that does not verify, or on a server that verifies none."""
    if token is None:
        return None
    if end_users is None:
        raise TetherError(
            ErrorCode.END_USER_TOKEN_INVALID,
            "this server verifies no end-user tokens (TETHER_END_USER_KEYS is not set)",
        )
    return end_users.verify(token)


def principal_for(record: ConversationRecord, operator: Operator, end_user: EndUser | None) -> str:
    """The principal a request on `record` speaks for, identified as the conversation was."""
    if end_user is not None:
        if record.principal_source != END_USER_SOURCE:  # a token may not take over act_as
            raise TetherError(
                ErrorCode.CONVERSATION_FORBIDDEN,
                f"the conversation was started by an operator acting as its customer; send no "
                f"{END_USER_HEADER}, with a key that holds principals:act_as",
            )
        if end_user.principal_id != record.principal_id:
            raise TetherError(
                ErrorCode.CONVERSATION_FORBIDDEN, "the conversation belongs to another principal"
            )
        return end_user.principal_id
    if record.principal_source == END_USER_SOURCE:
        raise TetherError(
            ErrorCode.CONVERSATION_FORBIDDEN,
            f"the conversation was started with an end-user token; send its principal's token "
            f"in {END_USER_HEADER}",
        )
    operator.require(Permission.ACT_AS)
    return record.principal_id


def conversations_router(
    conversations: Callable[[], Conversations],
    reader: Callable[..., Awaitable[Operator]],
    creator: Callable[..., Awaitable[Operator]],
    end_users: EndUserVerifier | None,
    choose_model: ModelChoice,
    admission: Admission,
    signals: RunSignals,
) -> APIRouter:
    """The endpoints over `conversations()` (built per request, on the runtime in force);
    `reader` / `creator` authenticate the operator and check `runs:read` / `runs:create`;
    `choose_model(script)` is the scripted model or the configured one (checked here, asked
    by the worker); `admission` puts a turn's run on the run queue as `POST /v1/runs` does."""
    router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

    def end_user(token: str | None) -> EndUser | None:
        return verified_end_user(end_users, token)

    @router.post(
        "",
        status_code=201,
        response_model=ConversationDetail,
        summary="Start a conversation for a customer",
        responses=problem_responses(
            ErrorCode.BAD_REQUEST,
            ErrorCode.UNKNOWN_PRINCIPAL,
            ErrorCode.UNKNOWN_AGENT,
            ErrorCode.STORE_UNAVAILABLE,
            *WHO,
        ),
    )
    def start(
        body: ConversationCreate,
        response: Response,
        operator: Operator = Depends(creator),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        customer = end_user(token)
        if customer is not None:
            if body.principal is not None and body.principal != customer.principal_id:
                raise TetherError(
                    ErrorCode.CONVERSATION_FORBIDDEN,
                    "the principal differs from the one the end-user token names",
                )
            principal, source, asserted_by = (
                customer.principal_id,
                END_USER_SOURCE,
                customer.asserted_by,
            )
        else:
            if body.principal is None:
                raise TetherError(
                    ErrorCode.BAD_REQUEST,
                    f"name the principal, or send the customer's token in {END_USER_HEADER}",
                )
            operator.require(Permission.ACT_AS)
            principal, source, asserted_by = body.principal, OPERATOR_SOURCE, operator.actor
        service = conversations()
        handle = service.start(
            principal, body.agent, principal_source=source, asserted_by=asserted_by
        )
        record = handle.record()
        response.headers["Location"] = f"{router.prefix}/{record.id}"
        return {**record.summary(service.runtime.clock.now()), "turns": []}

    @router.get(
        "",
        response_model=ConversationPage,
        summary="List conversations, most recently active first",
        responses=problem_responses(ErrorCode.BAD_REQUEST, ErrorCode.STORE_UNAVAILABLE, *WHO),
    )
    def list_conversations(
        principal: StoredText | None = Query(None, max_length=200),
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        operator: Operator = Depends(reader),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        customer = end_user(token)
        if customer is not None:  # a customer lists only their own
            if principal is not None and principal != customer.principal_id:
                raise TetherError(
                    ErrorCode.CONVERSATION_FORBIDDEN,
                    "the principal differs from the one the end-user token names",
                )
            principal = customer.principal_id
        else:
            operator.require(Permission.ACT_AS)
        service = conversations()
        now = service.runtime.clock.now()
        found = service.store.find(principal, limit, offset)
        return {"conversations": [r.summary(now) for r in found], "limit": limit, "offset": offset}

    @router.get(
        "/{conversation_id}",
        response_model=ConversationDetail,
        summary="One conversation with its turns, their runs and steps, and the pending action",
        responses=problem_responses(
            ErrorCode.BAD_REQUEST,
            ErrorCode.CONVERSATION_NOT_FOUND,
            ErrorCode.STORE_UNAVAILABLE,
            *WHO,
        ),
    )
    def get_conversation(
        conversation_id: StoredText,
        operator: Operator = Depends(reader),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        customer = end_user(token)
        service = conversations()
        principal_for(service.store.get(conversation_id), operator, customer)
        return service.detail(conversation_id)

    def begin(
        conversation_id: str,
        body: MessageIn,
        operator: Operator,
        token: str | None,
        watch: Watch | None,
        keyed: Keyed | None = None,
    ) -> tuple[Conversations, TurnClaim, Run]:
        """Everything a turn can be refused for, then its claim and its queued run: nothing is
        written unless the turn will run. `watch` watches the run from before it is queued, so
        the run returned is as the store held it when the watch began. Under an
        Idempotency-Key the turn's run is named by the key (`keyed_id`), so a retry that took
        over the key of an attempt whose process died finds the turn that attempt took."""
        customer = end_user(token)
        if body.role is not None and body.role not in CALLER_ROLES:
            raise TetherError(
                ErrorCode.INPUT_ROLE_FORBIDDEN,
                f"role {body.role[:32]!r} is not input; clients send only user messages",
            )
        service = conversations()
        principal = principal_for(service.store.get(conversation_id), operator, customer)
        choose_model(body.script)  # a script the server refuses, or no model: refused now
        run_id = keyed_id(keyed, "run") if keyed is not None else None
        if run_id is not None and keyed is not None and not keyed.new:
            taken = _taken_turn(service, run_id, watch)
            if taken is not None:  # the key's claim holds this very body (`RequestKeys.claim`)
                return service, *taken
        admission.check()  # room on the queue; the quotas are held as the run is stored
        reply, nonce = body.reply()
        claim = service.begin_turn(
            conversation_id, principal, text=body.text, reply=reply, nonce=nonce, run_id=run_id
        )
        # who asked (for the audit trail and separation of duties), and the script, so any
        # worker can execute the turn and continue it after an approval
        metadata: dict[str, Any] = {"operator": operator.actor}
        if body.script is not None:
            metadata["script"] = body.script
        run = service.submit_claimed(claim, metadata, quota=admission.quotas)

        def withdraw(actor: str) -> None:  # the queue refused it: no turn, and no claim
            # let go first: a sweep must not take the run once cancelled for a turn to record
            service.release(claim)
            service.runtime.cancel(run.id, actor)

        if watch is not None:
            signals.add(run.id, watch)
        admission.enqueue(run.id, withdraw)
        return service, claim, run

    def _taken_turn(
        service: Conversations, run_id: str, watch: Watch | None
    ) -> tuple[TurnClaim, Run] | None:
        """The turn an earlier attempt under the same key took, if it stored its run: watched,
        and queued again if still queued (its hand-over may be what failed)."""
        try:
            run = service.runtime.store.get_run(run_id, with_steps=False)
        except TetherError as exc:
            if exc.code is not ErrorCode.RUN_NOT_FOUND:
                raise
            return None
        claim = service.claim_of(run)
        if watch is not None:
            signals.add(run.id, watch)
        if run.status is RunStatus.QUEUED:

            def withdraw(actor: str) -> None:
                service.release(claim)
                service.runtime.cancel(run.id, actor)

            admission.enqueue(run.id, withdraw)
        return claim, run

    @router.post(
        "/{conversation_id}/messages",
        status_code=202,
        response_model=TurnOut,
        summary="Send the customer's message, or confirm or decline the pending action",
        responses={
            200: {"model": TurnOut, "description": "The turn ended within `wait`"},
            **problem_responses(
                ErrorCode.BAD_REQUEST,
                ErrorCode.INPUT_TOO_LARGE,
                ErrorCode.INPUT_ROLE_FORBIDDEN,
                ErrorCode.SCRIPT_NOT_ALLOWED,
                ErrorCode.SCENARIO_INVALID,
                ErrorCode.MODEL_NOT_CONFIGURED,
                ErrorCode.CONVERSATION_NOT_FOUND,
                ErrorCode.CONVERSATION_CLOSED,
                ErrorCode.CONVERSATION_EXPIRED,
                ErrorCode.CONVERSATION_BUSY,
                ErrorCode.CONVERSATION_LIMIT,
                ErrorCode.NOTHING_PENDING,
                ErrorCode.NONCE_INVALID,
                ErrorCode.APPROVAL_PENDING,
                ErrorCode.QUEUE_FULL,
                ErrorCode.QUOTA_EXCEEDED,
                ErrorCode.QUEUE_UNAVAILABLE,
                ErrorCode.STORE_UNAVAILABLE,
                *WHO,
            ),
        },
    )
    async def send_message(
        conversation_id: StoredText,
        body: MessageIn,
        request: Request,
        response: Response,
        wait: float = Query(
            0.0, ge=0, le=MAX_WAIT_S, description="seconds to wait for the turn to end (0-60)"
        ),
        operator: Operator = Depends(creator),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        watch = Watch(every_step=False) if wait > 0 else None
        try:  # (a hand-off to a thread is not abandoned: once it raises, `begin` is done)
            keyed = getattr(request.state, IDEMPOTENCY, None)
            service, claim, run = await run_in_threadpool(
                begin, conversation_id, body, operator, token, watch, keyed
            )
            root = str(request.scope.get("root_path", "")).rstrip("/")
            response.headers["Location"] = f"{root}/v1/runs/{run.id}"
            remaining = deadline - loop.time()
            if watch is not None and remaining > 0:  # the run as it settled, or is at the end
                store = service.runtime.store
                run = await settled_detail(store, signals, run, watch, remaining, False)
                outcome = await run_in_threadpool(_turn_of, service, claim, run)
            else:
                outcome = await run_in_threadpool(_turn_now, service, claim, run.id)
        finally:
            if watch is not None:
                signals.end(watch)
        if wait > 0 and outcome.run.status in SETTLED:
            response.status_code = 200
        return outcome.to_dict()

    @router.post(
        "/{conversation_id}/close",
        response_model=ConversationOut,
        summary="Close a conversation: no more turns, and its pending action is dropped",
        description=(
            "Refused while anything of the conversation may still run: 409 APPROVAL_PENDING "
            "while its last turn waits for a person (reject the approval first), 409 "
            "CONVERSATION_BUSY while a turn is under way."
        ),
        responses=problem_responses(
            ErrorCode.BAD_REQUEST,
            ErrorCode.CONVERSATION_NOT_FOUND,
            ErrorCode.APPROVAL_PENDING,
            ErrorCode.CONVERSATION_BUSY,
            ErrorCode.STORE_UNAVAILABLE,
            *WHO,
        ),
    )
    def close(
        conversation_id: StoredText,
        operator: Operator = Depends(creator),
        token: str | None = Security(end_user_token),
    ) -> dict[str, Any]:
        customer = end_user(token)
        service = conversations()
        principal = principal_for(service.store.get(conversation_id), operator, customer)
        service.close(conversation_id, principal)
        return service.store.get(conversation_id).summary(service.runtime.clock.now())

    return router

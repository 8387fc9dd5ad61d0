"""Idempotency keys on the API's POSTs: a retry with the same `Idempotency-Key` gets the first
request's response instead of doing the work again.

A key is scoped to the operator key that sent it, to the route (method and path) and, on the
routes that act for a customer named by an end-user token, to that customer; it is kept a day.
A request whose end-user token does not verify claims no key: the route refuses it, and a
retry of it, as it would any other request. The same key with another body (or query) is
`422 IDEMPOTENCY_KEY_REUSED`; while the first request still runs, a retry is
`409 IDEMPOTENCY_KEY_IN_PROGRESS`. Only responses below 500 are kept, and of those not a
refusal the caller is told to retry (429, or a problem whose code is retryable:
`CONVERSATION_BUSY`): after a server error, a crash of the handler or such a refusal the claim
is released, so a retry runs again; the claim of a process that died mid-request lapses after
`CLAIM_TTL_S`, and a retry takes it over just the same. A route that stores something names it
by the key and its life (`keyed_id`), which such a take-over keeps, so that the retry finds
what the first attempt stored instead of storing it twice. Callers that do not authenticate
are left to the route, which answers 401.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.access.end_users import EndUserVerifier
from tether.access.operators import Operator, OperatorKeys
from tether.core.errors import ErrorCode, TetherError
from tether.server.problems import problem_response
from tether.store.request_keys import DONE, KeyRecord, KeyScope, RequestKeys

log = logging.getLogger("tether.server")
HEADER = b"idempotency-key"
END_USER = b"x-end-user-token"  # as `conversations_api.END_USER_HEADER`, lower case
REPLAYED = "Idempotent-Replayed"
PREFIX = "/v1/"
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,200}")
_KEPT_HEADERS = ("content-type", "location")  # what a replay repeats of the first response
STATE = "idempotency"  # request.state's name for the claimed key's scope
AUTHENTICATED = "authenticated"  # request.state's name for (bearer key, its operator)


def _for_customers(path: str) -> bool:
    """The POSTs that act for the customer an end-user token names (conversations, and the
    cancel of or feedback on a run, which may be a conversation's turn)."""
    return path.startswith("/v1/conversations") or (
        path.startswith("/v1/runs/") and path.endswith(("/cancel", "/feedback"))
    )


def _first(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (as a route reads it), or None."""
    sent = (value for header, value in scope["headers"] if header == name)
    value = next(sent, None)
    return None if value is None else value.decode("latin-1")


@dataclass(frozen=True)
class Keyed:
    """The key a request holds: where it is valid, and when its current life began."""

    where: KeyScope
    since: float
    new: bool = False  # the key's life began with this request: nothing is stored under it yet


def keyed_id(keyed: Keyed, prefix: str) -> str:
    """The id of what a keyed request stores: the same for every retry under the key in its
    current life (and for no other key, or a later life of this one), so that a retry after
    an error finds its first attempt's record instead of storing a second one."""
    where = keyed.where
    text = "\n".join((where.operator_id, where.route, where.key, repr(keyed.since)))
    return f"{prefix}_{hashlib.sha256(text.encode()).hexdigest()[:32]}"


class IdempotencyMiddleware:
    """Claims the key of a POST under /v1 before the route runs, and keeps its response."""

    def __init__(
        self,
        app: ASGIApp,
        keys: OperatorKeys,
        store: RequestKeys,
        end_users: EndUserVerifier | None = None,
    ) -> None:
        self.app = app
        self.keys = keys
        self.store = store
        self.end_users = end_users

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = _sent_keys(scope)
        # a path no store can keep is no route to claim a key for: the route refuses it
        if not sent or "\x00" in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        digest = hashlib.sha256(scope.get("query_string", b"") + b"\n" + body).hexdigest()
        valid = len(sent) == 1 and _VALID_KEY.fullmatch(sent[0]) is not None
        try:
            operator, where, claimed = await run_in_threadpool(
                self._claim, scope, sent[0] if valid else None, digest
            )
        except TetherError as exc:  # no claim, no run: the caller retries later
            await self._problem(scope, receive, send, exc.code, exc.message)
            return
        if operator is None:  # the route itself answers 401 or 403
            await self.app(scope, replay_body(body, receive), send)
            return
        if where is None or claimed is None:
            detail = "send one Idempotency-Key of 1 to 200 visible ASCII characters"
            await self._problem(scope, receive, send, ErrorCode.IDEMPOTENCY_KEY_INVALID, detail)
            return
        record, since, new = claimed
        if record is not None:
            await self._answer_from(record, digest, scope, receive, send)
            return
        # for a route that names what it stores by the key (`keyed_id`)
        scope.setdefault("state", {})[STATE] = Keyed(where, since, new)
        await self._run_and_keep(where, scope, replay_body(body, receive), send)

    def _claim(
        self, scope: Scope, sent: str | None, digest: str
    ) -> tuple[Operator | None, KeyScope | None, tuple[KeyRecord | None, float, bool] | None]:
        """Authenticate the request and, for an operator and a valid key `sent`, claim the key
        for the body's `digest`: the operator, the key's scope and the claim (`RequestKeys.claim`)."""
        operator = self._operator(scope)
        if operator is None or sent is None:
            return operator, None, None
        speaker = ""
        token = _first(scope, END_USER) if _for_customers(scope["path"]) else None
        if token is not None:  # the route answers for the customer the token names
            if self.end_users is None:
                return None, None, None  # the route refuses the token
            try:
                speaker = self.end_users.verify(token).principal_id
            except TetherError:  # expired, forged: the route answers 401, every retry too
                return None, None, None
        where = KeyScope.of(operator.key_id, scope["method"], scope["path"], sent, speaker)
        return operator, where, self.store.claim(where, digest)

    def _operator(self, scope: Scope) -> Operator | None:
        """The operator of the request's bearer key, or None if it does not authenticate.
        The route's own authentication takes it from the request's state (`AUTHENTICATED`)."""
        authorization = _first(scope, b"authorization") or ""  # as the route reads it
        scheme, _, credentials = authorization.partition(" ")
        presented = credentials.strip()
        if scheme.lower() != "bearer" or not presented:
            return None
        try:
            operator = self.keys.authenticate(presented)
        except TetherError:
            return None
        scope.setdefault("state", {})[AUTHENTICATED] = (presented, operator)
        return operator

    async def _answer_from(
        self, record: KeyRecord, digest: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """A request whose key was claimed before: refused, or the first response again."""
        if record.body_hash != digest:
            detail = "this Idempotency-Key was sent before with another request"
            await self._problem(scope, receive, send, ErrorCode.IDEMPOTENCY_KEY_REUSED, detail)
        elif record.state != DONE or record.status_code is None:
            detail = "the first request with this Idempotency-Key is still running"
            code = ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS
            await self._problem(scope, receive, send, code, detail, {"Retry-After": "1"})
        else:
            content = (record.response_json or "").encode()
            headers = dict(record.headers) | {REPLAYED: "true"}
            replay = Response(content, status_code=record.status_code, headers=headers)
            await replay(scope, receive, send)

    async def _run_and_keep(
        self, where: KeyScope, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the route and keep its response (or release the claim) before its last byte
        goes out: a client that retries as soon as it has the answer finds it kept."""
        status = 0
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        settled = False

        async def keep(message: Message) -> None:
            nonlocal status, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.decode("latin-1").lower() in _KEPT_HEADERS:
                        headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._settle(where, status, headers, chunks)
                    settled = True
            await send(message)

        try:
            await self.app(scope, receive, keep)
        except BaseException:
            if not settled:
                with anyio.CancelScope(shield=True):  # released even if the client went away
                    await self._release(where)
            raise
        if not settled:
            await self._release(where)

    async def _settle(
        self, where: KeyScope, status: int, headers: dict[str, str], chunks: list[bytes]
    ) -> None:
        text = b"".join(chunks).decode("utf-8", "replace")
        if _kept(status, headers.get("content-type", ""), text):
            try:
                await run_in_threadpool(self.store.finish, where, status, text, headers)
            except TetherError as exc:  # only the retries are at stake
                log.warning("idempotency key not kept: %s", exc.message)
                await self._release(where)
        else:
            await self._release(where)

    async def _release(self, where: KeyScope) -> None:
        try:
            await run_in_threadpool(self.store.release, where)
        except TetherError as exc:  # the claim stays; its retries get 409 until it lapses
            log.warning("idempotency key not released: %s", exc.message)

    @staticmethod
    async def _problem(
        scope: Scope,
        receive: Receive,
        send: Send,
        code: ErrorCode,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        response = problem_response(code, detail, instance=scope.get("path"), headers=headers)
        await response(scope, receive, send)


def _sent_keys(scope: Scope) -> list[str]:
    """The Idempotency-Key values of a POST under /v1 (none for any other request)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return []
    if not str(scope["path"]).startswith(PREFIX):
        return []
    return [value.decode("latin-1") for name, value in scope["headers"] if name == HEADER]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the route the body already read, then the rest of the stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _kept(status: int, content_type: str, text: str) -> bool:
    """Whether a response is the one every retry gets: a JSON answer below 500 that is not a
    refusal to try again later (429, or a problem whose code is retryable)."""
    if not 0 < status < 500 or "json" not in content_type or status == 429:
        return False
    if status < 400:
        return True
    try:
        code = json.loads(text).get("code")
        return not ErrorCode(code).retryable
    except (ValueError, AttributeError):
        return True  # not one of ours: kept as it is

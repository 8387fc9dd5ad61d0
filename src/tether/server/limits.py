"""Limits applied to a request before anything else reads it: the length of its URL and the
size of its body.

A URL's path and query are parsed, routed, logged and redacted; bounding their length first
keeps every one of those steps cheap, whatever a client sends and with or without a key. A
body is bounded by what it declares and by the bytes actually read, so the application never
sees one over the limit, nor a partial one.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tether.core.errors import ErrorCode
from tether.server.idempotency import replay_body
from tether.server.problems import problem_response

DEFAULT_MAX_URL_BYTES = 8 * 1024
DEFAULT_MAX_BODY_BYTES = 256 * 1024
DRAIN_MIN_BYTES = 1024 * 1024
_MAX_INSTANCE = 256  # a refused path is echoed back only when it is short


class UrlLimitMiddleware:
    """Refuses requests whose path and query together exceed `max_bytes` with 414."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_URL_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode()
        size = len(raw_path) + len(scope.get("query_string", b""))
        if size <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        response = problem_response(
            ErrorCode.URL_TOO_LONG,
            f"the request URL has {size} bytes; the limit is {self.max_bytes} bytes",
            instance=path if len(path) <= _MAX_INSTANCE else None,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class BodyLimitMiddleware:
    """Rejects request bodies over `max_bytes` with 413, by Content-Length and by bytes read.

    The body is buffered (it is small by construction) so the limit holds for chunked uploads
    too, and the application never sees a partial body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # bytes read and dropped after the limit, so the client reads the 413, not a reset
        self.drain_bytes = max(DRAIN_MIN_BYTES, 4 * max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if int(declared) <= self.max_bytes + self.drain_bytes:
                await _drain(receive, int(declared))
            await self._reject(scope, receive, send, f"{int(declared)} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app will see the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_bytes:
                if more:
                    await _drain(receive, self.drain_bytes)
                await self._reject(scope, receive, send, f"more than {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not more:
                break
        await self.app(scope, replay_body(b"".join(chunks), receive), send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        detail = f"the request body has {size}; the limit is {self.max_bytes} bytes"
        response = problem_response(
            ErrorCode.INPUT_TOO_LARGE,
            detail,
            instance=scope.get("path"),
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop up to `budget` more body bytes, or until the body ends."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        budget -= len(message.get("body", b""))

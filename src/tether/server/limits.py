"""Limits applied to a request before anything else reads it: the length of its URL, a NUL
in a dashboard page's URL, and the size of its body.

A URL's path and query are parsed, routed, logged and redacted; bounding their length first
keeps every one of those steps cheap, whatever a client sends and with or without a key. A NUL
in a dashboard page's path or query can name nothing (no store keeps one: PostgreSQL's text
refuses it), so it is refused before the page reads it; the API's routes refuse it parameter by
parameter, naming each. A body is bounded by what it declares and by the bytes actually read,
so the application never sees one over the limit, nor a partial one.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response
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
        query: bytes = scope.get("query_string", b"")
        size = len(raw_path) + len(query)
        path = scope.get("path", "")
        if size > self.max_bytes:
            response: Response = problem_response(
                ErrorCode.URL_TOO_LONG,
                f"the request URL has {size} bytes; the limit is {self.max_bytes} bytes",
                instance=path if len(path) <= _MAX_INSTANCE else None,
                headers={"Connection": "close"},
            )
        elif not path.startswith(API_PATHS) and (
            "\x00" in path or b"%00" in query or b"\x00" in query
        ):
            response = _refused_nul()
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


# the paths whose parameters the API's routes check one by one, each refusal naming its field;
# every other path is the dashboard's, whose pages read ids and filters as they are
API_PATHS = ("/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json")


def _refused_nul() -> Response:
    """A dashboard page refusing a URL with a NUL, which no id or filter it reads can hold."""
    detail = "the request URL holds a NUL character, which no id or filter can hold"
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>400 BAD_REQUEST</title>"
        f"<main><h1>400 BAD_REQUEST</h1><p>{detail}.</p><p><a href=/>Back to the runs</a></p>"
        "</main></html>"
    )
    return HTMLResponse(page, status_code=400)


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

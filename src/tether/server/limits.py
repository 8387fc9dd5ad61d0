"""Limits applied to a request before anything else reads it: the length of its URL.

A URL's path and query are parsed, routed, logged and redacted; bounding their length first
keeps every one of those steps cheap, whatever a client sends and with or without a key.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tether.core.errors import ErrorCode
from tether.server.problems import problem_response

DEFAULT_MAX_URL_BYTES = 8 * 1024
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

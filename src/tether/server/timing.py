"""`Server-Timing: app;dur=<ms>` on every dashboard response: its pages, and what no page
renders (the redirects of a login or a logout, a refusal made before any route runs)."""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.server.dashboard_core import TIMING_HEADER
from tether.server.limits import API_PATHS


class ServerTimingMiddleware:
    """Adds how long the server took, to its first byte, to every response outside the API;
    a value a page set itself (`Dashboard.render`) is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(API_PATHS):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).setdefault(TIMING_HEADER, f"app;dur={elapsed_ms:.1f}")
            await send(message)

        await self.app(scope, receive, send_timed)

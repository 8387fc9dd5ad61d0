"""Browser-facing defences of the control plane: the origin check of state-changing dashboard
requests, the security headers of every response, and the limit on failed logins.

The origin check fails closed: a browser sends `Origin` on every POST, so a post without it
must at least carry a `Referer` of this site; a foreign or opaque (`null`) origin is refused.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.core.clock import Clock, SystemClock
from tether.core.redis_client import redis_client, redis_prefix

# Nothing inline may run or style a page; the dashboard loads one stylesheet from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin requests keep their Referer: the origin check can fall back to it
    "Referrer-Policy": "same-origin",
}
NO_STORE = "no-store"
STATIC_PREFIX = "/static/"  # the stylesheet: no customer data, cacheable
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 60.0
MAX_TRACKED = 10_000  # login subjects remembered before the oldest are forgotten


def site_origin(request: Request) -> str:
    """This site's origin as the browser sees it (scheme, host and port)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def foreign_origin(request: Request) -> bool:
    """True when the request names an origin, and it is not this site (`null` included)."""
    origin = request.headers.get("origin")
    return origin is not None and origin.rstrip("/") != site_origin(request)


def posted_from_here(request: Request) -> bool:
    """True only when the request shows it came from one of this site's pages: its `Origin`
    is this site, or, without an `Origin`, its `Referer` is a page of this site."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.rstrip("/") == site_origin(request)
    referer = request.headers.get("referer")
    if not referer:
        return False
    here = site_origin(request)
    return referer == here or referer.startswith(here + "/")


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response, and `Cache-Control: no-store` to all
    but the static files (pages and API responses carry customer data). Headers a route set
    itself are kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers.setdefault("Cache-Control", NO_STORE)
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class LoginLimit:
    """At most `max_failures` failed logins per `window_s` seconds, per subject."""

    max_failures: int = LOGIN_MAX_FAILURES
    window_s: float = LOGIN_WINDOW_S


class LoginAttempts(Protocol):
    """Failed logins per subject (a client address, a key id), in a sliding window."""

    def retry_after(self, *subjects: str) -> int:
        """Whole seconds until every one of `subjects` may try again (0: they may now)."""
        ...

    def failed(self, *subjects: str) -> None:
        """Count one failed login against each subject."""
        ...


class LoginThrottle:
    """Counts failed logins per subject in a sliding window, in this process; a subject over
    the limit waits until its oldest counted failure leaves the window."""

    def __init__(self, limit: LoginLimit | None = None, clock: Clock | None = None) -> None:
        self.limit = limit or LoginLimit()
        self.clock = clock or SystemClock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, *subjects: str) -> int:
        """Whole seconds until any of `subjects` may try again (0: they may now)."""
        now = self.clock.monotonic()
        wait = 0.0
        with self._lock:
            for subject in subjects:
                times = self._recent(subject, now)
                if times is not None and len(times) >= self.limit.max_failures:
                    wait = max(wait, times[0] + self.limit.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *subjects: str) -> None:
        """Count one failed login against each subject."""
        now = self.clock.monotonic()
        with self._lock:
            for subject in subjects:
                times = self._recent(subject, now)
                if times is None:
                    times = self._failures[subject] = deque(maxlen=self.limit.max_failures)
                times.append(now)
                self._failures.move_to_end(subject)
            while len(self._failures) > MAX_TRACKED:
                self._failures.popitem(last=False)

    def _recent(self, subject: str, now: float) -> deque[float] | None:
        times = self._failures.get(subject)
        if times is None:
            return None
        while times and times[0] <= now - self.limit.window_s:
            times.popleft()
        return times


class RedisLoginThrottle:
    """The same limit counted in Redis (a sorted set of failure times per subject), so every
    replica sees every failure. While Redis cannot be reached, this process's own count decides
    and Redis is tried again after `retry_after_s`."""

    def __init__(
        self,
        url: str,
        prefix: str = "tether:",
        limit: LoginLimit | None = None,
        retry_after_s: float = 5.0,
    ) -> None:
        self._redis, self._errors = redis_client(url, decode_responses=True)
        self.prefix = prefix
        self.limit = limit or LoginLimit()
        self._local = LoginThrottle(self.limit)
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    def _key(self, subject: str) -> str:
        return f"{self.prefix}login-failures:{subject}"

    def retry_after(self, *subjects: str) -> int:
        if time.monotonic() < self._down_until:
            return self._local.retry_after(*subjects)
        now = time.time()
        try:
            pipe = self._redis.pipeline()
            for subject in subjects:
                pipe.zremrangebyscore(self._key(subject), "-inf", now - self.limit.window_s)
                pipe.zrange(self._key(subject), 0, -1, withscores=True)
            replies: list[Any] = pipe.execute()
        except self._errors:
            self._down_until = time.monotonic() + self._retry_after_s
            return self._local.retry_after(*subjects)
        wait = 0.0
        for times in replies[1::2]:
            if len(times) >= self.limit.max_failures:
                # the failure whose leaving brings the count under the limit
                leaving = float(times[len(times) - self.limit.max_failures][1])
                wait = max(wait, leaving + self.limit.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *subjects: str) -> None:
        self._local.failed(*subjects)  # kept too, for when Redis is away
        if time.monotonic() < self._down_until:
            return
        now = time.time()
        try:
            pipe = self._redis.pipeline()
            for subject in subjects:
                pipe.zadd(self._key(subject), {uuid.uuid4().hex: now})
                pipe.expire(self._key(subject), math.ceil(self.limit.window_s) + 1)
            pipe.execute()
        except self._errors:
            self._down_until = time.monotonic() + self._retry_after_s


def login_attempts_from_env(environ: Mapping[str, str] | None = None) -> LoginAttempts:
    """Redis when `TETHER_REDIS_URL` is set (keys under `TETHER_REDIS_PREFIX`), else in
    process, as for the tools' rate limits."""
    env = os.environ if environ is None else environ
    url = env.get("TETHER_REDIS_URL", "").strip()
    if not url:
        return LoginThrottle()
    return RedisLoginThrottle(url, redis_prefix(env))


def login_subjects(request: Request, presented_key: str) -> tuple[str, ...]:
    """What a login attempt counts against: the client's address. Not the key id it named:
    key ids are not secret (the audit trail shows them), so counting failures against one
    would let anyone lock its operator out; a key's 256-bit secret is what resists guessing."""
    host = request.client.host if request.client else "unknown"
    return (f"address:{host}",)

"""One way to open the configured Redis: a client with short timeouts, and the errors that mean
Redis cannot be reached. A malformed `TETHER_REDIS_URL` is CONFIG_INVALID, not a traceback.
The `redis` package is imported here only. Every key lives under `TETHER_REDIS_PREFIX`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tether.core.errors import ErrorCode, TetherError

DEFAULT_PREFIX = "tether:"


def redis_prefix(environ: Mapping[str, str] | None = None) -> str:
    """`TETHER_REDIS_PREFIX`: what every tether key in Redis starts with (default `tether:`),
    so several deployments can share one Redis."""
    env = os.environ if environ is None else environ
    return env.get("TETHER_REDIS_PREFIX", "").strip() or DEFAULT_PREFIX


def redis_outages() -> tuple[type[Exception], ...]:
    """The errors that mean Redis went away under a request (answered 503, not 500)."""
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


def redis_client(
    url: str, timeout_s: float = 0.5, *, decode_responses: bool = False
) -> tuple[Any, tuple[type[BaseException], ...]]:
    """A client for `url` and the exception types that mean Redis is unavailable."""
    import redis

    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            decode_responses=decode_responses,
        )
    except ValueError as exc:
        raise TetherError(ErrorCode.CONFIG_INVALID, f"TETHER_REDIS_URL: {exc}") from None
    return client, (redis.RedisError, OSError)

"""One way to open the configured Redis: a client with short timeouts, and the errors that mean
Redis cannot be reached. A malformed `TETHER_REDIS_URL` is CONFIG_INVALID, not a traceback.
The `redis` package is imported here only, and only by deployments that configure Redis."""

from __future__ import annotations

from typing import Any

from tether.core.errors import ErrorCode, TetherError


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

"""Whole-number settings read from the environment, checked and bounded."""

from __future__ import annotations

import os
from collections.abc import Mapping

from tether.core.errors import ErrorCode, TetherError


def whole_setting(
    name: str, default: int, low: int, high: int, environ: Mapping[str, str] | None = None
) -> int:
    """The whole number `name` in the environment, from `low` to `high` (CONFIG_INVALID
    otherwise), or `default` when unset."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"{name} must be a whole number from {low} to {high}"
        )
    return int(raw)

"""Durations as people type them: `90s`, `30m`, `24h`, `7d`, `2w`, or ISO 8601 (`PT24H`, `P7D`)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_SHORT = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_ISO = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def duration_seconds(text: str) -> float | None:
    """The seconds `text` spells, or None when it is no duration."""
    raw = text.strip()
    if short := _SHORT.fullmatch(raw.lower()):
        return float(short.group(1)) * _UNITS[short.group(2)]
    if (iso := _ISO.fullmatch(raw.upper())) and raw.upper() not in ("P", "PT"):
        weeks, days, hours, minutes, secs = (float(g) if g else 0.0 for g in iso.groups())
        return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + secs
    return None

"""Bounds on the shape of JSON values that come from outside (callers, scripts, models), and on
the text every store can keep."""

from __future__ import annotations

from typing import Any

MAX_NESTING = 32  # deeper values cannot be recorded, encoded or returned safely


def nesting(value: Any, beyond: int | None = None) -> int:
    """How deeply lists and objects nest in a JSON value (without recursion). With `beyond`,
    counting stops at the first level deeper than that, so a value that holds itself ends."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            deepest = max(deepest, depth)
            if beyond is not None and deepest > beyond:
                return deepest
            items = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1) for v in items)
    return deepest


def unstorable(text: str) -> str | None:
    """Why no store can keep `text` (PostgreSQL's text refuses a NUL, and a lone surrogate is
    not UTF-8 at all), or None when every store can."""
    if "\x00" in text:
        return "text with a NUL character cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text with a lone surrogate character is not UTF-8"
    return None


def storable(text: str) -> str:
    """`text` as every store keeps it: a lone surrogate becomes "?", a NUL becomes U+FFFD."""
    if unstorable(text) is None:
        return text
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")

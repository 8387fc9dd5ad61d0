"""Canonical JSON and base64url: the byte forms that tokens, hashes and signatures cover."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """One text per value: keys sorted, no whitespace, UTF-8 characters kept, no NaN."""
    return _CANONICAL.encode(value)


def b64url(data: bytes) -> str:
    """Unpadded base64url, as tokens carry it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The inverse of `b64url`; raises ValueError on anything that is not base64url."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def arguments_hash(tool: str, arguments: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a call's canonical JSON: what an approval binds a token to."""
    body = canonical_json({"arguments": dict(arguments), "tool": tool})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()

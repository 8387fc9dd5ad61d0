"""What a failing claim leads to (`refuse`, `escalate`, `revise`): the one rule for the
environment, a `ClaimCheck` and a release's verifier, kept apart from the verifier so that
what reads a setting (a release bundle) does not load the verifier with it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from tether.core.errors import ErrorCode, TetherError

ON_FAIL = ("refuse", "escalate", "revise")
DEFAULT_ON_FAIL = "revise"


def on_fail_mode(value: object, where: str, code: ErrorCode = ErrorCode.CONFIG_INVALID) -> str:
    """`value` if it is what a failing claim may lead to (one of `ON_FAIL`), else `code` naming
    `where`: the one rule for the environment, a `ClaimCheck` and a release's verifier."""
    if not isinstance(value, str) or value not in ON_FAIL:
        raise TetherError(code, f"{where} must be one of {', '.join(ON_FAIL)}, not {value!r}")
    return value


def claims_on_fail(environ: Mapping[str, str] | None = None) -> str:
    """`TETHER_CLAIMS_ON_FAIL`, checked (default `revise`)."""
    env = os.environ if environ is None else environ
    value = env.get("TETHER_CLAIMS_ON_FAIL", "").strip().lower() or DEFAULT_ON_FAIL
    return on_fail_mode(value, "TETHER_CLAIMS_ON_FAIL")

"""What the security tests share: a refusal with a code, a problem response with a code, and
runs made to hold a token other than their own."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tether.access.canonical import b64url, b64url_decode, canonical_json
from tether.access.governor import RunGovernor, RunGrant
from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind

PROBLEM = "application/problem+json"


def refused_with(run: Any, code: ErrorCode) -> None:
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL, run.decision
    assert run.decision.reason is not None and run.decision.reason.code is code


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == code
    assert "Traceback" not in response.text


class SwappedGrant:
    """A governor whose runs hold a token made by `make` instead of their own."""

    def __init__(self, inner: RunGovernor, make: Callable[[RunGovernor, RunGrant], str]):
        self.inner, self.make = inner, make

    def open_run(self, run_id: str, principal: Any, agent: Any, specs: Any) -> RunGrant:
        grant = self.inner.open_run(run_id, principal, agent, specs)
        return RunGrant(self.make(self.inner, grant), grant.claims)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def with_claims(token: str, change: Callable[[dict[str, Any]], Mapping[str, Any]]) -> str:
    """`token` with its claims changed by `change` and its original signature kept (forged)."""
    prefix, payload, signature = token.split(".")
    claims = dict(change(json.loads(b64url_decode(payload))))
    return ".".join([prefix, b64url(canonical_json(claims).encode()), signature])

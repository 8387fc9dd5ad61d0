"""What the security tests share: a refusal with a code, a problem response with a code."""

from __future__ import annotations

from typing import Any

import httpx

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

"""Operator authentication on the control plane: the API key a request presents, and the
dependency that authenticates it (401) and checks the operator's role (403), with the problem
responses those failures get. The keys and roles themselves are `tether.access.operators`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from tether.access.control import AccessControl
from tether.access.operators import Operator, OperatorKeys, Permission
from tether.core.errors import ErrorCode, TetherError
from tether.sdk.desk import Desk
from tether.server.idempotency import AUTHENTICATED
from tether.server.problems import problem_response

AUTH_CODES = (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID, ErrorCode.ROLE_FORBIDDEN)
_bearer = HTTPBearer(auto_error=False, description="An operator API key: `tk_<id>.<secret>`")


def presented_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The API key a request carries: the bearer token only. The dashboard's session cookie is
    never read here, so a page of another origin cannot make a browser call the API with it."""
    return credentials.credentials if credentials is not None else None


def operator_keys(desk: Desk) -> OperatorKeys:
    """The operator keys of the desk's store."""
    access = desk.access or AccessControl.open(desk.store.engine)
    return access.operators


def require(
    keys: OperatorKeys, permission: Permission | None
) -> Callable[..., Awaitable[Operator]]:
    """A dependency that authenticates the caller (401) and checks its role (403); with
    `permission` None, only authenticates (the route checks the role, e.g. to audit it)."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Security(_bearer)
    ) -> Operator:
        presented = presented_key(request, credentials)
        # the same key the idempotency middleware authenticated for this very request
        known = getattr(request.state, AUTHENTICATED, None)
        try:
            operator: Operator
            if known is not None and presented is not None and known[0] == presented.strip():
                operator = known[1]
            else:
                operator = await run_in_threadpool(keys.authenticate, presented)
            if permission is not None:
                operator.require(permission)
        except TetherError as exc:
            if exc.code in AUTH_CODES:
                raise OperatorAuthError(exc.code, exc.message) from None
            raise
        request.state.operator = operator
        return operator

    return dependency


class OperatorAuthError(TetherError):
    """An authentication or role failure on the control plane (401 or 403)."""


async def _on_auth_error(request: Request, exc: Exception) -> Response:
    """Problem responses for authentication failures, with the challenge RFC 9110 asks for."""
    assert isinstance(exc, TetherError)
    headers = {} if exc.code is ErrorCode.ROLE_FORBIDDEN else {"WWW-Authenticate": "Bearer"}
    return problem_response(exc.code, exc.message, instance=request.url.path, headers=headers)

"""RFC 9457 problem details: the one shape of every error the HTTP API returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tether.core.errors import ErrorCode, TetherError
from tether.core.redis_client import redis_outages
from tether.server.security import NO_STORE, SECURITY_HEADERS

log = logging.getLogger("tether.server")

# what a dependency going away raises under a request: answered 503, not 500
OUTAGES: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    *redis_outages(),
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tether.dev/errors/"


class FieldProblem(BaseModel):
    """One request field that failed validation."""

    field: str = Field(description="where the value is, e.g. body.messages.0.role")
    message: str


class Problem(BaseModel):
    """An error response (RFC 9457), carrying tether's stable error code."""

    type: str = Field(description="a URI naming the error code")
    title: str = Field(description="a short summary of the error code")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong with this request")
    code: ErrorCode = Field(description="the stable error code")
    instance: str | None = Field(default=None, description="the request path")
    errors: list[FieldProblem] | None = Field(
        default=None, description="the failing fields of a rejected request"
    )


def problem_status(code: ErrorCode) -> int:
    """The HTTP status of an error code; codes that describe run outcomes map to 500."""
    status = code.info.http_status
    return status if status >= 400 else 500


def problem_body(
    code: ErrorCode,
    detail: str,
    status: int | None = None,
    instance: str | None = None,
    errors: Sequence[FieldProblem] = (),
) -> dict[str, Any]:
    """The JSON document of a problem; members that carry nothing are left out."""
    summary = code.info.summary
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.value,
        "title": summary[:1].upper() + summary[1:],
        "status": status if status is not None else problem_status(code),
        "detail": detail,
        "code": code.value,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return body


def problem_response(
    code: ErrorCode,
    detail: str,
    status: int | None = None,
    instance: str | None = None,
    errors: Sequence[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response for `code`."""
    body = problem_body(code, detail, status, instance, errors)
    return JSONResponse(
        body, status_code=body["status"], headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    out = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ()))
        # a validator's own words, without the "Value error, " Pydantic puts before them
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        out.append(FieldProblem(field=loc or "request", message=message))
    return out


# how long a caller refused for load should wait before trying again (Retry-After, seconds)
RETRY_AFTER_S = {
    ErrorCode.QUEUE_FULL: 1,
    ErrorCode.QUOTA_EXCEEDED: 2,
    ErrorCode.QUEUE_UNAVAILABLE: 5,
    ErrorCode.STORE_UNAVAILABLE: 5,
}


async def _on_tether_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TetherError)
    wait = RETRY_AFTER_S.get(exc.code)
    headers = {"Retry-After": str(wait)} if wait is not None else None
    return problem_response(exc.code, exc.message, instance=request.url.path, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(
            ErrorCode.BAD_REQUEST, "the request body is not valid JSON", instance=request.url.path
        )
    problems = _field_problems(exc)
    fields = ", ".join(p.field for p in problems)
    return problem_response(
        ErrorCode.BAD_REQUEST,
        f"the request has invalid fields: {fields}",
        instance=request.url.path,
        errors=problems,
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # unknown paths and methods keep their HTTP status; the caller sent a request we can't serve
    code = ErrorCode.BAD_REQUEST if exc.status_code < 500 else ErrorCode.INTERNAL
    return problem_response(
        code,
        str(exc.detail),
        status=exc.status_code,
        instance=request.url.path,
        headers=exc.headers,
    )


async def _on_outage(request: Request, exc: Exception) -> Response:
    # a dependency went away under a request (the database's connection dropped, Redis is
    # down): the caller may retry, so it is a 503 with a stable code, never a 500
    log.warning("a dependency is unavailable: %s", type(exc).__name__)
    return problem_response(
        ErrorCode.STORE_UNAVAILABLE,
        f"a dependency is unavailable ({type(exc).__name__}); retry shortly",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_S[ErrorCode.STORE_UNAVAILABLE])},
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # the server logs the traceback; the caller gets only the stable code. The exception goes
    # on to uvicorn, which then closes the connection: saying so keeps a client from sending
    # its next request on a connection being closed (which would be reset)
    # Starlette answers it outside every middleware, so it carries the security headers
    # itself: a page that fails is still served to a browser on the dashboard's origin
    return problem_response(
        ErrorCode.INTERNAL,
        "an unexpected error occurred",
        instance=request.url.path,
        headers={"Connection": "close", **SECURITY_HEADERS, "Cache-Control": NO_STORE},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error (ours, FastAPI's, Starlette's, unexpected ones) to problem+json."""
    app.add_exception_handler(TetherError, _on_tether_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for outage in OUTAGES:
        app.add_exception_handler(outage, _on_outage)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the problems an endpoint can return."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(problem_status(code), []).append(code.value)
    out: dict[int | str, dict[str, Any]] = {
        status: {"model": Problem, "description": "Problem: " + ", ".join(names)}
        for status, names in sorted(by_status.items())
    }
    # a "default" entry also stops FastAPI from documenting 422s, which this API never sends
    out["default"] = {"model": Problem, "description": "Problem: INTERNAL or another code"}
    return out


def install_problem_openapi(app: FastAPI) -> None:
    """Document error responses under application/problem+json instead of application/json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _retype_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook


def _retype_problems(schema: dict[str, Any]) -> None:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            _retype_operation(operation)


def _retype_operation(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        if status != "default" and not status.startswith(("4", "5")):
            continue
        content = response.get("content", {})
        if "application/json" in content:
            content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")

"""Schemathesis fuzzes the HTTP API from its own OpenAPI document, on SQLite and PostgreSQL.

What it covers: every operation `/openapi.json` lists (runs, feedback, approvals,
conversations, metrics, health), called over real HTTP on a uvicorn server with an admin key
and scripted models allowed, through Schemathesis' examples, coverage and fuzzing phases in
positive and negative modes. Strings are seeded with NUL characters and integers with values
past 64 bits, inputs that once reached a store and came back as 500 (lone surrogates, which
Schemathesis cannot send, are replayed by hand below). Two checks hold for every response: no
operation answers 5xx, and every 4xx is `application/problem+json` with a code from `ErrorCode`.

Budget: MAX_EXAMPLES examples per operation in the fuzzing phase (the coverage phase sends its
boundary values besides), a fixed seed and derandomized generation, so CI replays the same
requests: about 800 requests per store, 8 s of CPU and 10 to 15 s of wall time per store on 2
busy cores (the served process sets TCP_NODELAY: without it each answer waited ~40 ms for an
ACK). The two replays below are deterministic and take seconds:
`test_every_parameter_refuses_what_no_store_keeps` sweeps every path and query parameter the
document lists, and `test_hostile_inputs_are_refused` the body fields and requests the fuzzer
once found. A request whose header carries a NUL is refused by the HTTP server itself (400,
text/plain); it is answered in full before the connection closes (see
`tether.server.lingering`), where an immediate close once reset it mid-answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from tests.server.conftest import order_run_body
from tether.core.errors import ErrorCode
from tether.server.problems import PROBLEM_MEDIA_TYPE

MAX_EXAMPLES = 6
SEED = 20261202
CODES = frozenset(code.value for code in ErrorCode)
HOSTILE_TEXT = ["a\x00b", "\x00"]  # Schemathesis itself cannot carry a lone surrogate
HOSTILE_INTEGERS = [2**63, 2**63 - 1, 2**64]


@schemathesis.check
def problem_details(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> bool | None:
    """A 4xx answer is RFC 9457 problem+json carrying one of tether's stable error codes."""
    if not 400 <= response.status_code < 500 or _malformed_http(case):
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media == PROBLEM_MEDIA_TYPE, f"{response.status_code} answered as {media!r}"
    code = response.json().get("code")
    assert code in CODES, f"{response.status_code} carries the unknown code {code!r}"
    return None


def _malformed_http(case: Any) -> bool:
    """Whether a header value holds a character HTTP forbids: the HTTP server refuses such a
    request (400, text/plain) before tether sees it."""
    return any(
        any(c in str(v) for c in "\x00\r\n")
        for v in (getattr(case, "headers", None) or {}).values()
    )


@dataclass(frozen=True)
class Finding:
    """One failed check, with the request that caused it."""

    operation: str
    check: str
    request: str
    message: str


@dataclass(frozen=True)
class FuzzReport:
    findings: list[Finding]
    errors: list[str]
    operations: set[str]
    statuses: dict[int, int]


def fuzz(base_url: str, headers: dict[str, str]) -> FuzzReport:
    """Run Schemathesis' engine (what its CLI runs) against the API at `base_url` and gather
    what it found. Its pytest integration does not run under this pytest (9.x), and the engine
    reports every finding at once rather than the first per operation."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": headers,
            "dictionaries": {
                "hostile-text": {"values": HOSTILE_TEXT},
                "hostile-integers": {"values": HOSTILE_INTEGERS},
            },
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "dictionaries": {
                    "string": {"dictionary": "hostile-text", "probability": 0.25},
                    "integer": {"dictionary": "hostile-integers", "probability": 0.25},
                },
            },
            # no operation links to another, so the stateful phase would only repeat fuzzing
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "problem_details": {"enabled": True},
            },
        }
    )
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", config=config)
    findings: list[Finding] = []
    errors: list[str] = []
    operations: set[str] = set()
    statuses: dict[int, int] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            if event.label:
                operations.add(event.label)
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None:
                    status = interaction.response.status_code
                    statuses[status] = statuses.get(status, 0) + 1
                for check in recorder.checks.get(case_id, ()):
                    if check.status is Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        request = interaction.request
                        body = (request.body or b"")[:300].decode("utf-8", "replace")
                        findings.append(
                            Finding(
                                recorder.label,
                                check.name,
                                f"{request.method} {request.uri} {body}",
                                f"{failure.title}: {failure.message}"[:300],
                            )
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()[:500]}")
        elif isinstance(event, events.FatalError):
            errors.append(f"the engine stopped: {event.exception!r}")
    return FuzzReport(findings, errors, operations, statuses)


@pytest.fixture
def served_api(store_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The API over a fresh desk on `store_url` (SQLite, then PostgreSQL), scripts allowed,
    served by a process of its own (see served_child.py for why)."""
    out = tmp_path / "served.json"
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("served_child.py")), store_url, str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not out.exists() or not out.read_text():
            if child.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the API process did not start: {child.poll()}")
            time.sleep(0.05)
        served = json.loads(out.read_text())
        url = f"http://127.0.0.1:{served['port']}"
        while True:  # listening once /healthz answers
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the API process never answered")
                time.sleep(0.05)
        yield url, {"Authorization": f"Bearer {served['key']}"}
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@pytest.mark.timeout(600)  # about a minute per store; more on a loaded machine
def test_fuzzed_api_answers_no_5xx_and_only_problem_4xx(
    served_api: tuple[str, dict[str, str]],
) -> None:
    url, headers = served_api
    operations = {
        f"{method.upper()} {path}"
        for path, item in httpx.get(url + "/openapi.json").json()["paths"].items()
        for method in item
    }
    report = fuzz(url, headers)
    assert not report.errors, "\n".join(report.errors)
    assert not report.findings, "\n".join(
        f"{f.operation} [{f.check}] {f.message}\n    {f.request}" for f in report.findings
    )
    assert report.operations == operations  # every operation was exercised
    # the key and the scripts work: runs and conversations were created, lists were read
    assert report.statuses.get(201, 0) > 0 and report.statuses.get(200, 0) > 0


# -- every parameter, swept with the values that once reached a store ------------------------


def _types(schema: dict[str, Any]) -> set[str]:
    options = schema.get("anyOf", [schema])
    return {o.get("type", "") for o in options}


def parameter_sweep(openapi: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, url, field) for every path and query parameter of every operation: a
    NUL in text, 2**63 (past a 64-bit integer) in an integer. Other parameters get
    a harmless value, so the answer must name just the swept field."""
    out = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            params = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
            for swept in params:
                types = _types(swept["schema"])
                if "string" in types:
                    value = "a%00b"
                elif "integer" in types:
                    value = str(2**63)
                else:
                    continue
                url = path
                query = []
                for p in params:
                    given = value if p is swept else "x"
                    if p["in"] == "path":
                        url = url.replace("{" + p["name"] + "}", given)
                    elif p is swept:
                        query.append(f"{p['name']}={given}")
                target = url + ("?" + "&".join(query) if query else "")
                out.append((method.upper(), target, f"{swept['in']}.{swept['name']}"))
    return out


def test_every_parameter_refuses_what_no_store_keeps(
    served_api: tuple[str, dict[str, str]],
) -> None:
    url, headers = served_api
    openapi = httpx.get(url + "/openapi.json").json()
    sweep = parameter_sweep(openapi)
    assert len(sweep) >= 20  # the ids of runs, approvals, conversations; filters; pages
    wrong = []
    for method, target, field in sweep:
        body = {} if method == "POST" else None
        answer = _send(url, headers, method, target, body)
        named = (
            [e["field"] for e in answer.json().get("errors") or []]
            if answer.status_code == 400
            else []
        )
        if answer.status_code != 400 or field not in named:
            wrong.append(f"{method} {target}: {answer.status_code} {answer.text[:160]}")
    assert not wrong, "\n".join(wrong)


# -- what the fuzzer found, replayed one by one ------------------------------------------------

NUL = "a\x00b"
SURROGATE_JSON = '"\\ud800"'  # json.dumps would refuse to build it; the wire carries it fine


def _send(
    url: str, headers: dict[str, str], method: str, path: str, body: Any = None
) -> httpx.Response:
    content = body if isinstance(body, str) or body is None else json.dumps(body)
    sent = dict(headers) | ({"Content-Type": "application/json"} if content is not None else {})
    # a new connection each time: a server that failed may have closed the last one
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.request(method, path, content=content, headers=sent)


def hostile_requests(run_id: str, conversation_id: str) -> list[tuple[str, str, Any]]:
    """Requests that once answered 500 on one store or the other."""
    big = str(2**63)
    return [
        # an offset past a 64-bit integer overflows SQLite and PostgreSQL alike
        ("GET", f"/v1/runs?offset={big}", None),
        ("GET", f"/v1/approvals?offset={big}", None),
        ("GET", f"/v1/conversations?offset={big}", None),
        # a NUL reaches PostgreSQL, which refuses it in text, through a query parameter ...
        ("GET", "/v1/runs?agent=a%00b", None),
        ("GET", "/v1/runs?principal=a%00b", None),
        ("GET", "/v1/approvals?queue=a%00b", None),
        ("GET", "/v1/approvals?run_id=a%00b", None),
        ("GET", "/v1/conversations?principal=a%00b", None),
        # ... a path parameter ...
        ("GET", "/v1/runs/x%00", None),
        ("POST", "/v1/runs/x%00/feedback", {"resolved": True, "given_by": "ops"}),
        ("GET", "/v1/approvals/x%00", None),
        ("POST", "/v1/approvals/x%00/approve", {}),
        ("POST", "/v1/approvals/x%00/reject", {"note": "no"}),
        ("GET", "/v1/conversations/x%00", None),
        ("POST", "/v1/conversations/x%00/messages", {"text": "hi"}),
        ("POST", "/v1/conversations/x%00/close", None),
        # ... or a body field
        ("POST", f"/v1/runs/{run_id}/feedback", {"resolved": True, "given_by": NUL}),
        ("POST", f"/v1/runs/{run_id}/feedback", {"resolved": True, "given_by": "o", "note": NUL}),
        ("POST", "/v1/approvals/apr_missing/reject", {"note": NUL}),
        ("POST", "/v1/approvals/apr_missing/approve", {"argument_hash": NUL}),
        ("POST", "/v1/conversations", {"principal": NUL}),
        ("POST", "/v1/conversations", {"principal": "raj_sanchez_2970", "agent": NUL}),
        ("POST", f"/v1/conversations/{conversation_id}/messages", {"confirm": NUL}),
        ("POST", f"/v1/conversations/{conversation_id}/messages", {"decline": NUL}),
        # a lone surrogate cannot even be encoded for a store
        (
            "POST",
            f"/v1/runs/{run_id}/feedback",
            '{"resolved": true, "given_by": ' + SURROGATE_JSON + "}",
        ),
        ("POST", "/v1/conversations", '{"principal": ' + SURROGATE_JSON + "}"),
        ("POST", "/v1/approvals/apr_missing/reject", '{"note": ' + SURROGATE_JSON + "}"),
    ]


def test_hostile_inputs_are_refused(served_api: tuple[str, dict[str, str]]) -> None:
    url, headers = served_api
    run = _send(url, headers, "POST", "/v1/runs?wait=60", order_run_body())
    assert run.status_code == 200, run.text
    started = _send(url, headers, "POST", "/v1/conversations", {"principal": "raj_sanchez_2970"})
    assert started.status_code == 201, started.text
    wrong = []
    for method, path, body in hostile_requests(run.json()["id"], started.json()["id"]):
        answer = _send(url, headers, method, path, body)
        media = answer.headers.get("content-type", "")
        code = answer.json().get("code") if media == PROBLEM_MEDIA_TYPE else None
        if answer.status_code != 400 or code != ErrorCode.BAD_REQUEST:
            wrong.append(f"{method} {path} {str(body)[:60]!r}: {answer.status_code} {code}")
    assert not wrong, "\n".join(wrong)
    answer = _send(url, headers, "GET", "/v1/conversations?principal=a%00b")
    assert answer.json()["errors"] == [
        {"field": "query.principal", "message": "text with a NUL character cannot be stored"}
    ]
    # nothing of it was kept: the run has no feedback, the store still answers
    detail = _send(url, headers, "GET", f"/v1/runs/{run.json()['id']}")
    assert detail.status_code == 200 and detail.json()["feedback"] == []

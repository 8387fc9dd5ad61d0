"""A request the server answers before reading all of it gets its answer, not a reset.

The server refuses some requests without reading their bodies: one it cannot parse (a NUL in
a header value), one whose URL is too long, one whose body is past what it drains. It then
closes the connection. Closed at once, with the body still arriving, the socket answers with a
reset that can erase the response before the client reads it (the fuzzer once saw
"connection reset" for such a 400). Each test sends a whole request (a megabyte of body, so
the server is sure to close with some of it unread) and must read the complete answer.
"""

from __future__ import annotations

import socket
import time

import pytest

from tether.server import lingering
from tether.server.limits import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_URL_BYTES, DRAIN_MIN_BYTES

BODY = b"x" * (1 << 20)


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def _request(target: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _exchange(port: int, head: bytes, body: bytes) -> bytes:
    """Send `head` and `body` as a client does, then read the answer until the server closes;
    a reset on the way fails the test."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head)
        sock.sendall(body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_request_with_a_nul_in_a_header_is_answered_400(
    served: tuple[str, dict[str, str]],
) -> None:
    url, headers = served
    head = _request("/v1/runs", headers | {"X-End-User-Token": "a\x00b"}, len(BODY))
    answer = _exchange(_port(url), head, BODY)
    assert _status(answer) == 400
    assert b"Invalid HTTP request received." in answer


def test_a_long_url_with_a_body_is_answered_414(served: tuple[str, dict[str, str]]) -> None:
    url, headers = served
    target = "/v1/runs?x=" + "a" * DEFAULT_MAX_URL_BYTES
    answer = _exchange(_port(url), _request(target, headers, len(BODY)), BODY)
    assert _status(answer) == 414
    assert b'"code":"URL_TOO_LONG"' in answer


def test_a_body_past_the_drain_budget_is_answered_413(
    served: tuple[str, dict[str, str]],
) -> None:
    url, headers = served
    body = b"x" * (DEFAULT_MAX_BODY_BYTES + 4 * DRAIN_MIN_BYTES)  # more than the app drains
    answer = _exchange(_port(url), _request("/v1/runs", headers, len(body)), body)
    assert _status(answer) == 413
    assert b'"code":"INPUT_TOO_LARGE"' in answer


def test_a_client_that_keeps_sending_is_cut_off_after_the_linger(
    served: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lingering, "LINGER_S", 0.3)
    url, headers = served
    head = _request("/v1/runs", headers | {"X-End-User-Token": "\x00"}, 100 * len(BODY))
    with socket.create_connection(("127.0.0.1", _port(url)), timeout=10) as sock:
        sock.sendall(head + BODY)
        answer = b""
        while chunk := sock.recv(65536):  # the answer, then the server's FIN
            answer += chunk
        assert _status(answer) == 400
        started = time.monotonic()
        with pytest.raises(OSError):  # the rest is dropped until the linger ends in a reset
            while time.monotonic() - started < 5:
                sock.sendall(BODY)
        assert time.monotonic() - started < 3

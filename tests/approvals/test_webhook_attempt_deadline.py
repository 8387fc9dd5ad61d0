"""`delivery.timeout_s` bounds a whole webhook attempt, not each read: a receiver that drips
its answer a byte at a time (in the body, or in the headers before any status is complete)
cannot hold the attempt open, which runs on the approvals background thread that also ends
expired approval requests and signs the audit chain. A prompt receiver is still delivered to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from tether.approvals.webhooks import Delivery, WebhookSender

TIMEOUT_S = 2.0


def _body_drip(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b"1\r\na\r\n")
        time.sleep(0.5)


def _header_drip(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.is_set():
        conn.sendall(b"a")
        time.sleep(0.5)


def _prompt(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    stop.wait(5)


def _attempt(answer: Callable[[socket.socket, threading.Event], None]) -> tuple[Delivery, float]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            try:
                answer(conn, stop)
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    results: list[Delivery] = []
    sender = WebhookSender(timeout_s=TIMEOUT_S)
    attempt = threading.Thread(
        target=lambda: results.append(sender.send(url, b"k", "ntc_1", "e", b"{}", time.time())),
        daemon=True,
    )
    started = time.monotonic()
    try:
        attempt.start()
        attempt.join(timeout=TIMEOUT_S * 5)
        took = time.monotonic() - started
        assert not attempt.is_alive(), f"the attempt is still open after {took:.1f}s"
    finally:
        stop.set()
        attempt.join(timeout=10)
        server.close()
    return results[0], took


@pytest.mark.parametrize("answer", [_body_drip, _header_drip])
def test_attempt_ends_within_its_timeout(answer) -> None:
    sent, took = _attempt(answer)
    assert took < TIMEOUT_S * 3
    if answer is _header_drip:  # no status ever arrived: the attempt failed, saying why
        assert not sent.ok and "took over" in sent.error, sent


def test_a_prompt_receiver_is_delivered_to() -> None:
    sent, took = _attempt(_prompt)
    assert sent.ok and sent.status == 204, sent
    assert took < TIMEOUT_S

"""A queue's webhook delivery has a timeout (`delivery.timeout_s`, default 5 s), but httpx's
timeout bounds each read, not the attempt: a receiver that answers and then sends its body a
byte a second holds the attempt open for as long as it likes. The attempt runs on the approvals
background thread, which also ends expired approval requests and signs the audit chain, so one
slow receiver stalls all of it."""

from __future__ import annotations

import socket
import threading
import time

from tether.approvals.webhooks import WebhookSender

TIMEOUT_S = 2.0


def _drip(server: socket.socket, stop: threading.Event) -> None:
    conn, _ = server.accept()
    with conn:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"1\r\na\r\n")
            except OSError:
                return
            time.sleep(0.5)


def test_attempt_ends_within_its_timeout() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()
    dripper = threading.Thread(target=_drip, args=(server, stop), daemon=True)
    dripper.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    results: list[object] = []
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

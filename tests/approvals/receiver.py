"""A real HTTP receiver on 127.0.0.1 for webhook tests: it records every request and answers
with the statuses it is told to, in order (then 200)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers to give first, in order
    hold: threading.Event | None = None  # when given, no answer goes out until it is set
    answered: int = 0  # answers sent so far
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.received)}")


@contextmanager
def receiver(**settings: object) -> Iterator[Receiver]:
    """A receiver listening on an ephemeral port until the block ends."""
    state = Receiver(url="", **settings)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(
                    Received(self.path, dict(self.headers.items()), body, time.time())
                )
                status = state.statuses.pop(0) if state.statuses else 200
            if state.hold is not None:
                state.hold.wait(30.0)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with state.lock:
                state.answered += 1

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tether"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()

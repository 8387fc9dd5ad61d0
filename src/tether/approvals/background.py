"""Work a server process does off the request path: jobs on one daemon thread, run every
`poll_s` seconds and whenever something wakes the thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("tether.approvals")


class Every:
    """A job that runs `job` at most once every `period_s` seconds (first after one period)."""

    def __init__(self, period_s: float, job: Callable[[], object]) -> None:
        self.period_s = period_s
        self.job = job
        self.__name__ = getattr(job, "__name__", type(job).__name__)  # what logs call it
        self._due = time.monotonic() + period_s

    def __call__(self) -> None:
        now = time.monotonic()
        if now >= self._due:
            self._due = now + self.period_s
            self.job()


class Background:
    """Runs `jobs` in order on a daemon thread; a failing job is logged and tried next round
    (the store may be briefly unavailable), never stopping the others."""

    def __init__(self, name: str, jobs: Sequence[Callable[[], object]], poll_s: float) -> None:
        self.name = name
        self.jobs = list(jobs)
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the jobs now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            for job in self.jobs:
                try:
                    job()
                except Exception as exc:
                    # one line, not a traceback: it repeats every round while the store is
                    # down (the traceback is at debug level)
                    name = getattr(job, "__name__", type(job).__name__)
                    log.warning("background job %s failed: %s: %s", name, type(exc).__name__, exc)
                    log.debug("background job %s failed", name, exc_info=True)
            self._wake.wait(self.poll_s)
            self._wake.clear()

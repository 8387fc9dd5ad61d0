"""`tether worker`: a process that executes runs off the API's request path.

It takes runs from the run queue (`TETHER_WORKERS` at once) and recovers the runs whose lease
lapsed (their process died), resuming each from its recorded steps. On SQLite the queue lives
inside the process that serves the API, so a worker there only recovers; on PostgreSQL any
number of workers share the queue. Stop it with SIGTERM or Ctrl-C: it takes no more runs,
finishes those it holds (up to ten seconds) and exits.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from tether.cli.common import err, open_desk
from tether.models.factory import model_from_env
from tether.sdk.domain import Domain
from tether.workers.config import DEFAULT_WORKERS, queue_depth, store_url, worker_threads
from tether.workers.executor import RunExecutor
from tether.workers.queue import open_queue
from tether.workers.recovery import Recovery


def run_worker(domain: Domain) -> None:
    """Work until SIGTERM or SIGINT."""
    desk = open_desk(domain)
    queue = open_queue(store_url(desk.store), queue_depth())
    threads = worker_threads() or DEFAULT_WORKERS
    recovery = Recovery(desk.runtime, model_from_env, queue)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    taking = queue.kind != "inline"  # an in-process queue is the API process's own
    if taking:
        queue.start(RunExecutor(desk.runtime, model_from_env), threads)
    recovery.start()
    keeper = desk.runtime.keeper
    doing = f"taking runs from the {queue.kind} queue ({threads} at once) and " if taking else ""
    err.print(
        f"worker {keeper.owner_prefix}: {doing}recovering runs whose lease lapsed "
        f"(lease {keeper.ttl_s:g} s; SIGTERM or Ctrl-C to stop)"
    )
    stopping.wait()
    recovery.stop()
    queue.stop()
    desk.store.close()

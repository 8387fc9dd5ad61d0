"""`tether worker`: a process that executes runs off the API's request path.

It recovers the runs whose lease lapsed (their process died), resuming each from its recorded
steps; `tether serve` does the same for the runs it holds, so a single embedded process needs
no worker. Stop it with SIGTERM or Ctrl-C: it lets go of what it holds and exits.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from tether.cli.common import err, open_desk
from tether.models.factory import model_from_env
from tether.sdk.domain import Domain
from tether.workers.recovery import Recovery


def run_worker(domain: Domain) -> None:
    """Work until SIGTERM or SIGINT."""
    desk = open_desk(domain)
    recovery = Recovery(desk.runtime, model_from_env)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    recovery.start()
    err.print(
        f"worker {desk.runtime.keeper.owner_prefix}: recovering runs whose lease lapsed "
        f"(lease {desk.runtime.keeper.ttl_s:g} s; SIGTERM or Ctrl-C to stop)"
    )
    stopping.wait()
    recovery.stop()
    desk.store.close()

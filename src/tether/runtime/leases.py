"""The leases of the runs this process executes, renewed on a daemon thread.

A run is executed by whoever holds its lease (see `tether.store.leases`). The process that
creates or resumes a run takes the lease, renews it every third of its time to live while the
run executes, and lets it go when the run ends or waits for a person. If the process dies,
the lease expires and any worker's recovery resumes the run from its recorded steps. Leases
use the wall clock, not the runtime's (possibly fixed) clock: they are about processes, not
about what a run records.

Renewal stops at a bound the run sets (`LeaseKeeper.bound`): its time limit plus one lease
lifetime. A thread stuck past that in something it cannot be pulled out of (an inline tool that
hangs, a check that never returns) would otherwise keep its run RUNNING for good; instead the
lease lapses, another worker takes the run over and ends it (see `Runtime.resume`), and the
stuck thread, should it ever return, is fenced out of the run's record.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tether.core.errors import ErrorCode, TetherError
from tether.store.leases import Lease, RunLeases

log = logging.getLogger("tether.runtime")

DEFAULT_LEASE_S = 30.0
LEASE_ENV = "TETHER_RUN_LEASE_SECONDS"


def lease_seconds(environ: dict[str, str] | None = None) -> float:
    """How long a run's lease lives unrenewed: `TETHER_RUN_LEASE_SECONDS` (1 to 3600)."""
    raw = (os.environ if environ is None else environ).get(LEASE_ENV, "").strip()
    if not raw:
        return DEFAULT_LEASE_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 1.0 <= value <= 3600.0:  # also refuses NaN
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"{LEASE_ENV} must be seconds from 1 to 3600, not {raw!r}"
        )
    return value


class LeaseKeeper:
    """Takes, holds and renews run leases for one process."""

    def __init__(self, leases: RunLeases, ttl_s: float | None = None) -> None:
        self.leases = leases
        self.ttl_s = lease_seconds() if ttl_s is None else ttl_s
        self.owner_prefix = f"{socket.gethostname()[:60]}:{os.getpid()}"
        self._held: dict[str, str] = {}  # owner → run id
        self._bounds: dict[str, float] = {}  # owner → wall time after which it is not renewed
        self._lapsing: set[str] = set()  # owners past their bound (already logged)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def new(self) -> Lease:
        """A fresh lease, for a run this process is about to create."""
        owner = f"{self.owner_prefix}:{secrets.token_hex(6)}"
        return Lease(owner, time.time() + self.ttl_s)

    def claim(self, run_id: str, recovering: bool = False) -> Lease | None:
        """The lease of a RUNNING run nobody live holds, or None. `recovering`: only a run
        that has not moved for a lease's lifetime if it has no lease at all (a sweep must not
        take a run an approval's decision is about to resume)."""
        lease = self.new()
        grace = self.ttl_s if recovering else None
        return lease if self.leases.claim(run_id, lease, time.time(), grace) else None

    @contextmanager
    def holding(self, run_id: str, lease: Lease) -> Iterator[None]:
        """Renew `lease` while the block executes its run. If the block raises, the lease is
        let go (when the store answers), so the run can be resumed at once."""
        with self._lock:
            self._held[lease.owner] = run_id
            self._ensure_thread()
        try:
            yield
        except BaseException:
            try:
                self.leases.free(run_id, lease.owner)
            except Exception:  # the store is down: the lease will expire instead
                log.warning("run %s: could not let its lease go", run_id)
            raise
        finally:
            with self._lock:
                self._held.pop(lease.owner, None)
                self._bounds.pop(lease.owner, None)
                self._lapsing.discard(lease.owner)

    def bound(self, lease: Lease, until: float) -> None:
        """Renew `lease`, while it is held, only until the wall time `until` (seconds since
        the epoch): past it, the lease lapses within a lifetime even if its run never returns."""
        with self._lock:
            if lease.owner in self._held:
                self._bounds[lease.owner] = until

    def past_bound(self) -> list[str]:
        """The runs this process still executes past their bound (their leases lapse)."""
        now = time.time()
        with self._lock:
            return sorted(self._held[o] for o, until in self._bounds.items() if until <= now)

    def held(self) -> dict[str, str]:
        with self._lock:
            return dict(self._held)

    def renew_now(self) -> None:
        """Renew every held lease within its bound (the daemon thread does this every third
        of a lifetime); a lease past its bound is left to lapse, which is logged once."""
        now = time.time()
        with self._lock:
            owners = dict(self._held)
            past = {owner for owner, until in self._bounds.items() if until <= now}
            newly = past - self._lapsing
            self._lapsing |= newly
        for owner in sorted(newly):
            log.warning(
                "run %s: still executing past its time limit; its lease is left to lapse so "
                "that another worker ends it",
                owners[owner],
            )
        due = {owner: run_id for owner, run_id in owners.items() if owner not in past}
        lost = self.leases.renew(due, now + self.ttl_s)
        for owner in lost:
            log.warning("run %s: its lease was taken over", owners[owner])

    def _ensure_thread(self) -> None:  # under the lock
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tether-leases", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        """Renew until nothing is held, then end (the next `holding` starts a new thread)."""
        while True:
            self._wake.wait(self.ttl_s / 3)
            self._wake.clear()
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
            try:
                self.renew_now()
            except Exception:
                log.warning("renewing run leases failed; trying again", exc_info=True)

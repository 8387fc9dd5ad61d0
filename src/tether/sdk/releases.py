"""The desk each release's runs execute on, and the release a new conversation is pinned to.

    desks = ReleaseDesks(desk)
    conversations = Conversations(desk.runtime, store, pins=desks)
    RunExecutor(desk.runtime, models, runtime_of=desks.runtime)

The desk in force serves its own configuration (and runs recorded before releases). Another
stored release gets a candidate desk (`tether.sdk.candidate`): the pack's code governed by the
release's policies, agents and claims handling, built once and kept in a bounded cache with its
policy files. It shares the desk in force's store, data handle, observers and leases, and its
runs record the release they are pinned to. A release that cannot be built is
RELEASE_NOT_FOUND or RELEASE_SOURCE_INVALID, which ends the run in a refusal (see
`tether.runtime.pinned`); it never runs under another configuration.

A new conversation takes the running rollout's arm for its principal (sticky: the same
principal takes the same arm while the share grows); once the rollout is promoted, its
candidate while it holds the production label (until the process is deployed with it; a later
rollout rolled back does not undo it); else the configuration in force. The rollouts are read at most once per `refresh_s`.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from tether.core.errors import ErrorCode, TetherError
from tether.release.binding import DEFAULT_REFRESH_S
from tether.release.rollout import Rollouts
from tether.release.rollout_looks import CANDIDATE
from tether.release.rollout_plan import RUNNING, Rollout, assign
from tether.release.store import PRODUCTION
from tether.runtime.loop import Runtime
from tether.runtime.pinned import UNAVAILABLE
from tether.sdk.candidate import candidate_desk
from tether.sdk.desk import Desk

log = logging.getLogger("tether.release")

DEFAULT_CAPACITY = 4


@dataclass
class _Built:
    desk: Desk
    folder: tempfile.TemporaryDirectory[str]  # its policy files, as long as it is cached


class ReleaseDesks:
    """release id -> the desk (and runtime) its runs execute on; and the release a new
    conversation is pinned to. Thread-safe; at most `capacity` other releases are kept built."""

    def __init__(
        self,
        desk: Desk,
        capacity: int = DEFAULT_CAPACITY,
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        if desk.release is None or desk.access is None:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, "pinning releases needs a desk from `build_desk`"
            )
        self.desk = desk
        self.capacity = max(1, capacity)
        self.releases = desk.release.releases
        self.rollouts = Rollouts(self.releases, desk.access.audit, desk.runtime.clock)
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._built: OrderedDict[str, _Built] = OrderedDict()
        self._rollout: Rollout | None = None
        self._until = float("-inf")

    @property
    def in_force(self) -> str:
        """The content id of the desk in force's configuration."""
        assert self.desk.release is not None  # checked when built
        return self.desk.release.configuration

    def pin(self, conversation_id: str, principal_id: str) -> str:
        """The release a new conversation starts under: the running rollout's arm for the
        principal (else the conversation), the promoted candidate while it holds the
        production label, else the configuration in force."""
        rollout = self._routing()
        if rollout is None:
            release = self.desk.runtime.release
            return release() if release is not None else self.in_force
        arm = assign(rollout.id, rollout.traffic_pct, conversation_id, principal_id)
        return rollout.candidate if arm == CANDIDATE else rollout.baseline

    def runtime(self, release_id: str) -> Runtime:
        """The runtime runs of `release_id` execute on (see `desk`)."""
        return self.desk_of(release_id).runtime

    def desk_of(self, release_id: str) -> Desk:
        """The desk in force for its own configuration and for "" (runs that predate
        releases); for another release, its candidate desk, built on first use.
        RELEASE_NOT_FOUND or RELEASE_SOURCE_INVALID when it cannot be built."""
        if not release_id or release_id == self.in_force:
            return self.desk
        with self._lock:  # one build per release, however many turns ask at once
            found = self._built.get(release_id)
            if found is None:
                found = self._build(release_id)
                self._built[release_id] = found
                while len(self._built) > self.capacity:
                    _, evicted = self._built.popitem(last=False)
                    evicted.folder.cleanup()  # its policies were loaded when it was built
            else:
                self._built.move_to_end(release_id)
            return found.desk

    def close(self) -> None:
        """Drop every built desk and its policy files."""
        with self._lock:
            for built in self._built.values():
                built.folder.cleanup()
            self._built.clear()

    def _build(self, release_id: str) -> _Built:
        bundle = self.releases.get(release_id).bundle  # RELEASE_NOT_FOUND
        base = self.desk
        folder = tempfile.TemporaryDirectory(prefix="tether-release-")
        try:
            built = candidate_desk(
                base.domain,
                base.store,
                bundle,
                Path(folder.name),
                data=base.data,
                observability=base.observability,
                clock=base.runtime.clock,
                ids=base.runtime.ids,
            )
        except Exception as exc:
            folder.cleanup()
            if isinstance(exc, TetherError) and exc.code in UNAVAILABLE:
                raise
            why = exc.message if isinstance(exc, TetherError) else type(exc).__name__
            raise TetherError(
                ErrorCode.RELEASE_SOURCE_INVALID, f"release {release_id} cannot be built: {why}"
            ) from None
        assert built.release is not None  # built by `build_desk`
        if built.release.bundle().id != release_id:
            # what the pack builds from the release is not byte for byte the release (its
            # model settings come from this process's environment, say): its runs still
            # record the release they are pinned to
            log.info("release %s builds as %s here", release_id, built.release.bundle().id)
        # one process: the in-force desk's observers (metrics, KPIs, run signals) and leases,
        # and its executor: rate limits and breakers protect the upstream, which every release
        # of the pack calls, so they hold for all of them together
        built.runtime = dataclasses.replace(
            built.runtime,
            observers=base.runtime.observers,
            leases=base.runtime.keeper,
            executor=base.runtime.executor,
            release=lambda: release_id,
        )
        return _Built(built, folder)

    def _routing(self) -> Rollout | None:
        """The rollout that routes new conversations: the running one, else the one that
        promoted the release the production label names (its share is then 100 %), whether or
        not rollouts were started, promoted or rolled back after it."""
        now = time.monotonic()  # how stale a read may be, in real time (other processes move it)
        if now < self._until:
            return self._rollout
        try:
            found: Rollout | None = self.rollouts.current()
        except TetherError as exc:
            if exc.code is not ErrorCode.ROLLOUT_NOT_FOUND:
                raise
            found = None
        if found is None or found.state != RUNNING:
            # a later rollout rolled back leaves an earlier promotion standing: what production
            # names decides, when a promotion put it there
            labelled = self.releases.target(PRODUCTION)
            found = None if labelled is None else self.rollouts.promoted_to(labelled)
        self._rollout, self._until = found, now + self._refresh_s
        return found

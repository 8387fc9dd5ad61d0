"""The release a runtime's runs record: the one labelled production, else the content id of the
configuration in force (stored on first use).

The bundle is built and hashed once per runtime, lazily, so building a desk stays cheap; the
production label is read at most once per `refresh_s`, so a label moved by an operator reaches
running replicas within seconds without a query per run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tether.core.clock import Clock, SystemClock
from tether.release.bundle import Bundle
from tether.release.store import PRODUCTION, ReleaseStore

log = logging.getLogger("tether.release")

RUNTIME_ACTOR = "system:runtime"
DEFAULT_REFRESH_S = 5.0


class ReleaseInForce:
    """Callable: the release id a new run records."""

    def __init__(
        self,
        releases: ReleaseStore,
        bundle: Callable[[], Bundle],
        clock: Clock | None = None,
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        self.releases = releases
        self._bundle = bundle
        self._clock = clock or SystemClock()
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._built: Bundle | None = None
        self._config: str | None = None
        self._current: str | None = None
        self._until = 0.0

    def bundle(self) -> Bundle:
        """The bundle of the configuration in force, built once."""
        if self._built is None:
            self._built = self._bundle()
        return self._built

    @property
    def configuration(self) -> str:
        """The content id of the configuration in force (stored as a release on first use)."""
        with self._lock:
            return self._configuration()

    def __call__(self) -> str:
        now = self._clock.monotonic()
        current = self._current
        if current is not None and now < self._until:
            return current
        with self._lock:
            config = self._configuration()
            labelled = self.releases.target(PRODUCTION)
            if labelled not in (None, config, self._current):
                # said once per move: the label names the release, the pack in force runs
                log.warning(
                    "runs record %s (labelled %s); the configuration in force is %s",
                    labelled,
                    PRODUCTION,
                    config,
                )
            self._current = labelled or config
            self._until = now + self._refresh_s
            return self._current

    def _configuration(self) -> str:
        if self._config is None:
            release, _ = self.releases.create(
                self.bundle(), RUNTIME_ACTOR, "the configuration in force, recorded on first use"
            )
            self._config = release.id
        return self._config

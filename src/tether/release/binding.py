"""The release a runtime's runs record: the content id of the configuration in force, the one
that shaped them (stored as a release on first use).

The bundle is built and hashed once per runtime, lazily, so building a desk stays cheap. The
production label is read at most once per `refresh_s`: a replica whose configuration is not the
release labelled production says so in its log (it records what it runs, never the label).
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
        self._seen: str | None = None  # the release labelled production when last read
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
            if labelled is not None and labelled != config and labelled != self._seen:
                # said once per move: the label names one release, this process runs another
                log.warning(
                    "the release labelled %s is %s; this process runs %s and its runs record it",
                    PRODUCTION,
                    labelled,
                    config,
                )
            self._seen = labelled
            self._current = config
            self._until = now + self._refresh_s
            return self._current

    def _configuration(self) -> str:
        if self._config is None:
            release, _ = self.releases.create(
                self.bundle(), RUNTIME_ACTOR, "the configuration in force, recorded on first use"
            )
            self._config = release.id
        return self._config

"""Runs execute under the release they are pinned to: a conversation's turns under the release
the conversation started under (or the rollout arm it was assigned), a queued or resumed run
under the release it recorded.

`RuntimeOf` maps a release id to the runtime its runs execute on (see `tether.sdk.releases`).
A release that cannot be had (unknown, of another pack version, unreadable, altered) fails closed: the
run records the release it is pinned to and ends in a refusal coded with why, and nothing of
it executes under another configuration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, Reason

if TYPE_CHECKING:
    from tether.runtime.loop import Runtime

RuntimeOf = Callable[[str], "Runtime"]

# the codes of a release that cannot be had; any other error is not the release's
UNAVAILABLE = (
    ErrorCode.RELEASE_NOT_FOUND,
    ErrorCode.RELEASE_SOURCE_INVALID,
    ErrorCode.RELEASE_TAMPERED,
)
UNAVAILABLE_TEXT = (
    "This conversation's configuration is no longer available, so I can't continue it. "
    "Please start a new conversation."
)


def release_unavailable(exc: TetherError) -> Decision:
    """The refusal that ends a run whose release cannot be had."""
    return Decision(
        DecisionKind.REFUSAL, UNAVAILABLE_TEXT, reason=Reason(exc.code, exc.message[:500])
    )


def pinned_runtime(
    default: Runtime, runtime_of: RuntimeOf | None, release: str
) -> tuple[Runtime, Decision | None]:
    """The runtime a run of `release` executes on (`default` without `runtime_of`), and None;
    or, when the release cannot be had, a runtime that only records `release` on the run and
    the refusal to end it with (`Runtime.conclude`)."""
    if runtime_of is None:
        return default, None
    try:
        return runtime_of(release), None
    except TetherError as exc:
        if exc.code not in UNAVAILABLE:
            raise
        recording = dataclasses.replace(default, release=lambda: release, leases=default.keeper)
        return recording, release_unavailable(exc)

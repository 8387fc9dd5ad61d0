"""Quotas on runs in flight (queued or running): per principal and per operator key.

Both are counted in the store, in one statement, so they hold across every replica that shares
it. A request over a quota is `429 QUOTA_EXCEEDED` with `Retry-After`, before anything is
written. Runs started from Python, the CLI or the demo record no operator key and meet no
quota.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tether.core.errors import ErrorCode, TetherError
from tether.core.settings import whole_setting
from tether.store.runs import RunStore

DEFAULT_PRINCIPAL_QUOTA = 50
DEFAULT_OPERATOR_QUOTA = 200
MAX_QUOTA = 100_000
PRINCIPAL_QUOTA_ENV = "TETHER_MAX_ACTIVE_RUNS_PER_PRINCIPAL"
OPERATOR_QUOTA_ENV = "TETHER_MAX_ACTIVE_RUNS_PER_OPERATOR"


@dataclass(frozen=True)
class RunQuotas:
    """How many runs one principal, and one operator key, may have queued or running."""

    per_principal: int = DEFAULT_PRINCIPAL_QUOTA
    per_operator: int = DEFAULT_OPERATOR_QUOTA

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunQuotas:
        """`TETHER_MAX_ACTIVE_RUNS_PER_PRINCIPAL` and `TETHER_MAX_ACTIVE_RUNS_PER_OPERATOR`,
        each 1 to 100,000 (CONFIG_INVALID otherwise)."""
        return cls(
            per_principal=whole_setting(
                PRINCIPAL_QUOTA_ENV, DEFAULT_PRINCIPAL_QUOTA, 1, MAX_QUOTA, environ
            ),
            per_operator=whole_setting(
                OPERATOR_QUOTA_ENV, DEFAULT_OPERATOR_QUOTA, 1, MAX_QUOTA, environ
            ),
        )

    def admit(self, store: RunStore, operator: str, principal: str | None = None) -> None:
        """QUOTA_EXCEEDED unless the operator key `operator` (an `Operator.actor`), and
        `principal` if given, may start one more run."""
        held = store.in_flight(principal, operator)
        if principal is not None and held.principal >= self.per_principal:
            raise TetherError(
                ErrorCode.QUOTA_EXCEEDED,
                f"principal {principal!r} is at its limit of {self.per_principal} runs queued "
                f"or running ({PRINCIPAL_QUOTA_ENV}); retry when one ends",
            )
        if held.operator >= self.per_operator:
            raise TetherError(
                ErrorCode.QUOTA_EXCEEDED,
                f"this operator key is at its limit of {self.per_operator} runs queued or "
                f"running ({OPERATOR_QUOTA_ENV}); retry when one ends",
            )

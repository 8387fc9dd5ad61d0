"""Quotas on runs in flight (queued or running): per principal and per operator key.

Both are counted in the store, in one statement, in the transaction that stores the new run and
under a lock every other new run of the same principal or operator key waits for
(`tether.store.in_flight`), so they hold against requests sent at once and across every replica
that shares the store. A request over a quota is `429 QUOTA_EXCEEDED` with `Retry-After`, and
its run is not stored. Runs started from Python, the CLI or the demo record no operator key
and meet no quota.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tether.core.errors import ErrorCode, TetherError
from tether.core.settings import whole_setting
from tether.store.in_flight import InFlight

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

    def admit(self, held: InFlight, principal: str) -> None:
        """QUOTA_EXCEEDED unless `principal`, and the operator key (an `Operator.actor`) the
        count `held` is of, may start one more run. Called by the store as it stores a run
        submitted with these quotas (`RunRequest.quota`), with the count it read under the
        quotas' lock."""
        if held.principal >= self.per_principal:
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

"""The access layer, wired: one object holding keys, tokens, revocations, audit and operators."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tether.access.anchors import FileCheckpointSink
from tether.access.audit import AuditLog
from tether.access.audit_verify import VerifyReport, verify_chain
from tether.access.governor import RunGovernor
from tether.access.keys import SigningKeyRing
from tether.access.operators import OperatorKeys
from tether.access.revocation import (
    CachedRevocations,
    RedisRevocations,
    Revocations,
    StoreRevocations,
)
from tether.access.rights import RoleRights
from tether.access.settings import AccessSettings, AuditPaths
from tether.access.tokens import CapabilityTokens
from tether.core.clock import Clock, SystemClock
from tether.core.redis_client import redis_prefix


@dataclass
class AccessControl:
    """Everything least privilege and the audit trail need, over one system of record.

    Opening it touches neither the database nor Redis; keys are made or loaded on first use.
    """

    engine: Engine
    settings: AccessSettings
    audit: AuditLog
    keys: SigningKeyRing
    revocations: Revocations
    tokens: CapabilityTokens
    operators: OperatorKeys
    governor: RunGovernor

    @classmethod
    def open(
        cls,
        engine: Engine,
        rights: RoleRights | None = None,
        settings: AccessSettings | None = None,
        clock: Clock | None = None,
    ) -> AccessControl:
        """Wire the access layer; `clock` is the runs' clock (token times), keys and audit use
        wall time."""
        settings = settings or AccessSettings.from_env()
        clock = clock or SystemClock()
        audit = AuditLog(
            engine,
            checkpoint_every=settings.checkpoint_every,
            checkpoint_interval_s=settings.checkpoint_interval_s,
            sink=FileCheckpointSink(AuditPaths.resolve(engine.url, settings).sink_file),
        )
        keys = SigningKeyRing(engine, settings, audit=audit)
        audit.signer = keys
        backend: Revocations = (
            RedisRevocations(settings.redis_url, clock, prefix=redis_prefix())
            if settings.redis_url
            else StoreRevocations(engine, clock)
        )
        revocations = CachedRevocations(backend, settings.revocation_cache_s)
        tokens = CapabilityTokens(keys, revocations, clock, settings.token_ttl_s)
        governor = RunGovernor(tokens, rights or RoleRights({}), audit, revocations)
        operators = OperatorKeys(engine, audit)
        return cls(engine, settings, audit, keys, revocations, tokens, operators, governor)

    def verify_audit(self) -> VerifyReport:
        """Check the whole audit chain and its signed checkpoints."""
        return verify_chain(self.engine, self.keys, self.audit.sink)

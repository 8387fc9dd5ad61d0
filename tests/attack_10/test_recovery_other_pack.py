"""Two domain packs share one PostgreSQL store (one process here; a retail worker and a clinic
worker in a deployment). A clinic run whose lease lapsed must be recovered by the clinic desk,
not ended by the retail desk's recovery sweep, which knows neither its agent nor its patient."""

from __future__ import annotations

from sqlalchemy import text

from tether import Message
from tether.core.types import ErrorCode, RunStatus
from tether.domains.clinic.pack import CLINIC
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import build_desk
from tether.store import RunStore
from tether.workers.recovery import Recovery


class _Killed(BaseException):
    """Stands for the process dying in the middle of the run."""


class _DiesOnFirstTurn:
    name = "scripted"

    def propose(self, request):  # noqa: ANN001
        raise _Killed()


def test_retail_recovery_does_not_end_a_clinic_run(pg_url: str) -> None:
    store = RunStore.open(pg_url)
    try:
        retail = build_desk(RETAIL, store, fresh=True)
        clinic = build_desk(CLINIC, store, fresh=True)
        try:
            clinic.runtime.run(
                RunRequest("ana-silva", [Message("user", "hello")]), _DiesOnFirstTurn()
            )
        except _Killed:
            pass
        with store.engine.begin() as conn:  # its worker is gone: the lease lapsed long ago
            (run_id,) = conn.execute(text("SELECT id FROM runs WHERE status = 'running'")).one()
            conn.execute(
                text("UPDATE runs SET lease_owner = 'dead', lease_expires_at = 1, updated_at = 1")
            )

        def models() -> ScriptedModel:
            return ScriptedModel(parse_script([{"refuse": "I cannot help with that."}]))

        Recovery(retail.runtime, models).sweep()  # the other pack's worker sweeps first
        Recovery(clinic.runtime, models).sweep()
        run = store.get_run(run_id)
        assert run.status is RunStatus.COMPLETED
        assert run.decision is not None and run.decision.reason is not None
        assert run.decision.reason.code is not ErrorCode.UNKNOWN_AGENT, (
            "the retail desk's recovery ended a clinic run: " + run.decision.reason.message
        )
        assert run.decision.reason.code is ErrorCode.MODEL_REFUSED
    finally:
        store.close()

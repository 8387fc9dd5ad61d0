"""Two domain packs served by one process over one PostgreSQL store: each agent is grounded
only on its own sources (`Agent.grounding_sources`), never on the other pack's knowledge."""

from __future__ import annotations

from tether import Message
from tether.domains.clinic.pack import CLINIC
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import build_desk
from tether.store import RunStore


def _retrieved(run) -> list[str]:
    sources = []
    for step in run.steps:
        if str(step.kind).lower().endswith("retrieval"):
            sources += [e["source"] for e in step.data["evidence"]]
    return sources


def test_retail_run_is_not_grounded_on_the_clinic_pack(pg_url: str) -> None:
    store = RunStore.open(pg_url)
    try:
        retail = build_desk(RETAIL, store, fresh=True)
        clinic = build_desk(CLINIC, store, fresh=True)
        model = ScriptedModel(parse_script([{"answer": "I cannot help with that."}]))
        # the clinic desk ingests its knowledge base into the shared store
        clinic.runtime.run(RunRequest("ana-silva", [Message("user", "opening hours?")]), model)
        run = retail.runtime.run(
            RunRequest(
                "raj_sanchez_2970",
                [Message("user", "What are your opening hours on Saturday, and the phone number?")],
            ),
            model,
        )
        sources = _retrieved(run)
        assert sources, "the retail run retrieved nothing at all"
        allowed = RETAIL.agents[0].grounding_sources
        foreign = [s for s in sources if not any(s.startswith(a) for a in allowed)]
        assert foreign == [], f"retail run grounded on another pack's documents: {foreign}"
    finally:
        store.close()

"""A desk can render tool outcomes for its model in another shape than compact JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from tether.core.types import Message, StepKind
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.sdk import build_desk
from tether.store.runs import RunStore


def as_yaml(observation: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(observation), sort_keys=True)


def test_the_observation_hook_shapes_what_the_model_reads(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    desk = build_desk(RETAIL, store, fresh=True, observation=as_yaml)
    script = [
        {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
        {"tool": "get_order_details", "args": {"order_id": "#W0000000"}},  # a guard says no
        {"answer": "You are raj_sanchez_2970 [tool:1]."},
    ]
    request = RunRequest("raj_sanchez_2970", [Message("user", "Who am I?")])
    run = desk.runtime.run(request, ScriptedModel(parse_script(script)))
    # a tool's result and a guard's refusal both reach the model through the hook
    tool_messages = [
        m["content"]
        for s in run.steps
        if s.kind in (StepKind.TOOL, StepKind.GUARD)
        for m in s.data.get("messages", ())
        if m["role"] == "tool"
    ]
    found, failed = (yaml.safe_load(t) for t in tool_messages)
    assert failed["ok"] is False and failed["error"]["code"] == "POLICY_DENIED"
    # with how far the output may be believed (the tool spec's output_trust)
    assert found == {
        "ok": True,
        "output": "raj_sanchez_2970",
        "evidence_id": "tool:1",
        "trust": "trusted",
    }
    assert not tool_messages[0].lstrip().startswith("{")  # YAML, not the default JSON
    store.close()

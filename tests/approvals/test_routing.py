"""Escalation configuration: routes by reason code, policy, approver role, tool and risk; bad
files fail with CONFIG_INVALID naming the problem; the environment can set it all up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.approvals import EscalationConfig, escalations_from_env, load_escalations
from tether.approvals.routing import Escalation, parse_escalations
from tether.core.errors import ErrorCode, TetherError

CONFIG = """
default_queue: triage
queues:
  supervisors:
    webhook: http://127.0.0.1:9/hook
    secret_env: SUPERVISORS_SECRET
  risky: {}
routes:
  - queue: supervisors
    policies: [supervisor-approval-large-return]
  - queue: risky
    risk: [irreversible]
  - queue: handoffs
    codes: [HANDOFF_REQUESTED]
    tools: [transfer_to_human_agents]
approvers:
  supervisor: [admin]
"""


def _config(tmp_path: Path, text: str = CONFIG) -> EscalationConfig:
    path = tmp_path / "escalations.yaml"
    path.write_text(text)
    return load_escalations(path)


def test_routes_pick_the_first_matching_queue(tmp_path: Path) -> None:
    config = _config(tmp_path)
    large = Escalation(("POLICY_ESCALATED",), ("supervisor-approval-large-return",), "supervisor")
    assert config.route(large) == "supervisors"
    assert config.route(Escalation(("POLICY_ESCALATED",), ("other",), risk="irreversible")) == (
        "risky"
    )
    handoff = Escalation(("HANDOFF_REQUESTED",), tool="transfer_to_human_agents", risk="read")
    assert config.route(handoff) == "handoffs"
    # every given field must match: the right code with another tool is not a hand-off route
    assert config.route(Escalation(("HANDOFF_REQUESTED",), tool="calculate")) == "triage"
    assert config.route(Escalation(("STEP_LIMIT",))) == "triage"
    assert set(config.queues) == {"triage", "supervisors", "risky", "handoffs"}
    assert config.webhook("supervisors") == "http://127.0.0.1:9/hook"
    assert config.webhook("risky") is None


def test_approver_roles_map_to_operator_roles(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.deciding_roles("supervisor") == ("admin",)
    assert set(config.deciding_roles("manager")) == {"approver", "admin"}  # the default


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.secret("supervisors", {"SUPERVISORS_SECRET": "s3"}) == b"s3"
    with pytest.raises(TetherError) as caught:
        config.secret("supervisors", {})
    assert caught.value.code is ErrorCode.CONFIG_INVALID


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("queues: {q: {webhook: 'ftp://x/y', secret: s}}", "http"),
        ("queues: {q: {webhook: 'http://x/y'}}", "secret"),
        ("routes: [{queue: q, codes: [NOT_A_CODE]}]", "routes.0.codes.0"),
        ("routes: [{queue: q, risk: [dangerous]}]", "routes.0.risk.0"),
        ("routes: [{queue: 'Bad Name'}]", "routes.0.queue"),
        ("queues: {'Bad Name': {}}", "Bad Name"),
        ("approvers: {supervisor: [overlord]}", "approvers.supervisor.0"),
        ("unknown: 1", "unknown"),
        ("- a list", "mapping"),
        ("delivery: {max_attempts: 0}", "delivery.max_attempts"),
    ],
)
def test_bad_configuration_is_refused_with_its_place(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(TetherError) as caught:
        _config(tmp_path, text)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert words in caught.value.message and "escalations.yaml" in caught.value.message


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TetherError) as caught:
        load_escalations(tmp_path / "missing.yaml")
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_the_environment_names_the_file_and_the_default_webhook(tmp_path: Path) -> None:
    path = tmp_path / "escalations.yaml"
    path.write_text(CONFIG)
    env = {
        "TETHER_ESCALATIONS": str(path),
        "TETHER_ESCALATION_WEBHOOK": "https://hooks.example.com/t",
        "TETHER_ESCALATION_WEBHOOK_SECRET": "shh",
    }
    config = escalations_from_env(env)
    assert config.webhook("triage") == "https://hooks.example.com/t"
    assert config.secret("triage", {}) == b"shh"
    assert config.webhook("supervisors") == "http://127.0.0.1:9/hook"  # the file's queues stay
    assert escalations_from_env({}).default_queue == "default"
    with pytest.raises(TetherError) as caught:
        escalations_from_env({"TETHER_ESCALATION_WEBHOOK": "https://hooks.example.com/t"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_an_empty_file_is_the_default_configuration() -> None:
    config = parse_escalations(None, "empty")
    assert config.route(Escalation(("POLICY_ESCALATED",))) == "default"
    assert config.queues["default"].webhook is None

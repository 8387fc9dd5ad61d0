"""Structured logs: one JSON object per line, tagged with the run's trace id, redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.observe.logs import configure_from_env, configure_logging
from tether.store.runs import RunStore

from .conftest import EMAIL, RECOVERY_SCRIPT, ask, observability, open_desk


@pytest.fixture
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("tether")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_trace_id_and_no_personal_data(store: RunStore) -> None:
    stream = io.StringIO()
    configure_logging({"TETHER_LOG_FORMAT": "json", "TETHER_LOG_LEVEL": "info"}, stream)
    run = ask(open_desk(store, observability()), f"order W4566809, I am {EMAIL}", RECOVERY_SCRIPT)
    logging.getLogger("tether.domains.retail").info(
        "customer %s asked", EMAIL, extra={"token": "tk_0123456789abcdef.secretsecretsecret"}
    )
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    failed = [e for e in events if e["event"] == "tool call failed"]
    assert [(e["tool"], e["code"], e["trace_id"]) for e in failed] == [
        ("get_order_details", "NOT_FOUND", run.trace_id)
    ]
    ended = [e for e in events if e["event"] == "run ended"]
    assert len(ended) == 1
    assert ended[0]["trace_id"] == run.trace_id and ended[0]["run_id"] == run.id
    assert ended[0]["decision"] == "answer" and ended[0]["level"] == "info"
    assert ended[0]["ts"].endswith("+00:00")
    asked = next(e for e in events if e["logger"] == "tether.domains.retail")
    assert asked["event"] == "customer [redacted:email] asked"
    assert asked["token"] == "[redacted]"
    assert EMAIL not in stream.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_text_format_and_level() -> None:
    stream = io.StringIO()
    configure_logging({"TETHER_LOG_FORMAT": "text", "TETHER_LOG_LEVEL": "warning"}, stream)
    log = logging.getLogger("tether.observe")
    log.info("hidden")
    log.warning("mail %s failed", EMAIL, extra={"code": "X"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "WARNING tether.observe: mail [redacted:email] failed code=X" in lines[0]


def test_bad_settings_are_config_errors() -> None:
    for env in ({"TETHER_LOG_LEVEL": "loud"}, {"TETHER_LOG_FORMAT": "xml"}):
        with pytest.raises(TetherError) as bad:
            configure_logging(env)
        assert bad.value.code is ErrorCode.CONFIG_INVALID
    assert configure_from_env({}) is None  # the host's logging is left alone

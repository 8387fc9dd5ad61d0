"""A webhook URL a delivery cannot be sent to (a port that is no number, a NUL, a host label
over 63 characters, ...) is CONFIG_INVALID when the escalation configuration is loaded, and
usual URLs still load. Should one reach `WebhookSender.send` anyway, the attempt fails with its
error instead of raising: the notice is marked failed once its attempts are spent, and the
other notices of the batch keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tether.access.storage import begin
from tether.approvals.notices import FAILED, NoticeDispatcher, NoticeOutbox
from tether.approvals.routing import QueueConfig, parse_escalations
from tether.approvals.webhooks import WebhookSender
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.store import RunStore

BAD_URL = "https://hooks.example.com:abc/tether"
BAD_URLS = [
    BAD_URL,
    "https://hooks.example.com:99999/tether",
    "https://hooks.exa\x00mple.com/tether",
    "https://hooks.example.com/te ther",
    f"https://{'a' * 64}.example.com/tether",
    f"https://{('a' * 60 + '.') * 5}com/tether",
    f"https://hooks.example.com/{'x' * 3000}",
    "ftp://hooks.example.com/tether",
]


def _config(webhook: str) -> dict:
    return {"queues": {"q": {"webhook": webhook, "secret": "s3cret"}}}


@pytest.mark.parametrize("url", BAD_URLS)
def test_an_undeliverable_webhook_url_is_config_invalid(url: str) -> None:
    with pytest.raises(TetherError) as refused:
        parse_escalations(_config(url), "escalations.yaml")
    assert refused.value.code is ErrorCode.CONFIG_INVALID


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/tether",
        "http://127.0.0.1:9/hook",
        "http://[::1]:8080/hook",
        "http://localhost:8000/hook?team=desk",
        "http://approvals_receiver:8080/hook",  # a compose service name
        "https://bücher.example/hook",
    ],
)
def test_usual_webhook_urls_still_load(url: str) -> None:
    assert parse_escalations(_config(url), "escalations.yaml").webhook("q") == url


@pytest.mark.parametrize("url", BAD_URLS[:6])
def test_send_never_raises_on_a_url_it_cannot_use(url: str) -> None:
    sent = WebhookSender(timeout_s=2).send(url, b"k", "ntc_1", "run.escalated", b"{}", 1e9)
    assert not sent.ok and sent.error, sent


def test_a_bad_url_that_got_through_fails_its_notice_not_the_batch(tmp_path: Path) -> None:
    data = {
        "default_queue": "desk",
        "queues": {
            # nothing listens on port 9: every attempt fails at once, as a delivery may
            "desk": {"webhook": "http://127.0.0.1:9/hook", "secret": "s3cret"},
        },
        "delivery": {"max_attempts": 1, "timeout_s": 2},
    }
    config = parse_escalations(data, "escalations.yaml")
    # as if validation had been bypassed (an older stored configuration)
    config.queues["broken"] = QueueConfig.model_construct(
        webhook=BAD_URL, secret=SecretStr("s3cret"), secret_env=None, description=""
    )
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        clock = ManualClock(1_000_000.0)
        outbox = NoticeOutbox(store.engine, config, clock)
        with begin(store.engine) as conn:
            bad = outbox.add_in(conn, "run.escalated", "broken", "run_1", {"x": 1})
        clock.advance(1.0)
        with begin(store.engine) as conn:
            good = outbox.add_in(conn, "run.escalated", "desk", "run_2", {"x": 2})
        clock.advance(1.0)
        NoticeDispatcher(outbox).deliver_due()  # one attempt at each due notice; no raise
        by_id = {n.id: n for n in outbox.list()}
        # max_attempts is 1: after its one attempt each notice is failed, with its error
        assert by_id[bad].state == FAILED, by_id[bad]
        assert "InvalidURL" in by_id[bad].last_error or "port" in by_id[bad].last_error
        assert by_id[good].state == FAILED, by_id[good]
        assert by_id[good].last_error
    finally:
        store.close()

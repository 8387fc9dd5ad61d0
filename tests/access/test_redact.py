"""Redaction of logs and exported traces; the system of record keeps the originals."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import random

import pytest

from tests.access.helpers import AUTH, EMAIL, ask, open_desk
from tether.core.errors import ErrorCode, TetherError
from tether.observe.redact import (
    RedactingFilter,
    RedactionConfig,
    Redactor,
    default_redactor,
    redact_trace,
    uvicorn_log_config,
)
from tether.store.runs import RunStore

SAMPLE = (
    "user raj.sanchez2046@example.com paid with 4111 1111 1111 1111 (not 1234 5678 9012 3456), "
    "IBAN DE89 3704 0044 0532 0130 00, Authorization: Bearer abcdefghijklmnop, "
    "password=hunter2hunter, key tk_0123456789abcdef.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG "
    "token tct1.eyJhIjoxfQ.c2lnbmF0dXJl"
)


def test_every_category_is_masked() -> None:
    out = Redactor().text(SAMPLE)
    for secret in (
        "raj.sanchez2046@example.com",
        "4111 1111 1111 1111",
        "DE89 3704",
        "abcdefghijklmnop",
        "hunter2hunter",
        "tk_0123456789abcdef",
        "tct1.",
    ):
        assert secret not in out, secret
    assert "1234 5678 9012 3456" in out  # fails the Luhn check: not a card number
    assert "[redacted:email]" in out and "[redacted:card]" in out and "[redacted:api-key]" in out


def test_categories_are_configurable() -> None:
    only_secrets = Redactor(RedactionConfig.from_env({"TETHER_REDACT": "secrets"}))
    out = only_secrets.text(SAMPLE)
    assert "raj.sanchez2046@example.com" in out and "tct1." not in out
    nothing = Redactor(RedactionConfig.from_env({"TETHER_REDACT": "off"}))
    assert nothing.text(SAMPLE) == SAMPLE
    extra = Redactor(RedactionConfig.from_env({"TETHER_REDACT_EXTRA": json.dumps([r"#W\d{7}"])}))
    assert extra.text("order #W4566809") == "order [redacted]"
    for bad in ({"TETHER_REDACT": "emails,nonsense"}, {"TETHER_REDACT_EXTRA": "[("}):
        with pytest.raises(TetherError) as caught:
            RedactionConfig.from_env(bad)
        assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_values_under_sensitive_keys_are_blanked() -> None:
    value = {
        "headers": {"Authorization": "Basic Zm9vOmJhcg==", "X-Api-Key": "abc"},
        "payment_methods": {"credit_card_1": {"brand": "visa", "last_four": "4242"}},
        "email": EMAIL,
        "count": 3,
    }
    out = Redactor().value(value)
    assert out["headers"] == {"Authorization": "[redacted]", "X-Api-Key": "[redacted]"}
    assert out["payment_methods"]["credit_card_1"] == {"brand": "visa", "last_four": "[redacted]"}
    assert out["email"] == "[redacted:email]" and out["count"] == 3
    assert value["email"] == EMAIL  # the original is untouched


def test_log_records_are_masked_and_keep_their_shape() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("tests.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("lookup for %s with %s", EMAIL, "Bearer abcdefghijklmnop")
        # uvicorn's access log reads its arguments by position: they must stay a tuple
        record = logging.LogRecord(
            "uvicorn.access",
            20,
            "",
            0,
            '%s - "%s %s"',
            ("1.2.3.4", "GET", f"/v1/runs?principal={EMAIL}"),
            None,
        )
        assert RedactingFilter().filter(record)
        assert (
            isinstance(record.args, tuple)
            and record.args[2] == "/v1/runs?principal=[redacted:email]"
        )
        try:
            raise ValueError(f"bad key {EMAIL}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert EMAIL not in written and "abcdefghijklmnop" not in written
    assert "lookup for [redacted:email] with Bearer [redacted]" in written
    assert "ValueError: bad key [redacted:email]" in written


def test_uvicorn_logging_is_configured_with_the_filter() -> None:
    config = uvicorn_log_config()
    assert all("redact" in h["filters"] for h in config["handlers"].values())
    logging.config.dictConfig(config)  # the configuration is valid
    uvicorn_access = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, RedactingFilter) for h in uvicorn_access.handlers for f in h.filters)


def test_an_exported_trace_is_masked_while_the_record_keeps_the_original(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    desk = open_desk(store)
    run = ask(desk, f"My e-mail is {EMAIL}", [AUTH, {"answer": "Found you [tool:1]."}])
    stored = store.get_run(run.id).to_dict(with_steps=True)
    assert EMAIL in json.dumps(stored)  # replay needs the real arguments
    exported = json.dumps(redact_trace(stored))
    assert EMAIL not in exported and "[redacted:email]" in exported
    # the one the log and trace exporters use by default
    assert default_redactor().value({"q": EMAIL}) == {"q": "[redacted:email]"}
    store.close()


def test_digits_inside_an_id_are_not_a_card_number() -> None:
    """A hex id whose first fifteen characters are digits passing the Luhn check (as a random
    trace id sometimes is) is kept whole; the same digits standing alone are masked."""
    trace = "649909733384415fb1e3b5991487aa7f"
    assert Redactor().text(f"trace_id={trace} run_4111111111111111x") == (
        f"trace_id={trace} run_4111111111111111x"
    )
    assert Redactor().value({"trace_id": trace}) == {"trace_id": trace}
    for alone in ("649909733384415", "card 4111111111111111.", "pan=4111-1111-1111-1111&x"):
        assert "[redacted:card]" in Redactor().text(alone), alone


def test_percent_encoded_secrets_are_masked_in_their_decoded_form() -> None:
    redactor = Redactor()
    encoded = EMAIL.replace("@", "%40")
    assert redactor.text(f"GET /v1/runs/{encoded} HTTP/1.1") == (
        "GET /v1/runs/[redacted:email] HTTP/1.1"
    )
    assert redactor.text(f"/v1/runs?principal={encoded}&n=2") == (
        "/v1/runs?principal=[redacted:email]&n=2"
    )
    assert redactor.text("?auth=Bearer%20abcdefghijklmnop") == "?auth=Bearer%20[redacted]"
    assert redactor.text("?pan=4111%201111%201111%201111") == "?pan=[redacted:card]"
    # a decoded word is re-escaped: a line break in it cannot forge a second log line
    forged = redactor.text(f"?m={encoded}%0A127.0.0.1%20GET%20/admin")
    assert forged == "?m=[redacted:email]%0A127.0.0.1%20GET%20/admin"
    # nor can a quote end the quoted request field, or markup reach a log viewer as markup
    marked = redactor.text(f'"GET /x%22%3Cscript%3E{encoded}%60%27%5C HTTP/1.1"')
    assert marked == '"GET /x%22%3Cscript%3E[redacted:email]%60%27%5C HTTP/1.1"', marked
    # words with nothing to mask, and malformed escapes, are left exactly as they were
    for kept in ("50% off", "%zz%4", "%E2%82 x", "/a%20b?q=J%C3%BCrgen", "a%2540b.com"):
        assert redactor.text(kept) == kept, kept
    off = Redactor(RedactionConfig.from_env({"TETHER_REDACT": "off"}))
    assert off.text(f"/v1/runs/{encoded}") == f"/v1/runs/{encoded}"


def test_card_numbers_grouped_with_dots_or_two_spaces_are_masked() -> None:
    redactor = Redactor()
    for card in ("4111.1111.1111.1111", "4111  1111  1111  1111", "3782.822463.10005"):
        assert redactor.text(f"paid with {card}.") == "paid with [redacted:card].", card
    # what only looks like it stays: a failed Luhn check, mixed separators, decimals, epochs
    for kept in (
        "1234.5678.9012.3456",
        "4111.1111  1111.1111",
        "took 1733507348.123456 s",
        "total 4111111.11 USD",
        "v4111.1111.1111.1111.2",
        "order #W4566809, product 6086499569, price 1,234.56",
    ):
        assert redactor.text(kept) == kept, kept


def test_secrets_under_compound_names_are_masked() -> None:
    redactor = Redactor()
    line = (
        "POST /oauth?access_token=ya29abcdefgh&client_secret=s3cr3tvalue "
        'refresh-token: 1//0gabcdef {"db_password": "hunter2hunter"} x-api-key=abcd1234'
    )
    assert redactor.text(line) == (
        "POST /oauth?access_token=[redacted]&client_secret=[redacted] "
        'refresh-token: [redacted] {"db_password": "[redacted]"} x-api-key=[redacted]'
    )
    # names that only contain one of the words, counts of tokens, and plain ids stay
    for kept in ("max_tokens=1024", "secretary=Bob", "tokenizer: cl100k", "order_id=#W4566809"):
        assert redactor.text(kept) == kept, kept


def test_iban_in_lower_case_is_masked_when_its_check_digits_verify() -> None:
    redactor = Redactor()
    for iban in ("de89 3704 0044 0532 0130 00", "gb82west12345698765432", "De89370400440532013000"):
        assert redactor.text(f"pay to {iban}.") == "pay to [redacted:iban].", iban
    # in lower case only the check digits tell an IBAN from words and digits of its shape
    for kept in ("de89 3704 0044 0532 0130 02", "ab12 this that", "id42 order w4566809 now"):
        assert redactor.text(kept) == kept, kept
    assert redactor.text("IBAN DE89 3704 0044 0532 0130 02") == "IBAN [redacted:iban]"


def test_hex_ids_are_never_read_as_lower_case_ibans() -> None:
    # trace and request ids are correlated across logs: of random 32-hex-digit ids, about 1 in
    # 1,300 once passed the check digits as an IBAN; a lower-case IBAN must also be of a real
    # country and of that country's length
    redactor = Redactor()
    generator = random.Random(7)
    ids = [f"{generator.getrandbits(128):032x}" for _ in range(20_000)]
    masked = [i for i in ids if redactor.text(f"trace {i}") != f"trace {i}"]
    assert masked == [], masked[:5]

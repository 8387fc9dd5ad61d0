"""Redaction of secrets, tokens, payment details and e-mail addresses from what leaves tether.

Logs and exported traces travel to other systems and people; the system of record does not,
and keeps what replay needs. `Redactor.text` masks strings; `Redactor.value` walks JSON-like
values and also blanks whatever sits under a sensitive key (`password`, `authorization`,
`last_four`, ...). What is masked is configurable by category (`TETHER_REDACT`: `all`
(default), `off`, or a comma list of `secrets`, `emails`, `payment`) plus extra regular
expressions (`TETHER_REDACT_EXTRA`, a JSON list). `RedactingFilter` applies it to log records;
`redact_trace` is what a trace exporter calls on a run before it leaves the process.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from tether.core.errors import ErrorCode, TetherError

CATEGORIES = ("secrets", "emails", "payment")
# a log argument longer than this is cut (URLs in the access log are the usual case), so
# redacting one log line costs bounded time on the event loop whatever a client sends
MAX_LOGGED_CHARS = 16 * 1024
# where a cut may fall: characters no masked pattern spans, so no secret is split in two
_CUT_AT = frozenset(" \t\r\n&?;,\"'<>")

SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "x_api_key",
        "authorization",
        "cookie",
        "set_cookie",
        "private_key",
        "passphrase",
        "capability",
        "capability_token",
    }
)
PAYMENT_KEYS = frozenset(
    {"card_number", "cvv", "cvc", "iban", "account_number", "last_four", "expiry", "pan"}
)

_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

_SECRET_RULES: tuple[_Rule, ...] = (
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        "[redacted:private-key]",
    ),
    (re.compile(r"\btct1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), "[redacted:token]"),
    (re.compile(r"\btk_[0-9a-f]{16}\.[A-Za-z0-9_-]{16,}"), "[redacted:api-key]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[redacted:token]"),
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}"), "[redacted:secret]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    (
        # also a name ending in one (access_token, client_secret, db_password); tried only
        # where a run of name characters starts, so a long run is scanned once (linear time)
        re.compile(
            r"(?i)(?<![\w-])([\w-]*(?:password|passwd|secret|api[_-]?key|token|passphrase"
            r"|authorization))(\"?\s*[:=]\s*\"?)([^\s\"',;&]{4,})"
        ),
        r"\1\2[redacted]",
    ),
)
_EMAIL_RULES: tuple[_Rule, ...] = (
    (
        # starts only where a run of local-part characters starts: tried from every character
        # of a long run, the pattern would scan the rest of the run each time (quadratic)
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
        ),
        "[redacted:email]",
    ),
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[redacted:card]" if _luhn(digits) else match.group(0)


# the length of each country's IBAN (ISO 13616 registry)
_IBAN_LENGTHS = {
    **dict.fromkeys(("NO",), 15),
    **dict.fromkeys(("BE",), 16),
    **dict.fromkeys(("DK", "FI", "FO", "GL", "NL"), 18),
    **dict.fromkeys(("MK", "SI"), 19),
    **dict.fromkeys(("AT", "BA", "EE", "KZ", "LT", "LU", "XK"), 20),
    **dict.fromkeys(("CH", "HR", "LI", "LV"), 21),
    **dict.fromkeys(("BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"), 22),
    **dict.fromkeys(("AE", "GI", "IL", "IQ", "TL"), 23),
    **dict.fromkeys(("AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"), 24),
    **dict.fromkeys(("PT", "ST"), 25),
    **dict.fromkeys(("IS", "TR"), 26),
    **dict.fromkeys(("FR", "GR", "IT", "MC", "MR", "SM"), 27),
    **dict.fromkeys(("AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"), 28),
    **dict.fromkeys(("BR", "EG", "PS", "QA", "UA"), 29),
    **dict.fromkeys(("JO", "KW", "MU"), 30),
    **dict.fromkeys(("MT", "SC"), 31),
    **dict.fromkeys(("LC",), 32),
}


def _iban(match: re.Match[str]) -> str:
    # in capitals the shape is enough, as it always was; in lower or mixed case, words and
    # digits (hex trace ids) take that shape by chance, so only an IBAN of a real country, of
    # that country's length and with verifying check digits is masked
    text = match.group(0)
    return "[redacted:iban]" if text.isupper() or _iban_checks(text) else text


def _iban_checks(text: str) -> bool:
    """The ISO 13616 check: the IBAN, country and check digits moved to the end and letters
    written as 10 to 35, is 1 modulo 97."""
    compact = text.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


_PAYMENT_RULES: tuple[_Rule, ...] = (
    # 13 to 19 digits, optionally grouped, standing on their own (a run of digits inside a
    # word, such as a hex trace id, is no card number); only those passing the Luhn check
    (re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"), _card),
    # grouped with dots or two spaces, as 4-4-4-(1 to 7) or American Express's 4-6-5 groups
    # (the same separator throughout): a loose dot would take decimals and epoch seconds too
    (
        re.compile(
            r"(?<![\w.-])(?:\d{4}(\.| {2})\d{4}\1\d{4}\1\d{1,7}|\d{4}(\.| {2})\d{6}\2\d{5})"
            r"(?![\w-]|\.\d)"
        ),
        _card,
    ),
    (
        re.compile(r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
        _iban,
    ),
)


@dataclass(frozen=True)
class RedactionConfig:
    """Which categories are masked, and any extra patterns (masked as `[redacted]`)."""

    secrets: bool = True
    emails: bool = True
    payment: bool = True
    extra_patterns: tuple[str, ...] = ()
    extra_keys: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RedactionConfig:
        """From `TETHER_REDACT` and `TETHER_REDACT_EXTRA`; raises CONFIG_INVALID."""
        env = os.environ if environ is None else environ
        raw = env.get("TETHER_REDACT", "").strip().lower()
        if raw in ("", "all", "on", "1", "true", "yes"):
            chosen = set(CATEGORIES)
        elif raw in ("off", "none", "0", "false", "no"):
            chosen = set()
        else:
            chosen = {part.strip() for part in raw.split(",") if part.strip()}
            unknown = sorted(chosen - set(CATEGORIES))
            if unknown:
                raise TetherError(
                    ErrorCode.CONFIG_INVALID,
                    f"TETHER_REDACT: unknown categories {unknown}; use {', '.join(CATEGORIES)}",
                )
        extra = _extra_patterns(env.get("TETHER_REDACT_EXTRA", "").strip())
        return cls("secrets" in chosen, "emails" in chosen, "payment" in chosen, extra)


def _extra_patterns(raw: str) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        patterns = json.loads(raw)
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError("not a list of strings")
        for pattern in patterns:
            re.compile(pattern)
    except (ValueError, re.error) as exc:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"TETHER_REDACT_EXTRA must be a JSON list of regular expressions ({exc})",
        ) from None
    return tuple(patterns)


class Redactor:
    """Masks strings and JSON-like values according to a `RedactionConfig`."""

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config or RedactionConfig()
        rules: list[_Rule] = []
        keys: set[str] = set(self.config.extra_keys)
        if self.config.secrets:
            rules.extend(_SECRET_RULES)
            keys |= SECRET_KEYS
        if self.config.emails:
            rules.extend(_EMAIL_RULES)
        if self.config.payment:
            rules.extend(_PAYMENT_RULES)
            keys |= PAYMENT_KEYS
        rules.extend((re.compile(p), "[redacted]") for p in self.config.extra_patterns)
        self._rules = tuple(rules)
        self._keys = frozenset(_key(k) for k in keys)

    def text(self, text: str) -> str:
        """`text` with every configured pattern masked."""
        if not text:
            return text
        for pattern, replacement in self._rules:
            text = pattern.sub(replacement, text)
        if "%" in text:
            text = _WORD.sub(self._percent_decoded, text)
        return text

    def _percent_decoded(self, match: re.Match[str]) -> str:
        # URLs reach the logs percent-encoded (uvicorn quotes '@' in a path as %40): a word
        # whose decoded form holds something to mask is given decoded, masked, re-escaped
        word = match.group(0)
        if not _ESCAPE.search(word):
            return word
        decoded = unquote(word, errors="replace")  # a malformed escape is left as it is
        masked = decoded
        for pattern, replacement in self._rules:
            masked = pattern.sub(replacement, masked)
        if masked == decoded:
            return word
        return "".join(_escaped(ch) for ch in masked)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value: strings masked, values under sensitive keys blanked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: "[redacted]" if _key(str(k)) in self._keys else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return copy.copy(value)


# a whitespace-delimited word holding a '%', tried only where a word starts (linear time)
_WORD = re.compile(r"(?<!\S)[^\s%]*%\S*")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


_KEPT_ESCAPED = frozenset("%\"'<>\\`")


def _escaped(ch: str) -> str:
    # what a decoded word may not show as it is: a line break or other control character would
    # forge a log line, whitespace would split it, '%' would read as an escape again, and
    # quotes, angle brackets, backslashes and backticks would close the quoted request field
    # or be read as markup by a log viewer
    if ch.isprintable() and not ch.isspace() and ch not in _KEPT_ESCAPED:
        return ch
    return "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


@lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    """The redactor configured by the environment (read once per process)."""
    return Redactor(RedactionConfig.from_env())


def redact_text(text: str) -> str:
    """Mask `text` with the configured redactor (the hook log and trace exporters call)."""
    return default_redactor().text(text)


def redact_trace(run: Mapping[str, Any], redactor: Redactor | None = None) -> dict[str, Any]:
    """A run record (as `Run.to_dict(with_steps=True)` gives it) fit to export as a trace."""
    cleaned: dict[str, Any] = (redactor or default_redactor()).value(run)
    return cleaned


class RedactingFilter(logging.Filter):
    """Masks log records in place: the message, its arguments and any exception text.

    Arguments keep their shape (a tuple stays a tuple), since some formatters (uvicorn's access
    log) read them by position."""

    def __init__(self, name: str = "", redactor: Redactor | None = None) -> None:
        super().__init__(name)
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self._redactor or default_redactor()

        def mask(text: str) -> str:
            return redactor.text(bounded(text))

        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: mask(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = redactor.text(logging.Formatter().formatException(record.exc_info))
        return True


def bounded(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """`text` cut to at most `limit` characters (plus a note of what was left out), at the last
    separator before the limit, so a secret that straddles the limit is dropped whole rather
    than left as a prefix too short for its pattern to recognise."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and text[cut - 1] not in _CUT_AT:
        cut -= 1
    return f"{text[:cut]}…[{len(text) - cut} more characters]"


def install_log_redaction(logger_names: Iterable[str] = ("", "tether")) -> RedactingFilter:
    """Add a `RedactingFilter` to every handler of these loggers (the root logger by default)."""
    redacting = RedactingFilter()
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(redacting)
    return redacting


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging set-up with redaction on every handler; raises CONFIG_INVALID
    now, rather than at the first log line, if the redaction settings are wrong."""
    from uvicorn.config import LOGGING_CONFIG

    default_redactor()

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": RedactingFilter}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact")
    return config

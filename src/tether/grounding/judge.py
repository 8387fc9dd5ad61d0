"""The second stage of claim verification: a judge for claims the rules cannot decide.

`ClaimJudge` is the seam: an NLI model, or the configured chat model through `ModelClaimJudge`.
The verifier asks a judge only about claims whose deterministic checks found nothing decisive
(no contradicted value, no unseen number or name) but whose wording the evidence covers only
in part. No judge is configured by default.

The stage fails safe: a model error, an exception, a missed deadline or output that is not one
clear verdict gives an `uncertain` verdict with a stable code (JUDGE_FAILED, JUDGE_TIMEOUT,
JUDGE_BAD_OUTPUT), never a support and never a crash. It replays: in a run, `kept_verdict` keeps
each verdict with what the checks read (`tether.core.reads`), so the guard step records it and a
replay is served it without calling the judge. For evaluations, `RecordingJudge` keeps every
verdict under (prompt version, judge, hash of claim and evidence), and `ReplayJudge` answers
from those records alone, `uncertain` with JUDGE_NOT_RECORDED for anything else.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tether.core.errors import ErrorCode, TetherError
from tether.core.reads import recorded_read
from tether.core.types import Agent, Message
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED
from tether.models.base import ModelAdapter, ModelRequest

# Bump whenever JUDGE_INSTRUCTIONS or judge_prompt change: recorded verdicts of another version
# never answer for this one.
JUDGE_PROMPT_VERSION = "claim-judge/2"
UNCERTAIN = "uncertain"
VERDICTS = (SUPPORTED, CONTRADICTED, UNSUPPORTED)  # what a judge may answer
STATUSES = (*VERDICTS, UNCERTAIN)  # what a verdict may say: UNCERTAIN is the stage's own
MAX_EVIDENCE_CHARS = 6000
MAX_REASON_CHARS = 300
DEFAULT_TIMEOUT_S = 5.0
# Calls past their deadline still hold a thread; past this many, a judge refuses new calls.
MAX_LINGERING = 4

JUDGE_INSTRUCTIONS = (
    "You check one claim against evidence. Answer with only a JSON object, no other text: "
    '{"verdict": "supported" | "contradicted" | "unsupported", "reason": "<one sentence>"}. '
    "supported: the evidence states it or directly implies it. contradicted: the evidence "
    "states otherwise. unsupported: the evidence does not say. Judge only by the evidence, "
    "never by what you know."
)
JUDGE_AGENT = Agent(name="claim-judge", instructions=JUDGE_INSTRUCTIONS, tools=())
_WORD = re.compile(r"\b(supported|contradicted|unsupported)\b", re.IGNORECASE)
# "not supported", "isn't contradicted": which verdict is meant is a guess, so none is taken
_NEGATED = re.compile(
    r"(?:\b(?:not|never|no)|n't)\W+(?:\w+\W+){0,2}?(?:supported|contradicted|unsupported)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class JudgeVerdict:
    """A judge's reading of one claim: `status` is supported, contradicted, unsupported, or
    uncertain with `code` saying why; `judge` and `prompt_version` say who read it, and how."""

    status: str
    reason: str = ""
    code: ErrorCode | None = None
    judge: str = ""
    prompt_version: str = JUDGE_PROMPT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data."""
        return {
            "status": self.status,
            "reason": self.reason,
            "code": None if self.code is None else self.code.value,
            "judge": self.judge,
            "prompt_version": self.prompt_version,
        }


def uncertain(code: ErrorCode, reason: str, judge: str = "") -> JudgeVerdict:
    """The verdict of a judge that could not judge."""
    return JudgeVerdict(UNCERTAIN, reason[:MAX_REASON_CHARS], code, judge)


class ClaimJudge(Protocol):
    """Decides whether evidence supports, contradicts or is silent on a claim."""

    name: str

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """The verdict on `claim` given the evidence passages (best first)."""
        ...


def judge_prompt(claim: str, evidence: Sequence[str]) -> str:
    """The user message: numbered evidence, then the claim."""
    parts: list[str] = []
    budget = MAX_EVIDENCE_CHARS
    for number, passage in enumerate(evidence, start=1):
        if budget <= 0:
            break
        text = passage[:budget]
        budget -= len(text)
        parts.append(f"[{number}] {text}")
    body = "\n\n".join(parts) if parts else "(no evidence)"
    return f"Evidence:\n{body}\n\nClaim: {claim}\n\nVerdict as JSON:"


def _no_verdict(problem: str, text: str) -> TetherError:
    return TetherError(ErrorCode.MODEL_BAD_OUTPUT, f"the claim judge {problem}: {text[:120]!r}")


def parse_verdict(text: str) -> JudgeVerdict:
    """One clear verdict from the model's text, else MODEL_BAD_OUTPUT.

    A JSON object decides alone: its `verdict` must be one of VERDICTS. Without one, free text
    must name exactly one verdict word, not negated ("not supported" could mean either of the
    other two); text naming several is garbage, not its first word.
    """
    start, end = text.find("{"), text.rfind("}")
    data: Any = None
    if 0 <= start < end:
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            data = None
    if isinstance(data, dict):
        word = str(data.get("verdict", "")).strip().lower()
        if word not in VERDICTS:
            raise _no_verdict(f"gave the verdict {word!r}, not one of {VERDICTS}", text)
        return JudgeVerdict(word, str(data.get("reason", ""))[:MAX_REASON_CHARS])
    words = {m.group(1).lower() for m in _WORD.finditer(text)}
    if not words:
        raise _no_verdict("gave no verdict", text)
    if len(words) > 1:
        raise _no_verdict(f"named several verdicts ({', '.join(sorted(words))})", text)
    if _NEGATED.search(text):
        raise _no_verdict("gave a negated verdict", text)
    return JudgeVerdict(words.pop(), text.strip()[:MAX_REASON_CHARS])


class _Deadline:
    """Runs one call in a daemon thread and waits at most `timeout_s` for it.

    A call past its deadline cannot be stopped: its thread lingers until the call returns (the
    OpenAI-compatible adapter gives up after its own timeout) and the late result is dropped.
    Being a daemon, it never holds the process open; MAX_LINGERING bounds how many pile up.
    """

    def __init__(self, timeout_s: float) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"timeout must be > 0 s, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self._slots = threading.BoundedSemaphore(MAX_LINGERING)

    def call(self, fn: Callable[[], JudgeVerdict], name: str) -> JudgeVerdict:
        if not self._slots.acquire(blocking=False):
            return uncertain(
                ErrorCode.JUDGE_TIMEOUT,
                f"{MAX_LINGERING} earlier calls to the judge are still past their deadline",
                name,
            )
        done = threading.Event()
        box: list[JudgeVerdict] = []

        def run() -> None:
            try:
                box.append(_guarded(fn, name))
            finally:
                self._slots.release()
                done.set()

        try:
            threading.Thread(target=run, name=f"judge:{name}", daemon=True).start()
        except RuntimeError as exc:  # no thread to be had: the process is at its limit
            self._slots.release()
            return uncertain(ErrorCode.JUDGE_FAILED, f"cannot start the judge: {exc}", name)
        if not done.wait(self.timeout_s):
            reason = f"the judge did not answer within {self.timeout_s:g} s"
            return uncertain(ErrorCode.JUDGE_TIMEOUT, reason, name)
        return box[0] if box else uncertain(ErrorCode.JUDGE_FAILED, "the judge stopped", name)


_MODEL_CODES = {
    ErrorCode.MODEL_TIMEOUT: ErrorCode.JUDGE_TIMEOUT,
    ErrorCode.MODEL_BAD_OUTPUT: ErrorCode.JUDGE_BAD_OUTPUT,
}


def _guarded(fn: Callable[[], JudgeVerdict], name: str) -> JudgeVerdict:
    """`fn()`'s verdict, stamped with `name`; any failure becomes `uncertain` with a code."""
    try:
        verdict = fn()
    except TetherError as exc:
        code = _MODEL_CODES.get(exc.code, ErrorCode.JUDGE_FAILED)
        return uncertain(code, f"{exc.code.value}: {exc.message}", name)
    except Exception as exc:  # a judge's defect must not end the verification
        return uncertain(ErrorCode.JUDGE_FAILED, f"{type(exc).__name__}: {exc}", name)
    if not isinstance(verdict, JudgeVerdict) or verdict.status not in STATUSES:
        got = getattr(verdict, "status", verdict)
        return uncertain(ErrorCode.JUDGE_BAD_OUTPUT, f"the judge answered {got!r}", name)
    if verdict.status == UNCERTAIN and verdict.code is None:
        verdict = JudgeVerdict(UNCERTAIN, verdict.reason, ErrorCode.JUDGE_FAILED)
    return JudgeVerdict(
        verdict.status, verdict.reason, verdict.code, verdict.judge or name, verdict.prompt_version
    )


class ModelClaimJudge:
    """The configured model (any `ModelAdapter`) as a judge, one request per claim, each given
    `timeout_s` before its verdict is uncertain (JUDGE_TIMEOUT)."""

    def __init__(self, adapter: ModelAdapter, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.adapter = adapter
        self.name = f"model:{adapter.name}"
        self.calls = 0
        self._deadline = _Deadline(timeout_s)

    @property
    def timeout_s(self) -> float:
        return self._deadline.timeout_s

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """Ask the model; a failure of any kind is an uncertain verdict with a JUDGE_* code."""
        request = ModelRequest(
            agent=JUDGE_AGENT,
            messages=(
                Message("system", JUDGE_INSTRUCTIONS),
                Message("user", judge_prompt(claim, evidence)),
            ),
            tools=(),
            turn=self.calls,
        )
        self.calls += 1
        return self._deadline.call(
            lambda: parse_verdict(self.adapter.propose(request).text), self.name
        )


class FailSafeJudge:
    """Any `ClaimJudge` (an NLI model, a custom one) with the model judge's guarantees: a
    deadline, and an uncertain verdict with a code for every failure or unknown status."""

    def __init__(self, inner: ClaimJudge, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.inner = inner
        self.name = inner.name
        self._deadline = _Deadline(timeout_s)

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """The inner judge's verdict, or uncertain when it fails, hangs or answers oddly."""
        return self._deadline.call(lambda: self.inner.judge(claim, evidence), self.name)


def judge_key(claim: str, evidence: Sequence[str]) -> str:
    """The sha256 (hex) of the claim and its evidence, encoded so no two inputs share it."""
    payload = json.dumps([claim, list(evidence)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


JUDGE_READS = "judge"  # the source a run's judge verdicts are kept under, among its reads


def kept_verdict(judge: ClaimJudge, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
    """`judge`'s verdict on `claim`, kept among the checks' reads (`recorded_read`): the run's
    guard step records it, and a replay is served the recorded verdict and never calls the
    judge. A verdict the record does not hold is REPLAY_READ_MISSING, one it holds malformed
    DATA_INVALID: the replayed check then fails and the replay diverges."""
    key = f"{JUDGE_PROMPT_VERSION}|{judge.name}|{judge_key(claim, evidence)}"
    held = recorded_read(JUDGE_READS, key, lambda: judge.judge(claim, evidence).to_dict())
    return _kept(held, f"{JUDGE_READS}:{key}")


def _kept(held: Any, name: str) -> JudgeVerdict:
    """A verdict as `JudgeVerdict.to_dict` gave it, checked (a record may have been edited)."""
    fields = ("status", "reason", "judge", "prompt_version")
    if not isinstance(held, Mapping) or not all(isinstance(held.get(f), str) for f in fields):
        raise TetherError(ErrorCode.DATA_INVALID, f"the kept judge verdict {name} is malformed")
    if held["status"] not in STATUSES:
        raise TetherError(
            ErrorCode.DATA_INVALID, f"the kept judge verdict {name} says {held['status']!r}"
        )
    try:
        code = None if held.get("code") is None else ErrorCode(held["code"])
    except ValueError:
        raise TetherError(
            ErrorCode.DATA_INVALID, f"the kept judge verdict {name} has the code {held['code']!r}"
        ) from None
    return JudgeVerdict(held["status"], held["reason"], code, held["judge"], held["prompt_version"])


RECORD_KEYS = ("prompt_version", "judge", "key", "status", "reason", "code")
_Key = tuple[str, str, str]


def _record(key: _Key, verdict: JudgeVerdict) -> dict[str, Any]:
    version, judge, digest = key
    code = None if verdict.code is None else verdict.code.value
    values = (version, judge, digest, verdict.status, verdict.reason, code)
    return dict(zip(RECORD_KEYS, values, strict=True))


class RecordingJudge:
    """Passes claims to `inner` and keeps every verdict for replay.

    A claim asked again with the same evidence gets its recorded verdict without a second call,
    so a replay of the records reproduces the run exactly. Wrap a judge that may fail in
    `FailSafeJudge` first (`ModelClaimJudge` already is): failures are recorded as uncertain.
    """

    def __init__(self, inner: ClaimJudge) -> None:
        self.inner = inner
        self.name = inner.name
        self._verdicts: dict[_Key, JudgeVerdict] = {}
        self._lock = threading.Lock()

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """The inner judge's verdict, recorded (or the one recorded for the same input)."""
        key = (JUDGE_PROMPT_VERSION, self.name, judge_key(claim, evidence))
        with self._lock:
            known = self._verdicts.get(key)
        if known is not None:
            return known
        verdict = self.inner.judge(claim, evidence)
        with self._lock:
            return self._verdicts.setdefault(key, verdict)

    def records(self) -> list[dict[str, Any]]:
        """Every verdict, in the order first given, as JSON-ready dicts with RECORD_KEYS."""
        with self._lock:
            return [_record(key, verdict) for key, verdict in self._verdicts.items()]


def _bad_record(index: int, problem: str) -> TetherError:
    return TetherError(ErrorCode.DATA_INVALID, f"judge record {index + 1}: {problem}")


def _read_record(index: int, record: Any) -> tuple[_Key, JudgeVerdict]:
    if not isinstance(record, Mapping):
        raise _bad_record(index, "must be an object")
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise _bad_record(index, f"missing key(s): {', '.join(missing)}")
    if not all(isinstance(record[k], str) for k in RECORD_KEYS if k != "code"):
        raise _bad_record(index, "every field but 'code' must be a string")
    if record["status"] not in STATUSES:
        raise _bad_record(index, f"status {record['status']!r} is not one of {STATUSES}")
    try:
        code = None if record["code"] is None else ErrorCode(record["code"])
    except ValueError:
        raise _bad_record(index, f"unknown code {record['code']!r}") from None
    key = (record["prompt_version"], record["judge"], record["key"])
    return key, JudgeVerdict(record["status"], record["reason"], code, key[1], key[0])


class ReplayJudge:
    """Answers from recorded verdicts only and never calls a model: anything not recorded under
    this prompt version and judge name is uncertain with JUDGE_NOT_RECORDED.

    `name` defaults to the one judge the records name; records of several judges need it.
    Malformed records are DATA_INVALID, naming the record.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]], *, name: str | None = None) -> None:
        self._verdicts = dict(_read_record(i, r) for i, r in enumerate(records))
        names = sorted({judge for _, judge, _ in self._verdicts})
        if name is None and len(names) > 1:
            raise TetherError(
                ErrorCode.DATA_INVALID,
                f"the records hold several judges ({', '.join(names)}): pass the name to replay",
            )
        self.name = name if name is not None else names[0] if names else "replay"

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """The recorded verdict for this claim and evidence, or uncertain."""
        key = (JUDGE_PROMPT_VERSION, self.name, judge_key(claim, evidence))
        recorded = self._verdicts.get(key)
        if recorded is not None:
            return recorded
        reason = f"no verdict of {self.name} is recorded for this claim under {key[0]}"
        return uncertain(ErrorCode.JUDGE_NOT_RECORDED, reason, self.name)

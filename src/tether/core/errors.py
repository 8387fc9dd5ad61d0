"""Stable error codes: every failure tether reports carries one of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Handler(StrEnum):
    """Who is expected to deal with an error when it happens inside a run."""

    ENVELOPE = "envelope"  # retried or routed to a fallback by the tool envelope
    MODEL = "model"  # returned to the model as an observation it can act on
    HUMAN = "human"  # ends the run in an escalation
    RUNTIME = "runtime"  # ends the run in a refusal
    CALLER = "caller"  # rejected before a run exists (bad request, bad config)


@dataclass(frozen=True)
class CodeInfo:
    retryable: bool
    handler: Handler
    http_status: int
    summary: str


class ErrorCode(StrEnum):
    """Stable, documented error codes. Values never change once released."""

    # Caller and configuration errors (no run is created).
    BAD_REQUEST = "BAD_REQUEST"
    INPUT_TOO_LARGE = "INPUT_TOO_LARGE"
    URL_TOO_LONG = "URL_TOO_LONG"
    CONFIG_INVALID = "CONFIG_INVALID"
    SCENARIO_INVALID = "SCENARIO_INVALID"
    DATA_INVALID = "DATA_INVALID"
    POLICY_INVALID = "POLICY_INVALID"
    DOMAIN_NOT_FOUND = "DOMAIN_NOT_FOUND"
    DOMAIN_INVALID = "DOMAIN_INVALID"
    UNKNOWN_PRINCIPAL = "UNKNOWN_PRINCIPAL"
    UNKNOWN_AGENT = "UNKNOWN_AGENT"
    RUN_NOT_FOUND = "RUN_NOT_FOUND"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    STORE_SCHEMA_NEWER = "STORE_SCHEMA_NEWER"
    MODEL_NOT_CONFIGURED = "MODEL_NOT_CONFIGURED"
    INPUT_ROLE_FORBIDDEN = "INPUT_ROLE_FORBIDDEN"
    SCRIPT_NOT_ALLOWED = "SCRIPT_NOT_ALLOWED"
    # Conversations and the user's confirmations.
    CONVERSATION_NOT_FOUND = "CONVERSATION_NOT_FOUND"
    CONVERSATION_FORBIDDEN = "CONVERSATION_FORBIDDEN"
    CONVERSATION_CLOSED = "CONVERSATION_CLOSED"
    CONVERSATION_EXPIRED = "CONVERSATION_EXPIRED"
    CONVERSATION_BUSY = "CONVERSATION_BUSY"
    CONVERSATION_LIMIT = "CONVERSATION_LIMIT"
    NOTHING_PENDING = "NOTHING_PENDING"
    NONCE_INVALID = "NONCE_INVALID"
    APPROVAL_PENDING = "APPROVAL_PENDING"
    END_USER_TOKEN_INVALID = "END_USER_TOKEN_INVALID"
    # Idempotency keys of API requests.
    IDEMPOTENCY_KEY_INVALID = "IDEMPOTENCY_KEY_INVALID"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
    # Runs on workers.
    LEASE_LOST = "LEASE_LOST"
    RUN_CANCELLED = "RUN_CANCELLED"
    RUN_ENDED = "RUN_ENDED"
    RUN_STATUS_UNKNOWN = "RUN_STATUS_UNKNOWN"
    RUN_UNREADABLE = "RUN_UNREADABLE"
    QUEUE_FULL = "QUEUE_FULL"
    QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    # Guard verdicts on a proposed tool call.
    UNKNOWN_TOOL = "UNKNOWN_TOOL"
    INVALID_ARGUMENTS = "INVALID_ARGUMENTS"
    TOOL_NOT_GRANTED = "TOOL_NOT_GRANTED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    POLICY_DENIED = "POLICY_DENIED"
    POLICY_ESCALATED = "POLICY_ESCALATED"
    POLICY_REQUEST_INVALID = "POLICY_REQUEST_INVALID"
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    # Guard verdicts on a proposed answer.
    ANSWER_UNGROUNDED = "ANSWER_UNGROUNDED"
    CLAIM_CONTRADICTED = "CLAIM_CONTRADICTED"
    CLAIM_UNSUPPORTED = "CLAIM_UNSUPPORTED"
    # The claim judge (second stage of claim verification): why its verdict is uncertain.
    JUDGE_FAILED = "JUDGE_FAILED"
    JUDGE_TIMEOUT = "JUDGE_TIMEOUT"
    JUDGE_BAD_OUTPUT = "JUDGE_BAD_OUTPUT"
    JUDGE_NOT_RECORDED = "JUDGE_NOT_RECORDED"
    # Guard verdicts on a proposed write, checked against the store before it runs.
    PREMISE_FAILED = "PREMISE_FAILED"
    # Ingestion of documents (a job with a bad document writes nothing).
    DOCUMENT_UNREADABLE = "DOCUMENT_UNREADABLE"
    DOCUMENT_BINARY = "DOCUMENT_BINARY"
    DOCUMENT_ENCODING = "DOCUMENT_ENCODING"
    DOCUMENT_EMPTY = "DOCUMENT_EMPTY"
    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
    DOCUMENT_MALFORMED = "DOCUMENT_MALFORMED"
    # Tool execution.
    NOT_FOUND = "NOT_FOUND"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    CONFLICT = "CONFLICT"
    TOOL_TIMEOUT = "TOOL_TIMEOUT"
    TOOL_UNAVAILABLE = "TOOL_UNAVAILABLE"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    BAD_OUTPUT = "BAD_OUTPUT"
    TOOL_ERROR = "TOOL_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    # Model adapters.
    MODEL_TIMEOUT = "MODEL_TIMEOUT"
    MODEL_RATE_LIMITED = "MODEL_RATE_LIMITED"
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
    MODEL_AUTH_FAILED = "MODEL_AUTH_FAILED"
    MODEL_BAD_REQUEST = "MODEL_BAD_REQUEST"
    MODEL_BAD_OUTPUT = "MODEL_BAD_OUTPUT"
    MODEL_SCRIPT_EXHAUSTED = "MODEL_SCRIPT_EXHAUSTED"
    # Run limits.
    STEP_LIMIT = "STEP_LIMIT"
    TIME_LIMIT = "TIME_LIMIT"
    # Hand-off requested by the model.
    HANDOFF_REQUESTED = "HANDOFF_REQUESTED"
    MODEL_REFUSED = "MODEL_REFUSED"
    # Capability tokens (checked before and at every tool execution).
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    TOKEN_REPLAYED = "TOKEN_REPLAYED"
    TOKEN_WRONG_AUDIENCE = "TOKEN_WRONG_AUDIENCE"
    SCOPE_NOT_GRANTED = "SCOPE_NOT_GRANTED"
    ARGUMENTS_NOT_APPROVED = "ARGUMENTS_NOT_APPROVED"
    # Operators of the control plane (API keys).
    AUTH_REQUIRED = "AUTH_REQUIRED"
    AUTH_INVALID = "AUTH_INVALID"
    ROLE_FORBIDDEN = "ROLE_FORBIDDEN"
    API_KEY_NOT_FOUND = "API_KEY_NOT_FOUND"
    # Approvals of escalated actions, and the queues escalations are routed to.
    APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND"
    APPROVAL_ALREADY_DECIDED = "APPROVAL_ALREADY_DECIDED"
    APPROVAL_EXPIRED = "APPROVAL_EXPIRED"
    APPROVER_IS_REQUESTER = "APPROVER_IS_REQUESTER"
    APPROVAL_REJECTED = "APPROVAL_REJECTED"
    WEBHOOK_FAILED = "WEBHOOK_FAILED"
    INTERNAL = "INTERNAL"
    # Fail closed: a guard chain that cannot judge a proposal denies it.
    CHECK_FAILED = "CHECK_FAILED"
    NO_CHECKS = "NO_CHECKS"
    # Ingestion that would widen access: a document's own ACL beyond the operator's, or a
    # path (symlink, "..") that leads out of the ingested folder.
    DOCUMENT_ACL_WIDENS = "DOCUMENT_ACL_WIDENS"
    DOCUMENT_OUTSIDE_ROOT = "DOCUMENT_OUTSIDE_ROOT"
    DOCUMENT_NAME_TOO_LONG = "DOCUMENT_NAME_TOO_LONG"
    # The dashboard's defences against forged browser requests and guessed keys.
    CSRF_TOKEN_INVALID = "CSRF_TOKEN_INVALID"
    ORIGIN_FORBIDDEN = "ORIGIN_FORBIDDEN"
    LOGIN_RATE_LIMITED = "LOGIN_RATE_LIMITED"
    # Execution verifies the run's token itself: a resource outside the token's claim.
    RESOURCE_NOT_IN_TOKEN = "RESOURCE_NOT_IN_TOKEN"
    # Releases: content-addressed bundles of an agent's configuration, and their labels.
    RELEASE_NOT_FOUND = "RELEASE_NOT_FOUND"
    RELEASE_LABEL_INVALID = "RELEASE_LABEL_INVALID"
    RELEASE_SOURCE_INVALID = "RELEASE_SOURCE_INVALID"
    RELEASE_GATE_FAILED = "RELEASE_GATE_FAILED"
    RELEASE_TAMPERED = "RELEASE_TAMPERED"
    # Replay: a recorded run re-evaluated from what it recorded.
    REPLAY_READ_MISSING = "REPLAY_READ_MISSING"
    RUN_NOT_REPLAYABLE = "RUN_NOT_REPLAYABLE"
    # Drift monitors: the windows they compare.
    DRIFT_WINDOW_INVALID = "DRIFT_WINDOW_INVALID"
    # Staged rollouts: a candidate release against production, step by step.
    ROLLOUT_GUARD_INVALID = "ROLLOUT_GUARD_INVALID"
    ROLLOUT_INVALID = "ROLLOUT_INVALID"
    ROLLOUT_NOT_FOUND = "ROLLOUT_NOT_FOUND"

    @property
    def info(self) -> CodeInfo:
        return _INFO[self]

    @property
    def retryable(self) -> bool:
        return _INFO[self].retryable

    @property
    def handler(self) -> Handler:
        return _INFO[self].handler


_C, _M, _H, _R, _E = Handler.CALLER, Handler.MODEL, Handler.HUMAN, Handler.RUNTIME, Handler.ENVELOPE

_INFO: dict[ErrorCode, CodeInfo] = {
    ErrorCode.BAD_REQUEST: CodeInfo(False, _C, 400, "the request is malformed"),
    ErrorCode.INPUT_TOO_LARGE: CodeInfo(False, _C, 413, "the input exceeds a size limit"),
    ErrorCode.URL_TOO_LONG: CodeInfo(False, _C, 414, "the request URL exceeds the length limit"),
    ErrorCode.CONFIG_INVALID: CodeInfo(False, _C, 400, "a configuration value is invalid"),
    ErrorCode.SCENARIO_INVALID: CodeInfo(False, _C, 400, "a scenario or script file is invalid"),
    ErrorCode.DATA_INVALID: CodeInfo(False, _C, 400, "a data file is missing or malformed"),
    ErrorCode.POLICY_INVALID: CodeInfo(False, _C, 400, "a policy or policy schema file is invalid"),
    ErrorCode.DOMAIN_NOT_FOUND: CodeInfo(False, _C, 404, "no domain pack by that name"),
    ErrorCode.DOMAIN_INVALID: CodeInfo(
        False, _C, 400, "a domain pack failed to load or declares something invalid"
    ),
    ErrorCode.UNKNOWN_PRINCIPAL: CodeInfo(False, _C, 404, "no such principal"),
    ErrorCode.UNKNOWN_AGENT: CodeInfo(False, _C, 404, "no such agent"),
    ErrorCode.RUN_NOT_FOUND: CodeInfo(False, _C, 404, "no such run"),
    ErrorCode.STORE_UNAVAILABLE: CodeInfo(True, _C, 503, "the system of record is unreachable"),
    ErrorCode.STORE_SCHEMA_NEWER: CodeInfo(
        False, _H, 503, "the store's schema was migrated by a newer version of tether"
    ),
    ErrorCode.MODEL_NOT_CONFIGURED: CodeInfo(False, _C, 400, "no model adapter is configured"),
    ErrorCode.INPUT_ROLE_FORBIDDEN: CodeInfo(
        False,
        _C,
        422,
        "clients author only user messages; assistant, tool and system are not input",
    ),
    ErrorCode.SCRIPT_NOT_ALLOWED: CodeInfo(
        False, _C, 403, "scripted model turns are refused while a real model is configured"
    ),
    ErrorCode.CONVERSATION_NOT_FOUND: CodeInfo(False, _C, 404, "no such conversation"),
    ErrorCode.CONVERSATION_FORBIDDEN: CodeInfo(
        False, _C, 403, "the conversation belongs to another principal"
    ),
    ErrorCode.CONVERSATION_CLOSED: CodeInfo(False, _C, 409, "the conversation is closed"),
    ErrorCode.CONVERSATION_EXPIRED: CodeInfo(False, _C, 410, "the conversation has expired"),
    ErrorCode.CONVERSATION_BUSY: CodeInfo(
        True, _C, 409, "another turn of the conversation is still running"
    ),
    ErrorCode.CONVERSATION_LIMIT: CodeInfo(
        False, _C, 409, "the conversation reached its limit of turns or size"
    ),
    ErrorCode.NOTHING_PENDING: CodeInfo(False, _C, 409, "no action is waiting for a confirmation"),
    ErrorCode.NONCE_INVALID: CodeInfo(
        False, _C, 409, "the confirmation names another, an old or an expired pending action"
    ),
    ErrorCode.APPROVAL_PENDING: CodeInfo(
        False, _C, 409, "a person has yet to decide an escalated action of this conversation"
    ),
    ErrorCode.END_USER_TOKEN_INVALID: CodeInfo(
        False, _C, 401, "the end-user token is missing, malformed, expired or wrongly signed"
    ),
    ErrorCode.IDEMPOTENCY_KEY_INVALID: CodeInfo(
        False, _C, 400, "the Idempotency-Key header is not 1 to 200 visible ASCII characters"
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: CodeInfo(
        False, _C, 422, "the idempotency key was sent before with another request body"
    ),
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: CodeInfo(
        True, _C, 409, "the first request with this idempotency key is still running"
    ),
    ErrorCode.LEASE_LOST: CodeInfo(
        True, _R, 409, "another worker took the run over after this one's lease expired"
    ),
    ErrorCode.RUN_CANCELLED: CodeInfo(False, _R, 409, "the run was cancelled before it ended"),
    ErrorCode.RUN_ENDED: CodeInfo(False, _C, 409, "the run has already ended"),
    ErrorCode.RUN_STATUS_UNKNOWN: CodeInfo(
        False, _C, 409, "the run is stored with a status this version does not know"
    ),
    ErrorCode.RUN_UNREADABLE: CodeInfo(
        False, _H, 500, "a step of the run is stored in a form this version cannot read"
    ),
    ErrorCode.QUEUE_FULL: CodeInfo(True, _C, 429, "the run queue is full; retry after a pause"),
    ErrorCode.QUEUE_UNAVAILABLE: CodeInfo(True, _C, 503, "the run queue is unreachable"),
    ErrorCode.QUOTA_EXCEEDED: CodeInfo(
        True, _C, 429, "the operator key or the principal has too many runs queued or running"
    ),
    ErrorCode.UNKNOWN_TOOL: CodeInfo(False, _M, 400, "the model named a tool that does not exist"),
    ErrorCode.INVALID_ARGUMENTS: CodeInfo(False, _M, 400, "arguments fail the tool's schema"),
    ErrorCode.TOOL_NOT_GRANTED: CodeInfo(False, _R, 403, "the agent is not granted this tool"),
    ErrorCode.PERMISSION_DENIED: CodeInfo(False, _R, 403, "the principal may not touch a resource"),
    ErrorCode.POLICY_DENIED: CodeInfo(False, _M, 403, "a policy forbids the action"),
    ErrorCode.POLICY_ESCALATED: CodeInfo(False, _H, 403, "a policy requires a human decision"),
    ErrorCode.POLICY_REQUEST_INVALID: CodeInfo(
        False, _R, 403, "the policy request does not match the policy schema, so it is refused"
    ),
    ErrorCode.CONFIRMATION_REQUIRED: CodeInfo(
        False, _R, 200, "the action waits for the user's confirmation"
    ),
    ErrorCode.ANSWER_UNGROUNDED: CodeInfo(False, _R, 422, "the answer cites no valid evidence"),
    ErrorCode.CLAIM_CONTRADICTED: CodeInfo(
        False, _R, 422, "a claim of the answer contradicts the evidence"
    ),
    ErrorCode.CLAIM_UNSUPPORTED: CodeInfo(
        False, _R, 422, "a claim of the answer is not supported by the evidence"
    ),
    ErrorCode.JUDGE_FAILED: CodeInfo(
        True, _R, 502, "the claim judge failed, so its verdict is uncertain"
    ),
    ErrorCode.JUDGE_TIMEOUT: CodeInfo(
        True, _R, 504, "the claim judge did not answer in time, so its verdict is uncertain"
    ),
    ErrorCode.JUDGE_BAD_OUTPUT: CodeInfo(
        False, _R, 502, "the claim judge gave no single clear verdict, so it is uncertain"
    ),
    ErrorCode.JUDGE_NOT_RECORDED: CodeInfo(
        False, _R, 404, "a replay holds no recorded verdict for the claim, so it is uncertain"
    ),
    ErrorCode.PREMISE_FAILED: CodeInfo(
        False, _M, 409, "a premise of the proposed write does not hold in the store"
    ),
    ErrorCode.DOCUMENT_UNREADABLE: CodeInfo(False, _C, 400, "a source document cannot be read"),
    ErrorCode.DOCUMENT_BINARY: CodeInfo(False, _C, 415, "a source document is binary, not text"),
    ErrorCode.DOCUMENT_ENCODING: CodeInfo(
        False, _C, 400, "a source document is not valid in its text encoding"
    ),
    ErrorCode.DOCUMENT_EMPTY: CodeInfo(False, _C, 400, "a source document has no text"),
    ErrorCode.DOCUMENT_TOO_LARGE: CodeInfo(
        False, _C, 413, "a source document exceeds the ingestion size limit"
    ),
    ErrorCode.DOCUMENT_MALFORMED: CodeInfo(
        False, _C, 400, "a source document does not parse as its format"
    ),
    ErrorCode.NOT_FOUND: CodeInfo(False, _M, 404, "the tool found no such record"),
    ErrorCode.PRECONDITION_FAILED: CodeInfo(False, _M, 409, "a precondition of the tool failed"),
    ErrorCode.CONFLICT: CodeInfo(False, _M, 409, "the record changed concurrently"),
    ErrorCode.TOOL_TIMEOUT: CodeInfo(True, _E, 504, "the tool did not answer in time"),
    ErrorCode.TOOL_UNAVAILABLE: CodeInfo(True, _E, 503, "the tool is unavailable"),
    ErrorCode.UPSTREAM_ERROR: CodeInfo(True, _E, 502, "the system behind the tool failed"),
    ErrorCode.BAD_OUTPUT: CodeInfo(
        False, _H, 502, "the tool returned output that fails its schema"
    ),
    ErrorCode.TOOL_ERROR: CodeInfo(False, _M, 500, "the tool raised an unclassified error"),
    ErrorCode.RATE_LIMITED: CodeInfo(True, _E, 429, "the tool's rate limit is exhausted"),
    ErrorCode.CIRCUIT_OPEN: CodeInfo(True, _E, 503, "the tool's circuit breaker is open"),
    ErrorCode.OUTCOME_UNKNOWN: CodeInfo(
        False, _H, 500, "a side effect may or may not have happened; a person must check"
    ),
    ErrorCode.MODEL_TIMEOUT: CodeInfo(True, _H, 504, "the model did not answer in time"),
    ErrorCode.MODEL_RATE_LIMITED: CodeInfo(True, _H, 429, "the model endpoint rate-limited us"),
    ErrorCode.MODEL_UNAVAILABLE: CodeInfo(True, _H, 503, "the model endpoint is unreachable"),
    ErrorCode.MODEL_AUTH_FAILED: CodeInfo(False, _H, 502, "the model endpoint refused our key"),
    ErrorCode.MODEL_BAD_REQUEST: CodeInfo(
        False, _H, 502, "the model endpoint rejected the request"
    ),
    ErrorCode.MODEL_BAD_OUTPUT: CodeInfo(False, _H, 502, "the model's output could not be parsed"),
    ErrorCode.MODEL_SCRIPT_EXHAUSTED: CodeInfo(
        False, _H, 502, "the scripted model ran out of turns"
    ),
    ErrorCode.STEP_LIMIT: CodeInfo(False, _H, 200, "the run reached its step limit"),
    ErrorCode.TIME_LIMIT: CodeInfo(False, _H, 200, "the run reached its time limit"),
    ErrorCode.HANDOFF_REQUESTED: CodeInfo(False, _H, 200, "the model handed off to a human"),
    ErrorCode.MODEL_REFUSED: CodeInfo(False, _R, 200, "the model refused the request"),
    ErrorCode.TOKEN_INVALID: CodeInfo(
        False, _R, 401, "the capability token is malformed, forged or signed by an unknown key"
    ),
    ErrorCode.TOKEN_EXPIRED: CodeInfo(False, _R, 401, "the capability token has expired"),
    ErrorCode.TOKEN_REVOKED: CodeInfo(False, _R, 401, "the capability token was revoked"),
    ErrorCode.TOKEN_REPLAYED: CodeInfo(
        False, _R, 401, "a single-use capability token was presented again"
    ),
    ErrorCode.TOKEN_WRONG_AUDIENCE: CodeInfo(
        False, _R, 401, "the capability token was issued for another audience, run or principal"
    ),
    ErrorCode.SCOPE_NOT_GRANTED: CodeInfo(
        False, _R, 403, "the run's capability does not cover this tool or scope"
    ),
    ErrorCode.ARGUMENTS_NOT_APPROVED: CodeInfo(
        False, _R, 403, "the call's arguments differ from the approved ones"
    ),
    ErrorCode.AUTH_REQUIRED: CodeInfo(False, _C, 401, "no operator API key was sent"),
    ErrorCode.AUTH_INVALID: CodeInfo(False, _C, 401, "the API key is unknown or revoked"),
    ErrorCode.ROLE_FORBIDDEN: CodeInfo(False, _C, 403, "the operator's role does not allow this"),
    ErrorCode.API_KEY_NOT_FOUND: CodeInfo(False, _C, 404, "no such API key"),
    ErrorCode.APPROVAL_NOT_FOUND: CodeInfo(False, _C, 404, "no such approval request"),
    ErrorCode.APPROVAL_ALREADY_DECIDED: CodeInfo(
        False, _C, 409, "the approval request was already decided"
    ),
    ErrorCode.APPROVAL_EXPIRED: CodeInfo(
        False, _C, 410, "the approval request expired before anyone decided it"
    ),
    ErrorCode.APPROVER_IS_REQUESTER: CodeInfo(
        False, _C, 403, "whoever requested an action may not approve it"
    ),
    ErrorCode.APPROVAL_REJECTED: CodeInfo(False, _R, 200, "a person rejected the escalated action"),
    ErrorCode.WEBHOOK_FAILED: CodeInfo(True, _E, 502, "a queue's webhook did not accept a notice"),
    ErrorCode.INTERNAL: CodeInfo(False, _H, 500, "an unexpected internal error"),
    # a check that raised: a defect, not a judgement of the request, so a person takes it
    ErrorCode.CHECK_FAILED: CodeInfo(False, _H, 500, "a guard check failed to reach a verdict"),
    ErrorCode.NO_CHECKS: CodeInfo(False, _R, 500, "no guard checks are configured"),
    ErrorCode.DOCUMENT_ACL_WIDENS: CodeInfo(
        False, _C, 400, "a document's own ACL would reach readers the operator's ACL does not"
    ),
    ErrorCode.DOCUMENT_OUTSIDE_ROOT: CodeInfo(
        False, _C, 400, "a document's path leads outside the ingested folder"
    ),
    ErrorCode.DOCUMENT_NAME_TOO_LONG: CodeInfo(
        False, _C, 400, "a document's address or id is longer than the store keeps"
    ),
    ErrorCode.CSRF_TOKEN_INVALID: CodeInfo(
        False, _C, 403, "a form came without the anti-forgery token of its session"
    ),
    ErrorCode.ORIGIN_FORBIDDEN: CodeInfo(
        False, _C, 403, "a state-changing request did not come from the dashboard's own pages"
    ),
    ErrorCode.LOGIN_RATE_LIMITED: CodeInfo(
        True, _C, 429, "too many failed logins; wait before trying again"
    ),
    ErrorCode.RESOURCE_NOT_IN_TOKEN: CodeInfo(
        False, _R, 403, "the call names a resource outside the capability token's claim"
    ),
    ErrorCode.RELEASE_NOT_FOUND: CodeInfo(False, _C, 404, "no release or label by that name"),
    ErrorCode.RELEASE_LABEL_INVALID: CodeInfo(
        False,
        _C,
        400,
        "a release label is not a lowercase name of letters, digits, '-' or '_', or starts "
        "with `rel_` (an id's prefix)",
    ),
    ErrorCode.RELEASE_SOURCE_INVALID: CodeInfo(
        False, _C, 400, "a release directory is unreadable or does not define a release"
    ),
    ErrorCode.RELEASE_GATE_FAILED: CodeInfo(
        False,
        _C,
        409,
        "the release failed its evaluation suite; a label moves to it only overridden",
    ),
    ErrorCode.RELEASE_TAMPERED: CodeInfo(
        False, _H, 500, "a stored release's content no longer hashes to its id: it was changed"
    ),
    ErrorCode.REPLAY_READ_MISSING: CodeInfo(
        False, _R, 409, "a replayed check read state its run did not record reading"
    ),
    ErrorCode.RUN_NOT_REPLAYABLE: CodeInfo(
        False, _C, 409, "the run has not ended, or recorded too little to be replayed"
    ),
    ErrorCode.DRIFT_WINDOW_INVALID: CodeInfo(
        False, _C, 400, "a drift window or baseline is not a duration from a minute to a year"
    ),
    ErrorCode.ROLLOUT_GUARD_INVALID: CodeInfo(
        False, _C, 400, "a rollout guard is not METRIC OP baseline [+|-|*] NUMBER over a known KPI"
    ),
    ErrorCode.ROLLOUT_INVALID: CodeInfo(
        False, _C, 400, "a rollout's steps, sample size or releases cannot make a rollout"
    ),
    ErrorCode.ROLLOUT_NOT_FOUND: CodeInfo(False, _C, 404, "no rollout, or none running"),
}


@dataclass
class TetherError(Exception):
    """An error with a stable code; safe to show to users (no stack trace needed)."""

    code: ErrorCode
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code.value}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out

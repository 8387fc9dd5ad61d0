"""Escalation paths: which queue an escalation goes to, and how each queue is notified.

An escalation (a call waiting for approval, or a run that ended by handing off to a person) is
described by its reason codes, the policies that escalated it, the approver role they name, the
tool and the tool's risk class. Routes are tried in order; the first whose every given field
matches names the queue, else the default queue. A queue may notify a webhook with a signed
payload (see `tether.approvals.webhooks`).

    default_queue: desk
    queues:
      supervisors:
        webhook: https://hooks.example.com/tether
        secret_env: SUPERVISORS_WEBHOOK_SECRET
    routes:
      - queue: supervisors
        policies: [supervisor-approval-large-return]
      - queue: supervisors
        risk: [irreversible]
    approvers:
      supervisor: [approver, admin]

`TETHER_ESCALATIONS` names such a file; `TETHER_ESCALATION_WEBHOOK` and
`TETHER_ESCALATION_WEBHOOK_SECRET` give the default queue a webhook without one.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from tether.access.operators import ROLE_PERMISSIONS, Permission, Role
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass

QUEUE_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
DEFAULT_QUEUE = "default"
ENV_FILE = "TETHER_ESCALATIONS"
ENV_WEBHOOK = "TETHER_ESCALATION_WEBHOOK"
ENV_SECRET = "TETHER_ESCALATION_WEBHOOK_SECRET"
# the operator roles that may decide approvals when the configuration names none
DECIDING_ROLES = tuple(r.value for r in Role if Permission.APPROVALS_DECIDE in ROLE_PERMISSIONS[r])


@dataclass(frozen=True)
class Escalation:
    """What routing looks at."""

    codes: tuple[str, ...]
    policies: tuple[str, ...] = ()
    approver_role: str = ""
    tool: str = ""
    risk: str = ""


class QueueConfig(BaseModel):
    """One queue: where its notices go, and the key that signs them."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    webhook: str | None = None
    secret: SecretStr | None = None  # prefer secret_env: the file then holds no secret
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = webhook_url_problem(value)
        if problem:
            raise ValueError(f"a webhook is an http:// or https:// URL: {problem}")
        return value


MAX_URL_CHARS = 2048
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.IGNORECASE)  # "_": compose names


def webhook_url_problem(url: str) -> str | None:
    """What makes `url` no address a delivery can be sent to, or None: checked when the
    configuration is loaded, so a bad one is CONFIG_INVALID rather than an error at delivery."""
    if len(url) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it holds a space or a control character"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "no http(s) scheme or no host"
    try:
        parts.port  # noqa: B018 - raises on a port that is no number or out of range
        host = parts.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return "its port is no number in 0-65535 or its host is no host name"
    if _is_ip_literal(host):
        return None
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return "its host is no host name (labels of 1-63 letters, digits, hyphens)"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class RouteConfig(BaseModel):
    """Escalations matching every field given here go to `queue`; a list matches any member."""

    model_config = ConfigDict(extra="forbid")
    queue: str = Field(pattern=QUEUE_NAME)
    codes: list[ErrorCode] = Field(default_factory=list)
    policies: list[str] = Field(default_factory=list)
    approver_roles: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    risk: list[RiskClass] = Field(default_factory=list)

    def matches(self, e: Escalation) -> bool:
        checks: list[tuple[Sequence[str], Sequence[str]]] = [
            ([c.value for c in self.codes], e.codes),
            (self.policies, e.policies),
            (self.approver_roles, (e.approver_role,)),
            (self.tools, (e.tool,)),
            ([r.value for r in self.risk], (e.risk,)),
        ]
        return all(not wanted or set(wanted) & set(have) for wanted, have in checks)


class DeliveryConfig(BaseModel):
    """How notices are retried: exponential backoff with jitter, up to `max_attempts`."""

    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(default=8, ge=1, le=50)
    base_delay_s: float = Field(default=2.0, gt=0, le=3600)
    max_delay_s: float = Field(default=600.0, gt=0, le=86_400)
    timeout_s: float = Field(default=5.0, gt=0, le=120)


class EscalationConfig(BaseModel):
    """Queues, the routes to them, delivery settings, and who may decide which approvals."""

    model_config = ConfigDict(extra="forbid")
    default_queue: str = Field(default=DEFAULT_QUEUE, pattern=QUEUE_NAME)
    queues: dict[str, QueueConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    # a policy's approver role (e.g. "supervisor") -> the operator roles that may decide it
    approvers: dict[str, list[Role]] = Field(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        for name in [self.default_queue, *(r.queue for r in self.routes)]:
            self.queues.setdefault(name, QueueConfig())
        for name, queue in self.queues.items():
            if not re.match(QUEUE_NAME, name):
                raise ValueError(f"queue name {name!r} must match {QUEUE_NAME}")
            if queue.webhook and queue.secret is None and queue.secret_env is None:
                raise ValueError(f"queue {name!r}: a webhook needs a secret or secret_env")

    def route(self, escalation: Escalation) -> str:
        """The queue of `escalation`: the first matching route's, else the default."""
        for route in self.routes:
            if route.matches(escalation):
                return route.queue
        return self.default_queue

    def webhook(self, queue: str) -> str | None:
        found = self.queues.get(queue)
        return found.webhook if found else None

    def secret(self, queue: str, environ: Mapping[str, str] | None = None) -> bytes:
        """The key that signs `queue`'s notices; CONFIG_INVALID when it is not set."""
        env = os.environ if environ is None else environ
        found = self.queues.get(queue)
        value = ""
        if found is not None and found.secret is not None:
            value = found.secret.get_secret_value()
        elif found is not None and found.secret_env:
            value = env.get(found.secret_env, "")
        if not value:
            raise TetherError(ErrorCode.CONFIG_INVALID, f"queue {queue!r} has no webhook secret")
        return value.encode("utf-8")

    def deciding_roles(self, approver_role: str) -> tuple[str, ...]:
        """The operator roles that may decide an approval naming `approver_role`."""
        roles = self.approvers.get(approver_role)
        return tuple(r.value for r in roles) if roles else DECIDING_ROLES


def parse_escalations(data: Any, origin: str) -> EscalationConfig:
    """A configuration from parsed YAML; CONFIG_INVALID names the field and the problem."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"{origin}: the configuration is a mapping")
    try:
        return EscalationConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise TetherError(ErrorCode.CONFIG_INVALID, f"{origin}: {where}: {first['msg']}") from None
    except ValueError as exc:  # raised by the cross-field checks after validation
        raise TetherError(ErrorCode.CONFIG_INVALID, f"{origin}: {exc}") from None


def load_escalations(path: Path) -> EscalationConfig:
    """Read an escalation configuration from a YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TetherError(ErrorCode.CONFIG_INVALID, f"cannot read {path}: {exc}") from None
    except RecursionError:  # nested past what the YAML parser can descend
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"cannot read {path}: nested too deep to parse"
        ) from None
    return parse_escalations(data, str(path))


def escalations_from_env(environ: Mapping[str, str] | None = None) -> EscalationConfig:
    """`TETHER_ESCALATIONS` (a file), with `TETHER_ESCALATION_WEBHOOK` and
    `TETHER_ESCALATION_WEBHOOK_SECRET` setting the default queue's webhook."""
    env = os.environ if environ is None else environ
    path = env.get(ENV_FILE, "").strip()
    try:
        config = load_escalations(Path(path).expanduser()) if path else EscalationConfig()
    except TetherError as exc:  # the message names the variable the file came from
        raise TetherError(exc.code, f"{ENV_FILE}: {exc.message}", exc.details) from None
    webhook = env.get(ENV_WEBHOOK, "").strip()
    if not webhook:
        return config
    secret = env.get(ENV_SECRET, "")
    if not secret:
        raise TetherError(ErrorCode.CONFIG_INVALID, f"{ENV_WEBHOOK} needs {ENV_SECRET}")
    data = config.model_dump()
    data["queues"][config.default_queue] = {"webhook": webhook, "secret": secret}
    return parse_escalations(data, "the environment")

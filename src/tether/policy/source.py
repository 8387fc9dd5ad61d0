"""Policy files: read, split into statements, parse, check against the schema, index by id.

A policy set is one Cedar schema plus any number of Cedar policy files. Loading fails with
POLICY_INVALID naming the file, the line and Cedar's message, so a bad policy never reaches a
decision. Every policy carries annotations that the engine and the verdicts read:

- `@id("rule-name")` (required; unique in the set; `rule:detail` groups statements of one rule),
- `@reason("...")` the human-readable reason a forbid gives (required on a plain forbid),
- `@escalate("...")` turns a forbid into an escalation, with this text as its reason,
- `@confirm` (or `@confirm("...")`) turns a forbid into a request for the user's confirmation:
  the call waits as a pending action and runs once the user confirms exactly it,
- `@approver("role")` the role an escalation's approval needs (default `supervisor`),
- `@expires_in("seconds")` how long that approval stays open (default one day).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from tether.core.errors import ErrorCode, TetherError

DEFAULT_APPROVER = "supervisor"
DEFAULT_EXPIRES_IN_S = 86_400
# Cedar's native parser recurses per nesting level and overflows the process's stack (a
# segmentation fault, not an error) near 700 levels; no real policy nests a tenth as deep
MAX_NESTING = 200
_NESTING = re.compile(
    r'(?P<skip>//[^\n]*|"(?:[^"\\]|\\.)*"?)|(?P<open>[(\[{])|(?P<close>[)\]}])', re.S
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*(:[a-z0-9][a-z0-9-]*)?$")
_KNOWN_ANNOTATIONS = frozenset({"id", "reason", "escalate", "confirm", "approver", "expires_in"})


@dataclass(frozen=True)
class PolicyMeta:
    """One policy as the verdicts describe it: its id, rule, effect and reason, and its origin."""

    id: str
    effect: str  # permit | forbid
    reason: str
    escalate: bool
    approver: str
    expires_in_s: int
    file: str
    line: int
    confirm: bool = False  # a forbid the user's confirmation of the exact call satisfies

    @property
    def soft(self) -> bool:
        """A forbid that a person's approval or the user's confirmation can satisfy."""
        return self.effect == "forbid" and (self.escalate or self.confirm)

    @property
    def source(self) -> str:
        """Where the policy is written, as `file-name:line`."""
        return f"{Path(self.file).name}:{self.line}"

    @property
    def rule(self) -> str:
        """The rule this statement belongs to: the id up to its first ':'."""
        return self.id.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "effect": "escalate" if self.escalate else "confirm" if self.confirm else self.effect,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class Statement:
    """One policy's text within a file: the line it starts on, and the line its text begins on
    (the text may open with the blank lines and comments before the policy)."""

    text: str
    line: int
    first_line: int


def invalid(file: str, line: int | None, message: str) -> TetherError:
    """A POLICY_INVALID error naming where the problem is."""
    where = f"{file}:{line}" if line is not None else file
    return TetherError(
        ErrorCode.POLICY_INVALID,
        f"{where}: {message}",
        {"file": file, "line": line, "problem": message},
    )


def split_statements(text: str) -> list[Statement]:
    """Split Cedar policy text at each top-level ';' (not inside strings or comments).

    Text after the last ';' that is more than whitespace and comments is returned as a final,
    unterminated statement, so that parsing reports it.
    """
    statements: list[Statement] = []
    start, first_line, start_line, line, i, n = 0, 1, 0, 1, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == "\n":
            line += 1
        elif not ch.isspace() and start_line == 0:
            start_line = line
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                if i < n and text[i] == "\n":
                    line += 1
                i += 1
        elif ch == ";":
            statements.append(Statement(text[start : i + 1], start_line, first_line))
            start, first_line, start_line = i + 1, line, 0
        i += 1
    if start_line:
        statements.append(Statement(text[start:], start_line, first_line))
    return statements


def too_deep(text: str) -> int | None:
    """The line (from 1) of `text` where its parentheses, brackets and braces, outside strings
    and comments, first nest deeper than MAX_NESTING; None when they never do."""
    depth = 0
    for token in _NESTING.finditer(text):
        if token.lastgroup == "open":
            depth += 1
            if depth > MAX_NESTING:
                return text.count("\n", 0, token.start()) + 1
        elif token.lastgroup == "close":
            depth = max(depth - 1, 0)
    return None


def _nesting_problem() -> str:
    return (
        f"nested more than {MAX_NESTING} levels deep (parentheses, brackets and braces); "
        "write the condition flatter"
    )


def _parse_error_line(statement: Statement) -> int:
    """The line of a statement where Cedar's parse error appears.

    Cedar's messages carry no position, so parse ever longer prefixes: the first prefix whose
    error is something other than running out of input holds the offending token.
    """
    lines = statement.text.split("\n")
    for k in range(1, len(lines) + 1):
        try:
            cedarpy.PolicySet.from_str("\n".join(lines[:k]))
        except ValueError as exc:
            if "end of input" not in str(exc):
                return statement.first_line + k - 1
    # the input ran out: the statement is unterminated, so point at its last line
    last = max((i for i, text in enumerate(lines) if text.strip()), default=0)
    return statement.first_line + last


def _parse_statement(file: str, statement: Statement) -> dict[str, Any]:
    """The statement as Cedar's JSON form, or POLICY_INVALID at its line."""
    deep = too_deep(statement.text)
    if deep is not None:  # before Cedar's parser, which would overflow the stack on it
        raise invalid(file, statement.first_line + deep - 1, _nesting_problem())
    try:
        est = json.loads(cedarpy.policies_to_json_str(statement.text))
    except ValueError as exc:
        message = str(exc)
        raise invalid(file, _parse_error_line(statement), message) from None
    if est.get("templates"):
        raise invalid(file, statement.line, "templates (?principal / ?resource) are not supported")
    policies = list(est.get("staticPolicies", {}).values())
    if len(policies) != 1:
        raise invalid(file, statement.line, "expected exactly one policy")
    policy: dict[str, Any] = policies[0]
    return policy


def _meta(file: str, statement: Statement, policy: dict[str, Any]) -> PolicyMeta:
    notes: dict[str, str] = {
        k: "" if v is None else str(v) for k, v in (policy.get("annotations") or {}).items()
    }
    unknown = sorted(set(notes) - _KNOWN_ANNOTATIONS)
    if unknown:
        raise invalid(file, statement.line, f"unknown annotation(s): {', '.join(unknown)}")
    policy_id = notes.get("id", "")
    if not _ID.match(policy_id):
        raise invalid(
            file,
            statement.line,
            f'every policy needs @id("rule") or @id("rule:detail") in lower-case kebab form, '
            f"got {policy_id!r}",
        )
    effect = str(policy["effect"])
    escalate, confirm = "escalate" in notes, "confirm" in notes
    if (escalate or confirm) and effect != "forbid":
        raise invalid(
            file, statement.line, f"policy {policy_id}: only a forbid may @escalate or @confirm"
        )
    if escalate and confirm:
        raise invalid(
            file, statement.line, f"policy {policy_id}: a forbid either escalates or confirms"
        )
    reason = notes.get("escalate") or notes.get("confirm") or notes.get("reason") or ""
    if effect == "forbid" and not reason.strip():
        raise invalid(file, statement.line, f'policy {policy_id}: a forbid needs @reason("...")')
    expires = notes.get("expires_in", str(DEFAULT_EXPIRES_IN_S))
    if not expires.isdigit() or int(expires) <= 0:
        raise invalid(file, statement.line, f"policy {policy_id}: @expires_in takes seconds")
    return PolicyMeta(
        id=policy_id,
        effect=effect,
        reason=reason or f"permitted by {policy_id}",
        escalate=escalate,
        approver=notes.get("approver", DEFAULT_APPROVER),
        expires_in_s=int(expires),
        file=file,
        line=statement.line,
        confirm=confirm,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise invalid(str(path), None, f"cannot read: {exc}") from None


def load_schema(path: Path) -> cedarpy.Schema:
    """Parse a Cedar schema file (human-readable syntax)."""
    text = _read(path)
    deep = too_deep(text)
    if deep is not None:
        raise invalid(str(path), deep, f"schema: {_nesting_problem()}")
    try:
        return cedarpy.Schema.from_str(text)
    except ValueError as exc:
        raise invalid(str(path), None, f"schema: {exc}") from None


@dataclass(frozen=True)
class LoadedPolicies:
    """A parsed, schema-checked policy set, with what each policy means."""

    policy_set: cedarpy.PolicySet
    schema: cedarpy.Schema
    meta: dict[str, PolicyMeta]
    files: tuple[str, ...]
    # the set without its soft forbids (@escalate, @confirm): does a permit allow the request
    # when no person or user has yet satisfied them?
    hard_set: cedarpy.PolicySet | None = None

    def ordered(self, ids: Iterable[str]) -> list[PolicyMeta]:
        """The named policies in the order they appear in the files (`meta` keeps it)."""
        wanted = set(ids)
        return [m for pid, m in self.meta.items() if pid in wanted]


def _problem_line(statement: Statement, message: str) -> int:
    """The first line of the statement holding a name Cedar's message quotes, else its start."""
    names = [n for n in re.findall(r"`([^`]+)`", message) if not n.startswith("policy")]
    for offset, text in enumerate(statement.text.split("\n")):
        line = statement.first_line + offset
        if line >= statement.line and any(n in text for n in names):
            return line
    return statement.line


def _file_policies(
    path: Path, schema: cedarpy.Schema
) -> Iterator[tuple[PolicyMeta, dict[str, Any]]]:
    text, file = _read(path), str(path)
    statements = split_statements(text)
    parsed = [(s, _parse_statement(file, s)) for s in statements]
    metas = [_meta(file, s, policy) for s, policy in parsed]
    result = cedarpy.validate_policies(text, schema)
    if not result.validation_passed:
        first = result.errors[0]
        suffix = first.policy_id.removeprefix("policy")
        index = int(suffix) if suffix.isdigit() else -1
        if not 0 <= index < len(statements):
            raise invalid(file, None, first.error)
        message = first.error.replace(f"for policy `{first.policy_id}`, ", "")
        raise invalid(
            file,
            _problem_line(statements[index], first.error),
            f"policy {metas[index].id}: {message}",
        )
    yield from zip(metas, (policy for _, policy in parsed), strict=True)


def load_policies(schema_path: Path, policy_paths: Sequence[Path]) -> LoadedPolicies:
    """Load and check a policy set: every file parses, validates against the schema, and every
    policy has a unique id and the annotations its effect needs."""
    if not policy_paths:
        raise invalid(str(schema_path), None, "a policy set needs at least one policy file")
    schema = load_schema(schema_path)
    meta: dict[str, PolicyMeta] = {}
    static: dict[str, Any] = {}
    for path in policy_paths:
        for info, policy in _file_policies(path, schema):
            if info.id in meta:
                first = meta[info.id]
                raise invalid(
                    info.file,
                    info.line,
                    f"duplicate policy id {info.id!r} (first at {first.file}:{first.line})",
                )
            meta[info.id] = info
            static[info.id] = policy
    hard = {pid: policy for pid, policy in static.items() if not meta[pid].soft}
    try:
        policy_set = _policy_set(static)
        hard_set = _policy_set(hard)
    except ValueError as exc:  # the statements parsed one by one, so this is unexpected
        raise invalid(str(policy_paths[0]), None, str(exc)) from None
    files = tuple(str(p) for p in policy_paths)
    return LoadedPolicies(policy_set, schema, meta, files, hard_set)


def _policy_set(policies: dict[str, Any]) -> cedarpy.PolicySet:
    document = {"staticPolicies": policies, "templates": {}, "templateLinks": []}
    return cedarpy.PolicySet.from_json_str(json.dumps(document))

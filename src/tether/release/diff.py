"""What changed between two releases, part by part, readable by a person and by a program.

Prompts as unified line diffs; policies as rules (by their `@id`) added, removed or changed;
tools, agents' settings, the model, the verifier and the knowledge as the settings whose
values differ, each named by its dotted path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from tether.policy.source import split_statements
from tether.release.bundle import Bundle

_ID = re.compile(r'@id\(\s*"((?:[^"\\]|\\.)*)"\s*\)')
_COMMENT = re.compile(r"//[^\n]*")

Changes = dict[str, list[Any]]  # dotted path -> [before, after]


def changed_settings(before: Any, after: Any, path: str = "") -> Changes:
    """Every leaf whose value differs, as {path: [before, after]} (None where absent)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: Changes = {}
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out.update(changed_settings(before.get(key), after.get(key), sub))
        return out
    return {} if before == after else {path or ".": [before, after]}


def policy_rules(policies: Mapping[str, Any]) -> dict[str, str]:
    """Each policy statement by its @id, with comments and layout taken out of its text."""
    rules: dict[str, str] = {}
    for file in policies.get("files", []):
        for index, statement in enumerate(split_statements(file["text"])):
            text = " ".join(_COMMENT.sub("", statement.text).split())
            if not text:
                continue
            found = _ID.search(text)
            rules[found.group(1) if found else f"{file['name']}#{index + 1}"] = text
    return rules


def _named(items: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(i["name"]): i for i in items}


def _prompt_lines(before: str, after: str) -> list[str]:
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "before", "after", n=1, lineterm=""
    )
    return [line for line in lines if not line.startswith(("---", "+++"))]


def diff_bundles(a: Bundle, b: Bundle) -> dict[str, Any]:
    """The differences from `a` to `b`; every part is present, empty where nothing changed."""
    ca, cb = a.content, b.content
    agents_a, agents_b = _named(ca["agents"]), _named(cb["agents"])
    prompts: dict[str, list[str]] = {}
    agent_settings: dict[str, Changes] = {}
    for name in sorted(set(agents_a) & set(agents_b)):
        before, after = dict(agents_a[name]), dict(agents_b[name])
        lines = _prompt_lines(before.pop("instructions"), after.pop("instructions"))
        if lines:
            prompts[name] = lines
        if settings := changed_settings(before, after):
            agent_settings[name] = settings
    tools_a, tools_b = _named(ca["tools"]), _named(cb["tools"])
    tool_changes = {
        name: changes
        for name in sorted(set(tools_a) & set(tools_b))
        if (changes := changed_settings(tools_a[name], tools_b[name]))
    }
    rules_a, rules_b = policy_rules(ca["policies"]), policy_rules(cb["policies"])
    schema_a, schema_b = ca["policies"].get("schema"), cb["policies"].get("schema")
    return {
        "from": a.id,
        "to": b.id,
        "identical": a.digest == b.digest,
        "domain": changed_settings(ca["domain"], cb["domain"]),
        "model": changed_settings(ca["model"], cb["model"]),
        "agents": {
            "added": sorted(set(agents_b) - set(agents_a)),
            "removed": sorted(set(agents_a) - set(agents_b)),
            "changed": agent_settings,
        },
        "prompts": prompts,
        "policies": {
            "added": sorted(set(rules_b) - set(rules_a)),
            "removed": sorted(set(rules_a) - set(rules_b)),
            "changed": sorted(r for r in set(rules_a) & set(rules_b) if rules_a[r] != rules_b[r]),
            "schema_changed": (schema_a or {}).get("text") != (schema_b or {}).get("text"),
        },
        "tools": {
            "added": sorted(set(tools_b) - set(tools_a)),
            "removed": sorted(set(tools_a) - set(tools_b)),
            "changed": tool_changes,
        },
        "verifier": changed_settings(ca["verifier"], cb["verifier"]),
        "knowledge": changed_settings(ca["knowledge"], cb["knowledge"]),
    }


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _settings_lines(title: str, changes: Changes, indent: str = "  ") -> list[str]:
    lines = [title] if changes else []
    for path, (before, after) in changes.items():
        lines.append(f"{indent}{path}: {_short(before)} -> {_short(after)}")
    return lines


def render_diff(diff: Mapping[str, Any]) -> list[str]:
    """`diff_bundles`' result as lines of text: prompts +/-, rules, then settings."""
    if diff["identical"]:
        return [f"{diff['from']} and {diff['to']} are identical"]
    lines = [f"release {diff['from']} -> {diff['to']}"]
    lines += _settings_lines("domain:", diff["domain"])
    lines += _settings_lines("model:", diff["model"])
    agents = diff["agents"]
    lines += [f"agent added: {n}" for n in agents["added"]]
    lines += [f"agent removed: {n}" for n in agents["removed"]]
    for name, prompt in diff["prompts"].items():
        lines.append(f"prompt of {name}:")
        lines += [f"  {line}" for line in prompt]
    for name, changes in agents["changed"].items():
        lines += _settings_lines(f"agent {name}:", changes)
    rules = diff["policies"]
    lines += [f"policy rule added: {r}" for r in rules["added"]]
    lines += [f"policy rule removed: {r}" for r in rules["removed"]]
    lines += [f"policy rule changed: {r}" for r in rules["changed"]]
    if rules["schema_changed"]:
        lines.append("policy schema changed")
    tools = diff["tools"]
    lines += [f"tool added: {n}" for n in tools["added"]]
    lines += [f"tool removed: {n}" for n in tools["removed"]]
    for name, changes in tools["changed"].items():
        lines += _settings_lines(f"tool {name}:", changes)
    lines += _settings_lines("verifier:", diff["verifier"])
    lines += _settings_lines("knowledge:", diff["knowledge"])
    return lines

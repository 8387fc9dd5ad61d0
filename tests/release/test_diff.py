"""`diff_bundles` / `render_diff`: prompt lines, policy rules and tool settings, readable."""

from __future__ import annotations

import dataclasses

from tether.core.envelope import Envelope, RetryPolicy
from tether.release import diff_bundles, render_diff

from .helpers import POLICY, TOOL, bundle

FORBID = '@id("no-rare")\n@reason("rare books stay in the library")\nforbid (principal, action, resource);\n'
CHANGED = POLICY.replace('action == Action::"read"', "action")


def test_identical_releases_have_an_empty_diff() -> None:
    diff = diff_bundles(bundle(), bundle())
    assert diff["identical"] is True and diff["prompts"] == {}
    assert diff["policies"] == {"added": [], "removed": [], "changed": [], "schema_changed": False}
    assert render_diff(diff) == [f"{diff['from']} and {diff['to']} are identical"]


def test_the_diff_names_prompt_lines_rules_and_tool_settings() -> None:
    before = bundle(
        instructions="You help library members.\nCite the records you use.\nBe polite.",
        policies=[("a.cedar", POLICY), ("b.cedar", FORBID)],
    )
    slow = dataclasses.replace(
        TOOL, envelope=Envelope(timeout_s=3.0, retry=RetryPolicy(max_attempts=5))
    )
    extra = dataclasses.replace(TOOL, name="borrow_book")
    after = bundle(
        instructions="You help library members.\nCite every record you use.\nBe polite.",
        policies=[("a.cedar", "// reworded comment only\n" + CHANGED),
                  ("c.cedar", '@id("new-rule")\npermit (principal, action, resource);\n')],
        tools=[slow, extra],
        model={"adapter": "openai", "name": "gpt-4o", "parameters": {}},
    )  # fmt: skip
    diff = diff_bundles(before, after)
    assert diff["identical"] is False
    assert diff["prompts"]["librarian"] == [
        "@@ -1,3 +1,3 @@",
        " You help library members.",
        "-Cite the records you use.",
        "+Cite every record you use.",
        " Be polite.",
    ]
    assert diff["policies"] == {
        "added": ["new-rule"],
        "removed": ["no-rare"],
        "changed": ["read-own"],
        "schema_changed": False,
    }
    assert diff["tools"]["added"] == ["borrow_book"] and diff["tools"]["removed"] == []
    assert diff["tools"]["changed"]["find_book"] == {
        "envelope.retry.max_attempts": [3, 5],
        "envelope.timeout_s": [10.0, 3.0],
    }
    assert diff["model"]["adapter"] == ["", "openai"] and diff["model"]["name"] == ["", "gpt-4o"]
    text = render_diff(diff)
    for line in (
        "prompt of librarian:",
        "  -Cite the records you use.",
        "  +Cite every record you use.",
        "policy rule added: new-rule",
        "policy rule removed: no-rare",
        "policy rule changed: read-own",
        "tool added: borrow_book",
        "tool find_book:",
        "  envelope.retry.max_attempts: 3 -> 5",
        "model:",
    ):
        assert line in text, (line, text)


def test_a_comment_or_layout_change_is_not_a_rule_change() -> None:
    relaid = "// a note\n" + POLICY.replace("\n", "\n  ")
    diff = diff_bundles(bundle(), bundle(policy=relaid))
    assert diff["identical"] is False  # the text is content, so the id changes
    assert diff["policies"]["changed"] == [] and diff["policies"]["added"] == []

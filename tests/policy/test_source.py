"""Loading a policy set: every bad file fails with POLICY_INVALID naming file, line and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.policy import DESK_RULES, SCHEMA_FILE, STORE_RULES, policy_dir
from tether.policy.source import load_policies, split_statements

SCHEMA = policy_dir() / SCHEMA_FILE


def load_text(tmp_path: Path, text: str) -> TetherError:
    path = tmp_path / "rules.cedar"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TetherError) as caught:
        load_policies(SCHEMA, [path])
    assert caught.value.code is ErrorCode.POLICY_INVALID
    assert caught.value.details["file"] == str(path)
    return caught.value


def test_the_packaged_sets_load_with_every_rule_annotated() -> None:
    for files in (STORE_RULES, DESK_RULES):
        loaded = load_policies(SCHEMA, [policy_dir() / f for f in files])
        for meta in loaded.meta.values():
            assert meta.reason, meta.id
            assert meta.line > 0
    desk = load_policies(SCHEMA, [policy_dir() / f for f in DESK_RULES])
    escalations = {m.id for m in desk.meta.values() if m.escalate}
    assert escalations == {"untrusted-arguments", "supervisor-approval-large-return"}
    assert desk.meta["supervisor-approval-large-return"].approver == "supervisor"


def test_a_syntax_error_names_the_offending_line(tmp_path: Path) -> None:
    error = load_text(
        tmp_path,
        '// header\n@id("a")\npermit (principal, action, resource);\n\n'
        '@id("b")\n@reason("x")\nforbid (principal, action, resource)\n'
        "when { context.authenticated &&\n  context.confirmed == };\n",
    )
    assert error.details["line"] == 9
    assert error.message.startswith(f"{tmp_path / 'rules.cedar'}:9: ")


def test_an_unterminated_policy_points_at_its_last_line(tmp_path: Path) -> None:
    error = load_text(tmp_path, '@id("a")\npermit (principal, action, resource)\n\n')
    assert error.details["line"] == 2
    assert "end of input" in error.message


def test_a_schema_violation_names_the_policy_and_the_line(tmp_path: Path) -> None:
    error = load_text(
        tmp_path,
        '@id("a")\npermit (principal, action, resource);\n'
        '@id("b")\n@reason("x")\n'
        'forbid (principal, action == Action::"cancel_pending_order", resource)\n'
        "when { context.nope };\n",
    )
    assert error.details["line"] == 6
    assert "policy b" in error.message and "nope" in error.message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("permit (principal, action, resource);", "needs @id"),
        ('@id("Bad Id")\npermit (principal, action, resource);', "needs @id"),
        ('@id("a")\nforbid (principal, action, resource);', "needs @reason"),
        ('@id("a")\n@escalate("x")\npermit (principal, action, resource);', "only a forbid"),
        ('@id("a")\n@colour("red")\npermit (principal, action, resource);', "unknown annotation"),
        (
            '@id("a")\n@reason("x")\n@expires_in("soon")\nforbid (principal, action, resource);',
            "@expires_in",
        ),
        ('@id("a")\npermit (principal is Shopper, action, resource);', "Shopper"),
        ('@id("a")\npermit (principal, action == Action::"fly", resource);', "fly"),
        ('@id("a")\npermit (principal == ?principal, action, resource);', "templates"),
    ],
)
def test_malformed_policies_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    assert problem in load_text(tmp_path, text).message


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "one.cedar", tmp_path / "two.cedar"
    first.write_text('@id("a")\npermit (principal, action, resource);\n')
    second.write_text('\n\n@id("a")\npermit (principal, action, resource);\n')
    with pytest.raises(TetherError) as caught:
        load_policies(SCHEMA, [first, second])
    assert caught.value.details == {
        "file": str(second),
        "line": 3,
        "problem": f"duplicate policy id 'a' (first at {first}:1)",
    }


def test_missing_files_and_bad_schemas_are_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(TetherError) as caught:
        load_policies(SCHEMA, [tmp_path / "absent.cedar"])
    assert caught.value.code is ErrorCode.POLICY_INVALID and "cannot read" in caught.value.message
    schema = tmp_path / "bad.cedarschema"
    schema.write_text("entity Customer = { email: };")
    with pytest.raises(TetherError) as caught:
        load_policies(schema, [policy_dir() / "store.cedar"])
    assert caught.value.code is ErrorCode.POLICY_INVALID and "schema" in caught.value.message
    with pytest.raises(TetherError):
        load_policies(SCHEMA, [])


def test_statements_split_outside_strings_and_comments() -> None:
    text = (
        '// a comment; with a semicolon\n@id("a")\n@reason("stop; now")\n'
        "forbid (principal, action, resource);\n\n"
        '@id("b") permit (principal, action, resource);\n// trailing comment\n'
    )
    statements = split_statements(text)
    assert [s.line for s in statements] == [2, 6]
    assert '"stop; now"' in statements[0].text

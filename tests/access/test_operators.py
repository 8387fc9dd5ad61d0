"""Operator API keys: hashed at rest, shown once, roles and permissions, audited changes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tests.access.conftest import open_access
from tether.access.operators import Permission, Role
from tether.core.errors import ErrorCode, TetherError
from tether.store.runs import RunStore


def code_of(fn: object, *args: object) -> ErrorCode:
    with pytest.raises(TetherError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value.code


def test_a_key_authenticates_and_is_stored_only_as_a_hash(store: RunStore) -> None:
    access = open_access(store)
    key, info = access.operators.create("viewer", name="night shift", actor="tests")
    operator = access.operators.authenticate(key)
    assert (operator.key_id, operator.role, operator.name) == (info.id, Role.VIEWER, "night shift")
    secret = key.split(".", 1)[1]
    with store.engine.connect() as conn:
        dumped = str(conn.execute(text("SELECT * FROM api_keys")).all())
        audit = str(conn.execute(text("SELECT data FROM audit_events")).all())
    assert secret not in dumped and secret not in audit
    assert info.id in audit


def test_missing_wrong_and_revoked_keys_are_refused(store: RunStore) -> None:
    ops = open_access(store).operators
    key, info = ops.create(Role.ADMIN)
    assert code_of(ops.authenticate, None) is ErrorCode.AUTH_REQUIRED
    assert code_of(ops.authenticate, "") is ErrorCode.AUTH_REQUIRED
    wrong_secret = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    for bad in ("nope", "tk_zz.zz", wrong_secret, "tk_0123456789abcdef." + "x" * 43):
        assert code_of(ops.authenticate, bad) is ErrorCode.AUTH_INVALID, bad
    ops.revoke(info.id, actor="tests")
    assert code_of(ops.authenticate, key) is ErrorCode.AUTH_INVALID
    assert code_of(ops.revoke, "0000000000000000") is ErrorCode.API_KEY_NOT_FOUND
    assert code_of(ops.create, "superuser") is ErrorCode.BAD_REQUEST


def test_roles_grant_what_they_say(store: RunStore) -> None:
    ops = open_access(store).operators
    role_of = {r: ops.authenticate(ops.create(r)[0]) for r in Role}
    assert role_of[Role.VIEWER].can(Permission.RUNS_READ)
    assert not role_of[Role.VIEWER].can(Permission.RUNS_CREATE)
    assert role_of[Role.APPROVER].can(Permission.APPROVALS_DECIDE)
    assert not role_of[Role.APPROVER].can(Permission.KEYS_MANAGE)
    assert all(role_of[Role.ADMIN].can(p) for p in Permission)
    assert role_of[Role.SERVICE].can(Permission.RUNS_CREATE)
    assert not role_of[Role.SERVICE].can(Permission.RUNS_READ)
    with pytest.raises(TetherError) as caught:
        role_of[Role.VIEWER].require(Permission.KEYS_MANAGE)
    assert caught.value.code is ErrorCode.ROLE_FORBIDDEN


def test_key_changes_are_audited(store: RunStore) -> None:
    access = open_access(store)
    _, info = access.operators.create("approver", actor="cli:alice")
    access.operators.revoke(info.id, actor="cli:bob")
    access.operators.revoke(info.id, actor="cli:bob")  # idempotent: audited once
    found = [(e.kind, e.actor) for e in access.audit.events()]
    assert found == [("api_key.created", "cli:alice"), ("api_key.revoked", "cli:bob")]
    assert access.verify_audit().ok


def test_the_first_admin_key_is_made_once_even_by_racing_processes(store: RunStore) -> None:
    made: list[str | None] = []
    instances = [open_access(store) for _ in range(4)]
    threads = [
        threading.Thread(target=lambda a=a: made.append(a.operators.bootstrap_admin()))
        for a in instances
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [k for k in made if k is not None]
    assert len(keys) == 1
    assert instances[0].operators.authenticate(keys[0]).role is Role.ADMIN
    assert instances[0].operators.bootstrap_admin() is None
    assert [k.role for k in instances[0].operators.list_keys()] == [Role.ADMIN]

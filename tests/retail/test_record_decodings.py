"""A record read by id is decoded from the text just read: what is kept of an earlier decoding
serves only the very same text, so a record changed by a write tool, by another writer or by
another store over the same database is read as it now is, and every reader gets its own copy."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from tether.domains.retail import RetailDB, build_tools
from tether.domains.retail.db import packaged_data
from tether.domains.retail.ownership import RetailOwnership

OWN, OTHER = "raj_sanchez_2970", "james_johnson_9321"
PENDING = "#W4566809"  # raj's pending order


@pytest.fixture
def db(engine: Engine) -> RetailDB:
    db = RetailDB(engine)
    db.create_tables()
    db.load(packaged_data())
    return db


def stored_text(engine: Engine, table: str, key: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT data FROM {table} WHERE id = :k"), {"k": key})
        return str(found.scalar_one())


def rewrite(engine: Engine, table: str, key: str, change: dict[str, object]) -> None:
    """Another writer changes the record in the database, behind the store's back."""
    record = json.loads(stored_text(engine, table, key))
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {table} SET data = :d WHERE id = :k"),
            {"d": json.dumps({**record, **change}), "k": key},
        )


def test_a_decoded_record_is_the_stored_json_in_its_own_key_order_and_types(
    db: RetailDB, engine: Engine
) -> None:
    for _ in range(3):  # decoded once, then rebuilt from what was kept
        order = db.order(PENDING)
        raw = stored_text(engine, "retail_orders", PENDING)
        assert json.dumps(order) == json.dumps(json.loads(raw))
        assert order == json.loads(raw)


def test_every_reader_gets_a_copy_of_its_own(db: RetailDB) -> None:
    first = db.user(OWN)
    assert first is not None
    first["orders"].append("#W0000000")
    first["payment_methods"].clear()
    first["address"]["city"] = "changed by its reader"
    second = db.user(OWN)
    assert second is not None and "#W0000000" not in second["orders"]
    assert second["payment_methods"] and second["address"]["city"] != "changed by its reader"
    third = db.user(OWN)
    assert third == second and third is not second
    assert third is not None and third["orders"] is not second["orders"]
    assert third["address"] is not second["address"]


def test_a_change_by_a_write_tool_is_read_at_once(db: RetailDB) -> None:
    assert db.order(PENDING)["status"] == "pending"  # type: ignore[index]
    tools = {t.name: t for t in build_tools(db)}
    tools["cancel_pending_order"].fn(order_id=PENDING, reason="no longer needed")
    assert db.order(PENDING)["status"] == "cancelled"  # type: ignore[index]


def test_a_change_by_another_writer_is_read_at_once(db: RetailDB, engine: Engine) -> None:
    ownership = RetailOwnership(db)
    assert ownership.owner_of("order", PENDING) == OWN
    rewrite(engine, "retail_orders", PENDING, {"user_id": OTHER})
    assert ownership.owner_of("order", PENDING) == OTHER
    assert db.order(PENDING)["user_id"] == OTHER  # type: ignore[index]
    rewrite(engine, "retail_orders", PENDING, {"user_id": OWN})
    assert ownership.owner_of("order", PENDING) == OWN


def test_a_change_through_another_store_over_the_same_database_is_read_at_once(
    db: RetailDB, engine: Engine
) -> None:
    elsewhere = RetailDB(engine)  # another process's store, say
    assert db.user(OWN)["name"]["first_name"] == "Raj"  # type: ignore[index]
    with elsewhere.transaction() as uow:
        user = uow.user(OWN)
        assert user is not None
        user["name"]["first_name"] = "Rajesh"
        uow.put_user(user)
    assert db.user(OWN)["name"]["first_name"] == "Rajesh"  # type: ignore[index]


def test_a_deleted_record_is_absent_at_once(db: RetailDB, engine: Engine) -> None:
    assert db.order(PENDING) is not None
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM retail_orders WHERE id = :k"), {"k": PENDING})
    assert db.order(PENDING) is None
    assert RetailOwnership(db).owner_of("order", PENDING) is None

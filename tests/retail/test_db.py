"""The retail store on SQLite and PostgreSQL: loading, reads, atomic writes, independent copies."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from tests.retail.driver_sql import driver_statements, selects_of
from tether.core.errors import ErrorCode, TetherError
from tether.core.reads import reading
from tether.domains.retail import RetailDB, build_tools
from tether.domains.retail.db import packaged_data
from tether.tools.registry import Tool

# pending, paid 1412.70 by gift card gift_card_5540683 (balance 68.00)
OMAR, OMAR_ORDER, OMAR_GIFT = "omar_silva_7446", "#W9728773", "gift_card_5540683"

SMALL: dict[str, dict[str, Any]] = {
    "users": {"ann_lee_1": {"user_id": "ann_lee_1", "payment_methods": {}, "orders": ["#W1"]}},
    "orders": {"#W1": {"order_id": "#W1", "user_id": "ann_lee_1", "status": "pending"}},
    "products": {"1": {"product_id": "1", "name": "Lamp", "variants": {}}},
}


class InjectedFault(Exception):
    """Stands for the database failing in the middle of a write."""


@pytest.fixture
def db(engine: Engine) -> RetailDB:
    db = RetailDB(engine)
    db.create_tables()
    return db


def tools_of(db: RetailDB) -> dict[str, Tool]:
    return {t.name: t for t in build_tools(db)}


def counts(db: RetailDB) -> tuple[int, int, int]:
    return len(list(db.users())), len(list(db.orders())), len(list(db.products()))


def fail_on_update_of(engine: Engine, table: str) -> Callable[..., None]:
    """Make every UPDATE of `table` fail, as a lost connection or a full disk would."""

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(f"UPDATE {table.upper()}"):
            raise InjectedFault(statement)

    event.listen(engine, "before_cursor_execute", before)
    return before


def test_load_packaged_is_idempotent(db: RetailDB) -> None:
    assert not db.is_loaded()
    assert db.load_packaged() is True
    assert db.is_loaded()
    assert counts(db) == (500, 1000, 50)
    db.create_tables()
    assert db.load_packaged() is False
    assert counts(db) == (500, 1000, 50)


def test_load_replaces_every_record(db: RetailDB) -> None:
    db.load_packaged()
    db.load(SMALL)
    assert counts(db) == (1, 1, 1)
    assert db.order("#W1") == SMALL["orders"]["#W1"]
    assert db.user(OMAR) is None


def test_load_is_one_transaction(db: RetailDB, engine: Engine) -> None:
    db.load(SMALL)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RETAIL_PRODUCTS"):
            raise InjectedFault(statement)

    event.listen(engine, "before_cursor_execute", before)
    with pytest.raises(InjectedFault):
        db.load(packaged_data())  # users and orders are written before products fail
    event.remove(engine, "before_cursor_execute", before)
    assert counts(db) == (1, 1, 1)
    assert db.user("ann_lee_1") == SMALL["users"]["ann_lee_1"]


def test_reads_return_records_or_none(db: RetailDB) -> None:
    db.load_packaged()
    user = db.user(OMAR)
    assert user is not None and user["email"] == "omar.silva4147@example.com"
    order = db.order(OMAR_ORDER)
    assert order is not None and order["user_id"] == OMAR
    product = db.product("1808611083")
    assert product is not None and product["name"] == "Jigsaw Puzzle"
    assert db.user("nobody") is None and db.order("W9728773") is None and db.product("x") is None
    ids = [u["user_id"] for u in db.users()]
    assert ids == sorted(ids) and OMAR in ids
    assert db.dump() == packaged_data()


def test_transaction_commits_or_rolls_back_as_a_whole(db: RetailDB) -> None:
    db.load(SMALL)
    with pytest.raises(RuntimeError), db.transaction() as uow:
        order = uow.order("#W1")
        assert order is not None
        order["status"] = "cancelled"
        uow.put_order(order)
        raise RuntimeError("abandon the unit of work")
    assert db.order("#W1") == SMALL["orders"]["#W1"]
    with db.transaction() as uow:
        order = uow.order("#W1")
        assert order is not None
        order["status"] = "cancelled"
        uow.put_order(order)
    stored = db.order("#W1")
    assert stored is not None and stored["status"] == "cancelled"


def test_put_of_a_missing_record_is_a_conflict(db: RetailDB) -> None:
    db.load(SMALL)
    with pytest.raises(TetherError) as info, db.transaction() as uow:
        uow.put_order({"order_id": "#W2", "status": "pending"})
    assert info.value.code is ErrorCode.CONFLICT


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("cancel_pending_order", {"order_id": OMAR_ORDER, "reason": "no longer needed"}),
        (
            "modify_pending_order_payment",
            {"order_id": OMAR_ORDER, "payment_method_id": "paypal_2192303"},
        ),
    ],
)
def test_a_write_tool_failing_halfway_leaves_no_partial_change(
    db: RetailDB, engine: Engine, tool: str, arguments: dict[str, Any]
) -> None:
    db.load_packaged()
    order_before, user_before = db.order(OMAR_ORDER), db.user(OMAR)
    fault = fail_on_update_of(engine, "retail_users")  # the order is written first, then the user
    target = tools_of(db)[tool]
    with pytest.raises(InjectedFault):
        target(**target.validate(arguments))
    assert db.order(OMAR_ORDER) == order_before
    assert db.user(OMAR) == user_before
    # without the fault the same call goes through, and moves the gift card balance
    event.remove(engine, "before_cursor_execute", fault)
    target(**target.validate(arguments))
    assert db.order(OMAR_ORDER) != order_before
    user_after = db.user(OMAR)
    assert user_after is not None
    assert user_after["payment_methods"][OMAR_GIFT]["balance"] == 1480.7


def test_concurrent_writers_cannot_both_act_on_the_same_state(store_url: str, db: RetailDB) -> None:
    db.load_packaged()
    writers = [RetailDB(create_engine(store_url)) for _ in range(4)]
    start = threading.Barrier(len(writers))
    outcomes: list[str] = []

    def cancel(store: RetailDB) -> None:
        target = tools_of(store)["cancel_pending_order"]
        start.wait()
        try:
            target(order_id=OMAR_ORDER, reason="no longer needed")
            outcomes.append("ok")
        except TetherError as exc:
            outcomes.append(exc.code.value)

    threads = [threading.Thread(target=cancel, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for w in writers:
        w.engine.dispose()
    assert sorted(outcomes) == ["PRECONDITION_FAILED"] * 3 + ["ok"]
    order = db.order(OMAR_ORDER)
    assert order is not None
    assert [p["transaction_type"] for p in order["payment_history"]] == ["payment", "refund"]
    user = db.user(OMAR)
    assert user is not None and user["payment_methods"][OMAR_GIFT]["balance"] == 1480.7


def test_fresh_copies_are_independent() -> None:
    first, second = RetailDB.fresh_copy(), RetailDB.fresh_copy()
    target = tools_of(first)["cancel_pending_order"]
    target(order_id=OMAR_ORDER, reason="no longer needed")
    changed = first.order(OMAR_ORDER)
    assert changed is not None and changed["status"] == "cancelled"
    untouched = second.order(OMAR_ORDER)
    assert untouched is not None and untouched["status"] == "pending"
    third = RetailDB.fresh_copy()  # made after the change: still the packaged data
    assert third.dump() == packaged_data()
    assert counts(third) == (500, 1000, 50)


def test_a_disposed_fresh_copy_starts_again_from_the_packaged_data() -> None:
    db = RetailDB.fresh_copy()
    tools_of(db)["cancel_pending_order"](order_id=OMAR_ORDER, reason="no longer needed")
    db.engine.dispose()
    order = db.order(OMAR_ORDER)
    assert order is not None and order["status"] == "pending"


def test_a_fresh_copy_whose_connection_was_closed_reads_again_from_a_new_one() -> None:
    db = RetailDB.fresh_copy()
    tools_of(db)["cancel_pending_order"](order_id=OMAR_ORDER, reason="no longer needed")
    cancelled = db.order(OMAR_ORDER)
    assert cancelled is not None and cancelled["status"] == "cancelled"
    db.engine.pool.dispose()  # the pool closes its one connection, the engine keeps the pool
    with pytest.raises(DBAPIError):  # the read that finds it closed is an error, not a hang
        db.order(OMAR_ORDER)
    order = db.order(OMAR_ORDER)  # the next read opens a new copy of the packaged data
    assert order is not None and order["status"] == "pending"


def test_shared_reads_read_each_record_once_and_hand_out_copies(
    db: RetailDB, engine: Engine
) -> None:
    db.load(SMALL)
    with driver_statements(engine) as seen:
        with db.shared_reads():
            first = db.user("ann_lee_1")
            assert first is not None
            first["orders"].append("#W2")  # a caller's change stays its own
            with db.shared_reads():  # a nested block joins the outer one
                again = db.user("ann_lee_1")
            assert db.user("nobody") is None and db.user("nobody") is None
        assert again == SMALL["users"]["ann_lee_1"]
        assert len(selects_of(seen, "retail_users")) == 2  # ann_lee_1 once, nobody once
        db.user("ann_lee_1")  # outside the block every read goes to the database
        assert len(selects_of(seen, "retail_users")) == 3


def test_a_write_inside_shared_reads_is_seen_by_the_next_read(db: RetailDB) -> None:
    db.load(SMALL)
    with db.shared_reads():
        before = db.order("#W1")
        assert before is not None and before["status"] == "pending"
        with db.transaction() as uow:
            order = uow.order("#W1")
            assert order is not None
            order["status"] = "cancelled"
            uow.put_order(order)
        after = db.order("#W1")
    assert after is not None and after["status"] == "cancelled"


def test_shared_reads_belong_to_one_thread(db: RetailDB, engine: Engine) -> None:
    db.load(SMALL)
    other: list[Any] = []
    with driver_statements(engine) as seen, db.shared_reads():
        db.order("#W1")
        reader = threading.Thread(target=lambda: other.append(db.order("#W1")))
        reader.start()
        reader.join()
        db.order("#W1")
    assert other == [SMALL["orders"]["#W1"]]
    # this thread's block once, the other thread (no block) once
    assert len(selects_of(seen, "retail_orders")) == 2


def _read_during_a_write(db: RetailDB, commit: bool) -> tuple[str, str]:
    """Another thread reads an order while this store's writer holds a change to it open; the
    writer then commits or rolls back. Returns (what the reader saw, the final status)."""
    written, go = threading.Event(), threading.Event()
    seen: list[str] = []

    def writer() -> None:
        with contextlib.suppress(InjectedFault), db.transaction() as uow:
            order = uow.order("#W1")
            assert order is not None
            order["status"] = "cancelled"
            uow.put_order(order)
            written.set()
            go.wait(5)
            if not commit:
                raise InjectedFault("the writer fails after its change")

    def reader() -> None:
        order = db.order("#W1")
        seen.append(order["status"] if order else "missing")

    writing = threading.Thread(target=writer)
    writing.start()
    assert written.wait(5)
    reading = threading.Thread(target=reader)
    reading.start()
    reading.join(0.3)  # a reader that must wait for the writer is still waiting here
    go.set()
    writing.join(5)
    reading.join(5)
    final = db.order("#W1")
    assert final is not None
    return seen[0], final["status"]


def _small_copy() -> RetailDB:
    db = RetailDB.fresh_copy()
    db.load(SMALL)
    return db


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "rollback"])
def test_a_read_never_sees_nor_undoes_another_threads_open_write(
    db: RetailDB, commit: bool
) -> None:
    for store in (db, _small_copy()):  # a pooled engine, and a single in-memory connection
        store.load(SMALL)
        seen, final = _read_during_a_write(store, commit)
        assert final == ("cancelled" if commit else "pending")  # the read undid nothing
        # the reader saw committed state only: before the write, or after it committed
        assert seen == "pending" if not commit else seen in ("pending", "cancelled")


def test_a_read_inside_a_write_transaction_sees_its_writes_and_keeps_them(db: RetailDB) -> None:
    for store in (db, _small_copy()):
        store.load(SMALL)
        with store.transaction() as uow:
            order = uow.order("#W1")
            assert order is not None
            order["status"] = "cancelled"
            uow.put_order(order)
            inside = store.order("#W1")  # the same thread, through the store, not the unit
            assert inside is not None and inside["status"] == "cancelled"
            assert [p["name"] for p in store.products()] == ["Lamp"]  # a scan inside, too
            user = uow.user("ann_lee_1")
            assert user is not None
            user["orders"] = []
            uow.put_user(user)
        after, owner = store.order("#W1"), store.user("ann_lee_1")
        assert after is not None and after["status"] == "cancelled"
        assert owner is not None and owner["orders"] == []


def test_a_write_inside_a_checks_read_block_is_refused_and_changes_nothing(db: RetailDB) -> None:
    db.load_packaged()
    cancel = tools_of(db)["cancel_pending_order"]
    with reading() as book:
        before = db.order(OMAR_ORDER)
        assert before is not None and before["status"] == "pending"
        with pytest.raises(TetherError) as refused:
            cancel(order_id=OMAR_ORDER, reason="no longer needed")
        assert refused.value.code is ErrorCode.CONFLICT
        again = db.order(OMAR_ORDER)
    # what the block read and kept is still the store's state: nothing was written
    assert again == before == db.order(OMAR_ORDER)
    assert book.values[f"retail_orders:{OMAR_ORDER}"]["status"] == "pending"
    cancel(order_id=OMAR_ORDER, reason="no longer needed")  # outside the block the write goes
    after = db.order(OMAR_ORDER)
    assert after is not None and after["status"] == "cancelled"


def test_reads_in_a_write_inside_shared_reads_see_its_changes_and_keep_none_of_them(
    db: RetailDB,
) -> None:
    db.load(SMALL)
    with db.shared_reads():
        with pytest.raises(InjectedFault), db.transaction() as uow:
            assert db.order("#W1") == SMALL["orders"]["#W1"]
            order = uow.order("#W1")
            assert order is not None
            order["status"] = "cancelled"
            uow.put_order(order)
            inside = db.order("#W1")  # read again after the change, in the same transaction
            assert inside is not None and inside["status"] == "cancelled"
            raise InjectedFault("the write fails after its change")
        # the change was rolled back: the block's next read does not hand it out
        assert db.order("#W1") == SMALL["orders"]["#W1"]


def test_a_read_on_a_dropped_connection_is_an_outage_and_the_next_read_reconnects(
    db: RetailDB, engine: Engine, store_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side kill of the connection is a PostgreSQL test")
    db.load(SMALL)
    assert db.user("ann_lee_1") is not None
    pooled = engine.raw_connection()  # the one connection the pool holds, which reads use
    pid = pooled.driver_connection.info.backend_pid  # type: ignore[union-attr]
    pooled.close()
    with create_engine(store_url).connect() as admin:
        ended = admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    assert ended is True
    with pytest.raises(OperationalError):  # what the API maps to 503, as before
        db.user("ann_lee_1")
    assert db.user("ann_lee_1") == SMALL["users"]["ann_lee_1"]  # a new connection

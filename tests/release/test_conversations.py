"""A conversation records the release it started under; each turn's run records its own, and a
turn that ran under another release (the configuration changed mid-conversation) says so."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, select

from tests.sdk.packs.library import LIBRARIAN, LIBRARY, fresh_data
from tether.conversations import Conversations, ConversationStore
from tether.models import ScriptedModel, parse_script
from tether.sdk import Desk, build_desk
from tether.store.conversations_schema import conversations
from tether.store.db import _alembic_config, migrate
from tether.store.runs import RunStore

HELLO = [{"answer": "Hello! How can I help?"}]


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def desk_over(store: RunStore, instructions: str | None = None) -> Desk:
    agent = LIBRARIAN
    if instructions is not None:  # another prompt: another configuration, another release
        agent = dataclasses.replace(agent, instructions=instructions)
    return build_desk(LIBRARY, store, agents=(agent,), data=fresh_data())


def service(desk: Desk) -> Conversations:
    return Conversations(desk.runtime, ConversationStore(desk.store.engine))


def model() -> ScriptedModel:
    return ScriptedModel(parse_script(HELLO))


def test_a_conversation_records_the_release_it_started_under(store: RunStore) -> None:
    desk = desk_over(store)
    assert desk.release is not None
    config = desk.release.configuration
    talk = service(desk).start("ada")
    outcome = talk.send("hello", model())
    assert talk.record().release == config
    with store.engine.connect() as conn:
        assert conn.execute(select(conversations.c.release_id)).scalar_one() == config
    detail = service(desk).detail(talk.id)
    assert detail["release"] == config
    assert [(t["release"], t["release_changed"]) for t in detail["turns"]] == [(config, False)]
    assert outcome.run.release == config


def test_a_turn_under_another_release_says_so(store: RunStore) -> None:
    before = desk_over(store)
    talk = service(before).start("ada")
    talk.send("hello", model())
    # the configuration changes (a new prompt is deployed) while the conversation is open
    after = desk_over(store, instructions="Answer in one short sentence.")
    assert before.release is not None and after.release is not None
    old, new = before.release.configuration, after.release.configuration
    assert old != new
    service(after).open(talk.id, "ada").send("and again", model())
    detail = service(after).detail(talk.id)
    assert detail["release"] == old  # where it started, whatever runs it now
    turns = [(t["turn"], t["release"], t["release_changed"]) for t in detail["turns"]]
    assert turns == [(1, old, False), (2, new, True)]


def test_a_conversation_without_a_release_flags_no_turn(store: RunStore) -> None:
    desk = desk_over(store)
    runtime = dataclasses.replace(desk.runtime, release=None)  # as before releases existed
    talk = Conversations(runtime, ConversationStore(store.engine)).start("ada")
    talk.send("hello", model())
    detail = service(desk).detail(talk.id)
    assert detail["release"] is None and talk.record().release == ""
    assert [t["release_changed"] for t in detail["turns"]] == [False]


def test_revision_0020_adds_the_column_and_comes_off_again(store: RunStore) -> None:
    desk = desk_over(store)
    talk = service(desk).start("ada")
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0020-1")
    columns = {c["name"] for c in inspect(store.engine).get_columns("conversations")}
    assert "release_id" not in columns
    migrate(store.engine)
    assert talk.record().release == ""  # what the column held came off with it
    # the table keeps its partial index of held conversations through both steps
    busy = {i["name"]: i for i in inspect(store.engine).get_indexes("conversations")}
    where = busy["ix_conversations_busy"]["dialect_options"]["sqlite_where"]
    assert str(where).strip() == "busy_run IS NOT NULL"
    talk.send("hello", model())  # and conversations go on, recording their release again
    assert desk.release is not None
    assert service(desk).start("ada").record().release == desk.release.configuration

"""Quotas on runs in flight hold when a client sends its requests all at once, to one replica
or to several sharing the store: the count and the insert of the run are one decision, so
exactly the quota's runs are stored and every other request is `429 QUOTA_EXCEEDED`, having
stored nothing (no run, no claim on a conversation)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tether.conversations import ConversationStore
from tether.core.errors import ErrorCode
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunFilter, RunStore

from .conftest import HELD, ORDER_QUESTION, HeldModel, serve

PRINCIPAL = "raj_sanchez_2970"


def _body(principal: str = PRINCIPAL) -> dict[str, object]:
    return {"principal": principal, "messages": [{"role": "user", "content": ORDER_QUESTION}]}


def _quotas(monkeypatch: pytest.MonkeyPatch, which: str, quota: int) -> None:
    limits = {"operator": 1000, "principal": 1000, which: quota}
    monkeypatch.setenv("TETHER_MAX_ACTIVE_RUNS_PER_OPERATOR", str(limits["operator"]))
    monkeypatch.setenv("TETHER_MAX_ACTIVE_RUNS_PER_PRINCIPAL", str(limits["principal"]))


@contextmanager
def _replicas(store_url: str, count: int) -> Iterator[tuple[list[str], RunStore, str]]:
    """`count` API replicas over one store, each with its own engine (its own connections, as
    a process has) and one worker; their URLs, a store to read, and a service key."""
    with ExitStack() as stack:
        stores = [RunStore.open(store_url) for _ in range(count)]
        for store in stores:
            stack.callback(store.close)
        apps: list[FastAPI] = [
            create_app(
                open_retail_desk(store, db=RetailDB.fresh_copy()),
                model_factory=HeldModel,
                allow_scripts=True,
                workers=1,
            )
            for store in stores
        ]
        key, _ = apps[0].state.operators.create("service", name="svc", actor="tests")
        urls = [stack.enter_context(serve(app)) for app in apps]
        stack.callback(HELD.set)  # first: held runs finish, so that the workers can stop
        yield urls, stores[0], key


def _at_once(
    urls: list[str], key: str, paths: list[tuple[str, dict[str, object]]]
) -> list[httpx.Response]:
    """POST each (path, body) at the same moment, spread over the replicas."""
    gate = threading.Barrier(len(paths))
    clients = [
        httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {key}"})
        for url in urls
    ]

    def post(n: int) -> httpx.Response:
        path, body = paths[n]
        gate.wait()
        return clients[n % len(clients)].post(path, json=body)

    try:
        with ThreadPoolExecutor(len(paths)) as pool:
            return list(pool.map(post, range(len(paths))))
    finally:
        for client in clients:
            client.close()


def _refused_by_quota(answers: list[httpx.Response]) -> list[httpx.Response]:
    refused = [a for a in answers if a.status_code == 429]
    for answer in refused:
        assert answer.json()["code"] == ErrorCode.QUOTA_EXCEEDED.value, answer.text
        assert int(answer.headers["Retry-After"]) >= 1
    return refused


@pytest.mark.parametrize("which", ["operator", "principal"])
def test_a_quota_of_runs_in_flight_holds_against_requests_sent_at_once_to_two_replicas(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: None, which: str
) -> None:
    quota = 3
    _quotas(monkeypatch, which, quota)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    with _replicas(store_url, 2) as (urls, store, key):
        answers = _at_once(urls, key, [("/v1/runs", _body())] * 24)
        codes = [a.status_code for a in answers]
        accepted = [a for a in answers if a.status_code == 202]
        refused = _refused_by_quota(answers)
        assert len(accepted) == quota, (
            f"{len(accepted)} runs accepted under a quota of {quota}: {codes}"
        )
        assert len(accepted) + len(refused) == len(answers), codes
        # a refused request stored nothing: the store holds the accepted runs, and only them
        assert store.count_runs(RunFilter()) == quota
        stored = {r.id for r in store.list_runs(RunFilter(), limit=100)}
        assert stored == {a.json()["id"] for a in accepted}
        assert store.in_flight(PRINCIPAL, None).principal == quota


@pytest.mark.parametrize("which", ["operator", "principal"])
def test_requests_one_after_another_are_accepted_up_to_the_quota_then_refused(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: None, which: str
) -> None:
    _quotas(monkeypatch, which, 3)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    with (
        _replicas(store_url, 1) as (urls, store, key),
        httpx.Client(base_url=urls[0], timeout=30, headers={"Authorization": f"Bearer {key}"}) as c,
    ):
        answers = [c.post("/v1/runs", json=_body()) for _ in range(4)]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        _refused_by_quota(answers)
        assert store.count_runs(RunFilter()) == 3


def test_conversation_turns_sent_at_once_hold_their_operators_quota(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: None
) -> None:
    quota = 2
    _quotas(monkeypatch, "operator", quota)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    with _replicas(store_url, 2) as (urls, store, key):
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=urls[0], timeout=30, headers=headers) as c:
            started = [c.post("/v1/conversations", json={"principal": PRINCIPAL}) for _ in range(8)]
        ids = [s.json()["id"] for s in started]
        turns = [(f"/v1/conversations/{i}/messages", {"text": "Hello there"}) for i in ids]
        answers = _at_once(urls, key, turns)
        codes = [a.status_code for a in answers]
        accepted = [n for n, a in enumerate(answers) if a.status_code == 202]
        refused = _refused_by_quota(answers)
        assert len(accepted) == quota, codes
        assert len(accepted) + len(refused) == len(answers), codes
        assert store.count_runs(RunFilter()) == quota
        conversations = ConversationStore(store.engine)
        for n, conversation_id in enumerate(ids):
            record = conversations.get(conversation_id)
            assert record.turns == 0
            # a refused turn let go of its claim: the conversation takes the next turn
            assert (record.busy_run is not None) == (n in accepted)

"""The retail desk on both stores, with run leases that lapse within a second."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.sdk import Desk
from tether.store import RunStore


@pytest.fixture
def desk(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("TETHER_RUN_LEASE_SECONDS", "1")
    store = RunStore.open(store_url)
    yield open_retail_desk(store, db=RetailDB.fresh_copy())
    store.close()

"""Fixtures shared by the retail pack's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """An engine on the test's store (SQLite and PostgreSQL), disposed of afterwards."""
    engine = create_engine(store_url)
    yield engine
    engine.dispose()

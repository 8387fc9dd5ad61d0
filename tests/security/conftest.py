"""A served API over its own desk, with one operator key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.access.conftest import sqlite_store
from tests.server.conftest import open_desk, serve
from tether.access.operators import Role
from tether.sdk import Desk
from tether.server.app import create_app

__all__ = ["sqlite_store"]  # shared with the access tests


@dataclass
class Api:
    url: str
    desk: Desk
    keys: dict[str, str]

    def client(self, role: str | None = None, key: str | None = None) -> httpx.Client:
        """A client sending the key of `role` (or `key`, or none)."""
        chosen = key if key is not None else (self.keys[role] if role else None)
        headers = {"Authorization": f"Bearer {chosen}"} if chosen is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    desk = open_desk(Path(tmp_path_factory.mktemp("security")))
    app = create_app(desk)
    assert desk.access is not None
    keys = {role.value: desk.access.operators.create(role, actor="tests")[0] for role in Role}
    with serve(app) as url:
        yield Api(url, desk, keys)
    desk.store.close()

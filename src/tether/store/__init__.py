"""The system of record: SQLite by default, PostgreSQL when TETHER_DATABASE_URL says so."""

from tether.store.db import create_store_engine, default_url, migrate
from tether.store.runs import RunFilter, RunStore

__all__ = ["RunFilter", "RunStore", "create_store_engine", "default_url", "migrate"]

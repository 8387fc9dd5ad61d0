"""The system of record: SQLite by default, PostgreSQL when TETHER_DATABASE_URL says so."""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
    from tether.store.db import create_store_engine, default_url, migrate
    from tether.store.runs import RunFilter, RunStore

__all__ = ["RunFilter", "RunStore", "create_store_engine", "default_url", "migrate"]

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "RunFilter": "tether.store.runs",
        "RunStore": "tether.store.runs",
        "create_store_engine": "tether.store.db",
        "default_url": "tether.store.db",
        "migrate": "tether.store.db",
    },
)

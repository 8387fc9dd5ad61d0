"""A store already at every head opens without loading alembic: the revisions it has applied are
read off its version table against the packaged revision files, read without alembic. That
reading must be alembic's own, and a store behind or ahead of the package is still upgraded or
refused through alembic as before."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from tether.core.errors import TetherError
from tether.store.db import applied, create_store_engine, revision_graph
from tether.store.runs import RunStore


def test_the_revision_files_are_read_as_alembic_reads_them() -> None:
    from alembic.script import ScriptDirectory

    from tether.store.db import _alembic_config

    scripts = ScriptDirectory.from_config(_alembic_config())

    def ids(value: str | Sequence[str] | None) -> tuple[str, ...]:
        return () if value is None else (value,) if isinstance(value, str) else tuple(value)

    theirs = {
        s.revision: frozenset((*ids(s.down_revision), *ids(s.dependencies)))
        for s in scripts.walk_revisions()
    }
    assert revision_graph() == theirs


def test_a_store_at_every_head_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    RunStore.open(url).close()  # made and migrated
    script = (
        "import sys\n"
        "from tether.store.runs import RunStore\n"
        f"RunStore.open({url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr


def test_a_store_behind_or_ahead_is_not_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    RunStore.open(url).close()
    engine = create_store_engine(url)
    with engine.begin() as conn:
        heads = frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert applied(heads) == revision_graph().keys()
    # one head taken back to what it stands on: a store one revision behind (the migration
    # tests open such stores, made by alembic, and see them upgraded)
    newest = max(heads)
    behind = (heads - {newest}) | revision_graph()[newest]
    assert applied(behind) != revision_graph().keys()
    # a revision this version does not know: ahead, and refused through alembic as before
    assert applied(heads | {"9999"}) is None
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
    engine.dispose()
    with pytest.raises(TetherError) as refused:
        RunStore.open(url)
    assert refused.value.code.value == "STORE_SCHEMA_NEWER"

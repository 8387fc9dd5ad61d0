"""A process that migrates a store and stops for good at one statement (a script, never
imported by tests): the test kills it there with SIGKILL.

python held_migration.py URL NEEDLE MARKER

Before the first statement holding NEEDLE runs, MARKER is created and the process waits.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tether.store.db import create_store_engine, migrate

engine = create_store_engine(sys.argv[1])
needle, marker = sys.argv[2], Path(sys.argv[3])


@event.listens_for(engine, "before_cursor_execute")
def _hold(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    if needle in statement:
        marker.touch()
        time.sleep(120)


migrate(engine)

"""A process that starts one run and dies with SIGKILL at its first model turn (a script, never
imported by tests): the run stays RUNNING, its scope committed, its script in its metadata.

python dying_run.py URL USER TEXT
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from tether.core.types import Message
from tether.domains.retail.desk import open_retail_desk
from tether.runtime.seams import RunRequest
from tether.store import RunStore


class DieAtFirstTurn:
    name = "dying"

    def propose(self, request: Any) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)


desk = open_retail_desk(RunStore.open(sys.argv[1]))
script = [{"answer": "Hello, how can I help?"}]
request = RunRequest(
    principal_id=sys.argv[2],
    messages=[Message(role="user", content=sys.argv[3])],
    metadata={"script": script},
)
desk.runtime.run(request, DieAtFirstTurn())

"""The API over a fresh retail desk, served in a process of its own (argv: store URL, a file
to write `{"port", "key"}` to). The fuzzer drives it from another process: Hypothesis parses
Python in its own thread, and CPython 3.11's parser cannot run in two threads of one process
at once (the desk's `calculate` tool parses arithmetic on worker threads)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import uvicorn

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.server.lingering import LingeringH11Protocol
from tether.store.runs import RunStore


def main(url: str, out: Path) -> None:
    desk = open_retail_desk(RunStore.open(url), db=RetailDB.fresh_copy())
    app = create_app(desk, allow_scripts=True)
    key, _ = app.state.operators.create("admin", name="fuzz", actor="tests")
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets; without it each answer
    # stalls ~40 ms (Nagle against delayed ACKs), most of the fuzzer's wall time
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    out.write_text(json.dumps({"port": port, "key": key}))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", http=LingeringH11Protocol)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

"""An approved call's single-use token, with revocations in Redis, and a process killed
(SIGKILL) in the transaction that starts the call, on both stores.

The README: the token "is spent where the call starts, as a row in `call_token_uses` written in
the transaction that opens the call's ledger row, so the use and the start are one fact: ...
a crash can neither spend it without the call starting nor start the call twice". Redis is
outside that transaction, so nothing of the use may reach it before the commit: the process
dies, the row and the call's start roll back, and the approved call can still be made once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.access.conftest import REDIS_URL, require_redis
from tether.access.control import AccessControl
from tether.access.settings import AccessSettings
from tether.access.single_use import call_token_id
from tether.access.tokens import CALL_AUDIENCE
from tether.core.types import Principal
from tether.store.runs import RunStore

APPROVAL = "apr_killed_1"
ARGUMENTS = {"order_id": "#W4566809", "reason": "no longer needed"}

# Mints the approval's call token and spends it as the runtime does, in the transaction that
# starts the call; says so in a file and waits there, before that transaction commits.
SPENDING = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine
from tether.access.control import AccessControl
from tether.access.settings import AccessSettings
from tether.access.single_use import CallTokenUses, call_token_id
from tether.access.storage import begin
from tether.core.types import Principal
engine = create_engine(sys.argv[1])
access = AccessControl.open(engine, settings=AccessSettings.from_env())
token, claims = access.tokens.mint_call(
    "run_killed", Principal("raj_sanchez_2970", "retail"), "retail-desk",
    "cancel_pending_order", {"order_id": "#W4566809", "reason": "no longer needed"},
    ("retail:write",), token_id=call_token_id(sys.argv[3]),
)
uses = CallTokenUses(engine, access.revocations)
with begin(engine) as conn:
    assert uses.claim(claims, sys.argv[3], "call_1", conn=conn)
    Path(sys.argv[2]).write_text("spent")
    time.sleep(60)
"""


def test_a_call_token_spent_in_a_transaction_that_died_is_not_used_up(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_redis()
    RunStore.open(store_url).close()  # migrated
    prefix = f"tether-killed-{uuid.uuid4().hex[:8]}:"
    env = {**os.environ, "TETHER_REDIS_URL": REDIS_URL, "TETHER_REDIS_PREFIX": prefix}
    env.setdefault("TETHER_HOME", str(tmp_path))
    marker = tmp_path / "spent"
    child = subprocess.Popen(
        [sys.executable, "-c", SPENDING, store_url, str(marker), APPROVAL], env=env
    )
    try:
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert child.poll() is None, "the child ended before it spent the token"
            assert time.monotonic() < deadline, "the child never spent the token"
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    engine = create_engine(store_url)
    with engine.connect() as conn:  # the call never started: its use rolled back with it
        uses = conn.execute(text("SELECT count(*) FROM call_token_uses")).scalar_one()
    assert uses == 0
    monkeypatch.setenv("TETHER_HOME", env["TETHER_HOME"])
    monkeypatch.setenv("TETHER_REDIS_PREFIX", prefix)
    settings = AccessSettings(redis_url=REDIS_URL, revocation_cache_s=0.0)
    try:
        access = AccessControl.open(engine, settings=settings)
        token, _ = access.tokens.mint_call(
            "run_killed",
            Principal("raj_sanchez_2970", "retail"),
            "retail-desk",
            "cancel_pending_order",
            ARGUMENTS,
            ("retail:write",),
            token_id=call_token_id(APPROVAL),
        )
        status = access.revocations.status(call_token_id(APPROVAL))
        # the approved call that never ran may still run once: its token is not used up
        assert status is None, f"Redis says the token was {status!r}; no call used it"
        access.tokens.verify(
            token,
            audience=CALL_AUDIENCE,
            run_id="run_killed",
            tool="cancel_pending_order",
            arguments=ARGUMENTS,
        )
    finally:
        engine.dispose()

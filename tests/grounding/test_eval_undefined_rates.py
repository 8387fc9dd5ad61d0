"""`tether eval grounding --json` reports a rate with nothing to divide by as null, never as 0.0:
on a data set of faithful responses only, a verifier that flags none of them has made no
positive call (precision is 0/0) and had no hallucination to find (recall is 0/0); reporting
0.0 says it was wrong every time, which a reader (and a gate comparing F1) takes at its word."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TETHER = [sys.executable, "-c", "from tether.cli import main; main()"]
RECORD = {"order_id": "#W1", "status": "delivered", "total": 54.5}


def eval_grounding(data: Path) -> dict[str, Any]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    done = subprocess.run(
        [*TETHER, "eval", "grounding", "--data", str(data), "--json"],
        env={**keep, "TETHER_HOME": str(data / "home")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_precision_and_recall_are_null_when_every_response_is_faithful_and_none_flagged(
    tmp_path: Path,
) -> None:
    line = {
        "source_id": "d1",
        "source": RECORD,
        "responses": [
            # each one restates its record verbatim: faithful by construction
            {"response": "Order #W1 was delivered.", "labels": []},
            {"response": "Order #W1 was delivered. Its total is $54.50.", "labels": []},
        ],
    }
    (tmp_path / "data2txt.jsonl").write_text(json.dumps(line) + "\n")
    report = eval_grounding(tmp_path)
    overall = report["overall"]
    assert overall["n"] == 2
    assert overall["false_alarm_rate"] == 0.0  # 0 of 2 faithful responses flagged
    # no response was flagged and none was hallucinated: 0/0, as false_alarm_rate says of 0/0
    assert overall["precision"] is None
    assert overall["recall"] is None
    assert report["tasks"]["data2txt"]["precision"] is None

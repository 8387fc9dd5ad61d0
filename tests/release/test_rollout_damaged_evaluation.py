"""A running rollout whose stored evaluation is damaged: the operator must still be able to
roll it back, and customers must still be able to start conversations."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.processes import tether

USER = "yusuf_rossi_9620"
GUARD = "refused_by_verification <= baseline + 0.01"


def _start_rollout(url: str, home: Path, tmp: Path) -> str:
    code, out = tether(url, home, "release", "create", "--note", "baseline")
    assert code == 0, out
    assert tether(url, home, "release", "label", "production", out["release"]["id"])[0] == 0
    folder = tmp / "next"
    assert tether(url, home, "release", "export", "production", str(folder))[0] == 0
    prompt = next((folder / "prompts").glob("*.md"))
    prompt.write_text(prompt.read_text() + "\nKeep answers short.\n")
    code, out = tether(url, home, "release", "create", "--from", str(folder), "--note", "next")
    assert code == 0, out
    code, out = tether(url, home, "rollout", "start", out["release"]["id"], "--guard", GUARD)
    assert code == 0 and out["state"] == "running", out
    return str(out["candidate"])


def test_a_damaged_rollout_row_can_still_be_rolled_back(store_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    _start_rollout(store_url, home, tmp_path)
    engine = create_engine(store_url)
    with engine.begin() as conn:  # the last look's evaluation, cut short
        conn.execute(text("UPDATE rollouts SET evaluation = substr(evaluation, 1, 1)"))
    engine.dispose()
    script = tmp_path / "conversation.json"
    script.write_text(json.dumps([{"user": "hello", "model": [{"answer": "Hello there."}]}]))

    talk_code, talk = tether(store_url, home, "converse", "--as", USER, "--script", str(script))
    back_code, back = tether(store_url, home, "rollout", "rollback")

    # before: both answered INTERNAL "unexpected JSONDecodeError": the emergency brake does not
    # work, and no customer can start a conversation, while the candidate keeps its share
    assert back_code == 0 and back["state"] == "rolled_back", back
    assert talk_code == 0, talk
    engine = create_engine(store_url)
    with engine.connect() as conn:  # the rollback stored whole JSON in the damaged column
        (evaluation,) = conn.execute(text("SELECT evaluation FROM rollouts")).one()
    engine.dispose()
    assert isinstance(json.loads(evaluation), dict)

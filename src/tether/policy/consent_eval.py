"""Measuring the confirmation reader on labelled replies: how many non-consents it read as a
yes (the failure that matters), and how many real yeses it missed.

A data file is JSONL, one reply a line: `{"text": "...", "label": "confirm" | "other"}`;
blank lines are skipped. Malformed data stops with DATA_INVALID naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.policy.consent import classify_reply

LABELS = ("confirm", "other")
DATA_DIR = Path(__file__).parent / "data"
# The packaged sets are replies to a cancellation request ("I am about to cancel order ...
# Shall I go ahead?"), so a restatement such as "yes, cancel it" or "cancel my order" is
# consent to that action: the verb and what it acts on, as the runtime reads them for the
# pending `cancel_pending_order` (`tether.policy.action_verb` / `action_targets`).
PACKAGED_ACTION = "cancel"
PACKAGED_TARGETS: tuple[str, ...] = ("order",)


@dataclass(frozen=True)
class LabelledReply:
    """One reply to a confirmation request, and whether it is consent (`confirm`) or not."""

    text: str
    label: str
    where: str  # file:line


def _bad(where: str, problem: str) -> TetherError:
    return TetherError(ErrorCode.DATA_INVALID, f"{where}: {problem}", {"where": where})


def _is_unicode_text(text: str) -> bool:
    """JSON's \\u escapes can spell half a surrogate pair, which no UTF-8 output can print."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_confirmations(path: str | Path) -> list[LabelledReply]:
    """The labelled replies of a JSONL file; DATA_INVALID on a missing file, a line that is
    not a JSON object (or nested too deeply to parse), a label other than confirm/other, or an
    empty text or one holding a lone surrogate."""
    source = Path(path)
    if not source.is_file():
        raise _bad(str(source), "no such file")
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(str(source), f"cannot be read as UTF-8 text ({exc})") from exc
    replies: list[LabelledReply] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise _bad(where, f"not valid JSON ({exc.args[0]})") from exc
        except RecursionError as exc:  # nesting deeper than the parser can follow
            raise _bad(where, "not valid JSON (nested too deeply)") from exc
        if not isinstance(row, dict):
            raise _bad(where, "expected a JSON object with text and label")
        text, label = row.get("text"), row.get("label")
        if label not in LABELS:
            raise _bad(where, f"label must be 'confirm' or 'other', not {label!r}")
        if not isinstance(text, str) or not text.strip():
            raise _bad(where, "text must be a non-empty string")
        if not _is_unicode_text(text):
            raise _bad(where, "text holds a lone surrogate (\\ud800-\\udfff), which is no text")
        replies.append(LabelledReply(text, label, where))
    if not replies:
        raise _bad(str(source), "holds no replies")
    return replies


def evaluate_confirmations(
    path: str | Path,
    *,
    action: str | None = PACKAGED_ACTION,
    targets: tuple[str, ...] = PACKAGED_TARGETS,
) -> dict[str, Any]:
    """Read every reply of `path` with `classify_reply` (`action`: the verb the replies were
    asked about; `targets`: the nouns of what it acts on) and count false confirms (an `other`
    read as a yes) and missed confirms.
    Precision and recall are of the `confirm` class; with nothing to find or nothing found
    they are 1.0, since nothing was wrongly read."""
    replies = load_confirmations(path)
    false_confirms: list[dict[str, str]] = []
    missed: list[dict[str, str]] = []
    hits = 0
    for reply in replies:
        reading = classify_reply(reply.text, action=action, targets=targets)
        wanted = reply.label == "confirm"
        example = {"text": reply.text, "reason": reading.reason, "matched": reading.matched}
        if reading.confirmed and wanted:
            hits += 1
        elif reading.confirmed:
            false_confirms.append(example)
        elif wanted:
            missed.append(example)
    said_yes = hits + len(false_confirms)
    confirms = hits + len(missed)
    return {
        "n": len(replies),
        "confirms": confirms,
        "false_confirms": len(false_confirms),
        "missed_confirms": len(missed),
        "precision": round(hits / said_yes, 4) if said_yes else 1.0,
        "recall": round(hits / confirms, 4) if confirms else 1.0,
        "false_confirm_examples": false_confirms,
        "missed_confirm_examples": missed,
    }

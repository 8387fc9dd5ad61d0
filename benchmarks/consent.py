"""Cost and errors of reading a confirmation reply: tether's consent reader against the old
prefix match (`is_affirmative`), on every labelled reply of both packaged halves.

Each reply is read N times by each reader after one warm-up read; the time per reply is the
best of three rounds divided by N, and the table shows the median, 95th percentile and worst
reply. The same run counts each reader's false confirms (a reply that is not consent read as
a yes) and missed confirms. Never fails on wall time.

    python benchmarks/consent.py [--reads 200]
"""

from __future__ import annotations

import argparse
import re
import statistics
import timeit
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from tether.policy.consent import classify_reply
from tether.policy.consent_eval import (
    DATA_DIR,
    PACKAGED_ACTION,
    PACKAGED_TARGETS,
    LabelledReply,
    load_confirmations,
)

HALVES = ("confirmations-dev.jsonl", "confirmations-heldout.jsonl")

# The baseline: the prefix match the runtime used before it owned confirmations (a reply
# that opens with a yes word and holds none of a few negations), kept here to measure it.
_OLD_YES = re.compile(
    r"^(yes|yeah|yep|yup|sure|ok|okay|correct|confirm(ed)?|i confirm|absolutely|definitely"
    r"|go ahead|please go ahead|proceed|please proceed|please do|do it|that'?s (right|correct))\b"
)
_OLD_NO = re.compile(
    r"\b(don'?t|do not|not yet|wait|hold on|stop|never ?mind|no,|no\.|no!|changed my mind)\b"
)


def is_affirmative(text: str) -> bool:
    """The old reader: an opening affirmative and no negation."""
    normal = " ".join(text.lower().replace("\u2019", "'").split()).lstrip(" \"'\u201c(")
    return bool(_OLD_YES.match(normal)) and _OLD_NO.search(normal) is None


def _consent(text: str) -> bool:
    return classify_reply(text, action=PACKAGED_ACTION, targets=PACKAGED_TARGETS).confirmed


READERS: dict[str, Callable[[str], bool]] = {
    "classify_reply": _consent,
    "is_affirmative (old)": is_affirmative,
}


def _microseconds(read: Callable[[str], bool], text: str, reads: int) -> float:
    read(text)
    best = min(timeit.repeat(lambda: read(text), number=reads, repeat=3))
    return best / reads * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()

    replies: list[LabelledReply] = [
        r for half in HALVES for r in load_confirmations(DATA_DIR / half)
    ]
    table = Table(
        "reader", "replies", "median µs", "p95 µs", "max µs", "false confirms", "missed confirms"
    )
    for name, read in READERS.items():
        times = sorted(_microseconds(read, r.text, args.reads) for r in replies)
        said = [(read(r.text), r.label == "confirm") for r in replies]
        table.add_row(
            name,
            str(len(replies)),
            f"{statistics.median(times):.1f}",
            f"{times[int(0.95 * (len(times) - 1))]:.1f}",
            f"{times[-1]:.1f}",
            str(sum(yes and not wanted for yes, wanted in said)),
            str(sum(wanted and not yes for yes, wanted in said)),
        )
    Console().print(table)


if __name__ == "__main__":
    main()

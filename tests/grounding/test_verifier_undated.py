"""A day of a month ("cancelled on 3 March", "March 3rd") is a date: where the evidence names
neither that month nor any date, it is unsupported, though the record holds the number as a
count (3 items); a date the evidence does give (its month cut short or not), and the count
said as a count, pass."""

from __future__ import annotations

import pytest

from tests.grounding.common import THREE_ITEMS, on_record, on_text

DATED = dict(THREE_ITEMS, placed="2026-03-03")
NOTICE = "Orders placed on 3 March ship within two days. The sale ends on March 17."


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("It was processed on 3 March, and the Wristwatch was $2127.62.", True),
        ("It was processed on March 3rd, and the Wristwatch was $2127.62.", True),
        ("It was processed on the 3rd of March.", True),
        # the count the record holds, said as a count
        ("It has 3 items, and the Wristwatch was $2127.62.", False),
        ("All 3 items are processed; the Wristwatch was $2127.62.", False),
    ],
)
def test_a_day_of_a_month_the_record_never_dates_is_unsupported(answer: str, wrong: bool) -> None:
    assert on_record(answer, THREE_ITEMS).flagged is wrong


def test_a_date_the_evidence_gives_passes() -> None:
    assert not on_text("Orders placed on March 3 ship within two days.", NOTICE).flagged
    assert not on_text("The sale ends on 17 March.", NOTICE).flagged
    assert on_text("The sale ends on 19 March.", NOTICE).flagged
    # a month the evidence names cut short ("Oct. 4")
    assert not on_text("The store reopens on October 4.", "The store reopens on Oct. 4.").flagged
    # a record that dates things in figures is left to the number checks
    assert not on_record("It was placed on 3 March; it has 3 items.", DATED).flagged

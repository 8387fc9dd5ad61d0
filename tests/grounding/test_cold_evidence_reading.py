"""Reading evidence seen for the first time: the shortcuts taken for speed say what the
patterns they replace said, near misses included."""

from __future__ import annotations

import re

import pytest

from tether.grounding.claims import numbers
from tether.grounding.fields import mentions
from tether.grounding.meaning import negated


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("order #W4566809 is pending", "#W4566809", True),
        ("Order W4566809.", "W4566809", True),
        ("order w4566809", "#W4566809", True),  # case and the leading "#" aside
        ("order W45668091 is pending", "W4566809", False),  # a longer id holds it
        ("order XW4566809 is pending", "W4566809", False),
        ("order W4566809_2 is pending", "W4566809", False),  # an underscore is a word character
        ("order é4566809", "4566809", False),  # so is a letter of any script
        ("W4566809W4566809 and then W4566809", "W4566809", True),  # a later whole one counts
        ("no id at all", "W4566809", False),
        ("anything", "#", False),  # nothing left to look for
    ],
)
def test_an_id_is_mentioned_only_as_a_whole_word(text: str, value: str, expected: bool) -> None:
    assert mentions(text, value) is expected
    plain = value.lstrip("#").lower()
    pattern = re.compile(rf"(?<![\w]){re.escape(plain)}(?![\w])")  # what it is read as
    assert (bool(plain) and pattern.search(text.lower().replace("#", " ")) is not None) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nothing's shipped yet", True),
        ("Nothing\u2019s been refunded", True),
        ("nobody's home", True),
        ("it's shipped", False),
        ("the order's status is pending", False),
        ("the notion's clear", False),  # a word merely starting like a denial
    ],
)
def test_a_denial_with_its_verb_cut_to_s_still_denies(text: str, expected: bool) -> None:
    assert negated(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs three hundred dollars and two cents.", [300.02]),
        ("It costs three hundred DOLLARS.", [300.0]),
        ("twenty-one items", [21.0]),  # no "dollars": a number word, not an amount
        ("the silver one", []),  # a pronoun, no count
        ("one of them", [1.0]),
        ("the phone is done", []),  # "one" inside a word is no number
        ("between the two.", []),
        ("two of them", [2.0]),
        ("at 5:30 pm, 1,200.50 and 3K", [1200.5, 3000.0]),  # clock times are left out
        ("no digits, no number words", []),
    ],
)
def test_numbers_are_read_with_or_without_the_words_that_gate_them(
    text: str, expected: list[float]
) -> None:
    assert numbers(text) == expected

"""The form text is compared in, and the look-alike words no real text holds.

Answers and evidence alike are folded by `plain_text` before any word is compared, so a
full-width digit or a zero-width space hides nothing; `mixed_script` finds a word spelled with
letters of two scripts, which the verifier turns away.
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)


def plain_text(text: str) -> str:
    """Text in the form claims are compared in: compatibility forms folded (full-width
    letters, ligatures), invisible characters (zero-width spaces, soft hyphens) removed."""
    if text.isascii():  # NFKC leaves ASCII as it is, and no invisible character is ASCII
        return text
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


# an item marker run into a line: a dash or a bullet between spaces, not between two figures
# ("5 - 7" is a range)
_RUN_IN_ITEM = re.compile(r"(?<=[^\s\d])\s[-\u2022]\s(?=[^\s\d])|(?<=[:,])\s[-\u2022]\s(?=\S)")


def items_on_lines(text: str) -> str:
    """A passage whose lists were run into their lines ("What we need from you - the order id,
    - the list of items, and - where the refund should go", as text joined from markdown
    comes) with each item on a line of its own, as written: "\n- " for " - " wherever a line
    holds two such markers or more after a colon or a heading of a few words. The text keeps
    its length, so spans into it still hold."""
    if " - " not in text and " \u2022 " not in text:
        return text
    lines = text.split("\n")
    for n, line in enumerate(lines):
        marks = list(_RUN_IN_ITEM.finditer(line))
        if len(marks) >= 2 and _heads_a_list(line[: marks[0].start()]):
            lines[n] = _RUN_IN_ITEM.sub(lambda m: "\n" + m.group(0)[1] + " ", line)
    return "\n".join(lines)


def _heads_a_list(before: str) -> bool:
    """Whether what stands before a line's first item marker introduces a list: a colon, or a
    heading of a few words since the last sentence ("What we need from you"), not a sentence
    a dash breaks into ("The company said on Monday - …")."""
    lead = re.split(r"[.!?]\s", before)[-1].strip()
    return lead.endswith(":") or len(lead.split()) <= _HEADING_WORDS


_HEADING_WORDS = 8


# a numbered step run into a line: "…: 1. You confirm … 2. The status …"
_RUN_IN_STEP = re.compile(r"(?<=[^\S\n])(\d{1,2})\.\s+(?=[A-Z])")


def steps_on_lines(text: str) -> str:
    """An answer whose numbered steps were run into one line ("Here's what happens: 1. You
    confirm. 2. The status changes.") with each step on a line of its own, as a list is
    written: its numbers are markers, no quantities. Only steps numbered 1, 2, … in order,
    two or more; the text keeps its length."""
    marks = list(_RUN_IN_STEP.finditer(text))
    if len(marks) < 2:
        return text
    run = [m for n, m in enumerate(marks) if int(m.group(1)) == n + 1]
    if len(run) < 2 or len(run) != len(marks):
        return text
    out = list(text)
    for m in run:
        out[m.start() - 1] = "\n"
    return "".join(out)


def mixed_script(text: str) -> str | None:
    """The first word that mixes Latin letters with Cyrillic or Greek ones ("pending" spelled
    with a Cyrillic e): a look-alike meant to pass a word check, never a real word."""
    if text.isascii():  # every ASCII letter is Latin: nothing to mix
        return None
    for word in re.findall(r"\w+", text):
        scripts: set[str] = set()
        for ch in word:
            if ch.isalpha():
                name = unicodedata.name(ch, "")
                scripts.add(name.split(" ", 1)[0])
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
            return str(word)
    return None

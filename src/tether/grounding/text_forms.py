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

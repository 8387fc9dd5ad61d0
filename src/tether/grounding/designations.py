"""A role the claim says something was given that the evidence never names: "PayPal is set as
your default payment method", "the Visa, which you marked as your preferred card", where the
record lists the methods and marks none of them.

A record that holds such a role says so in its own words (a `default` flag, a `primary` key);
a claim naming the role where no evidence uses its word adds it. Naming a role is told apart
from describing a thing by the verb that gives it ("set as", "marked as", "chosen as"):
"lists 120 Elm Street as your default address" reports what the record lists.
"""

from __future__ import annotations

import re
from collections.abc import Set

from tether.grounding.claims import norm
from tether.grounding.facts import UNSUPPORTED, Finding

_DESIGNATED = re.compile(
    r"\b(?:set|marked|chosen|made|picked|selected|flagged|saved|nominated)\s+as\s+"
    r"(?:your|the|its|their|his|her)\s+(?P<role>default|primary|preferred|main|favou?rite)\b",
    re.IGNORECASE,
)


def check_designations(text: str, known: Set[str]) -> list[Finding]:
    """The roles the claim says were given, where no evidence uses the role's word."""
    out: list[Finding] = []
    for m in _DESIGNATED.finditer(text):
        role = m.group("role").lower()
        if norm(role) in known:
            continue
        why = f"the evidence names nothing {role}: {m.group(0)!r}"
        out.append(Finding("novel", UNSUPPORTED, why, ""))
    return out

"""What the HTTP API accepts before anything reaches a store: text every store can keep and
list offsets every store can count to.

A NUL character is refused by PostgreSQL's text columns and a lone surrogate cannot be encoded
as UTF-8 at all; an offset past a 64-bit integer overflows SQLite and PostgreSQL. Each would
surface deep in a query as INTERNAL, so request bodies, path and query parameters refuse them
up front, field by field, as BAD_REQUEST.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from tether.core.shapes import unstorable

# far more items than any list holds, and within every store's integer range
MAX_OFFSET = 2**31 - 1


def storable(text: str) -> str:
    """`text` unchanged if every store can keep it; a ValueError saying why not otherwise."""
    why = unstorable(text)
    if why is not None:
        raise ValueError(why)
    return text


StoredText = Annotated[str, AfterValidator(storable)]
"""A string without a NUL or a lone surrogate character (for bodies, paths and queries)."""


def plain_digits(text: str) -> bool:
    """Whether `text` is a whole number as `int` reads it: ASCII digits only (`str.isdigit`
    also takes "²" and the other superscripts of a header's latin-1, which `int` refuses)."""
    return text.isascii() and text.isdigit()

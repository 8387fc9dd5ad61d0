"""A pack reference whose attribute is not a `Domain`."""

PACK = 42

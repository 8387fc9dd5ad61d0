"""A pack that loads, but whose `setup` fails when a desk is built over a store."""

from __future__ import annotations

from tests.sdk.packs.library import LIBRARIAN
from tether.sdk import DeskContext, Domain, DomainParts


def setup(ctx: DeskContext) -> DomainParts:
    raise RuntimeError("the catalogue database is unreachable")


PACK = Domain(name="flaky-library", version="0.1.0", agents=(LIBRARIAN,), setup=setup)

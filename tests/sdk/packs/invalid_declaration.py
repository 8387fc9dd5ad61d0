"""A pack whose declaration breaks `Domain`'s own rules: it names no agent."""

from __future__ import annotations

from tests.sdk.packs.library import setup
from tether.sdk import Domain

PACK = Domain(name="empty-library", version="0.1.0", agents=(), setup=setup)

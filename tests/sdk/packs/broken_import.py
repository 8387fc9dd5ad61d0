"""A pack whose module cannot be imported: a dependency it needs is not installed."""

from __future__ import annotations

import tether_sdk_tests_no_such_catalogue_driver  # type: ignore[import-not-found]  # noqa: F401

from tests.sdk.packs.library import LIBRARY

PACK = LIBRARY

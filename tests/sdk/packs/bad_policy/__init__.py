"""The library pack with a Cedar policy set in which one file does not parse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.sdk.packs.library import LIBRARY
from tether.sdk import PolicySet

HERE = Path(__file__).parent
SCHEMA = HERE / "library.cedarschema"
GOOD = HERE / "good.cedar"
BAD = HERE / "bad.cedar"

PACK = dataclasses.replace(
    LIBRARY, name="strict-library", policies=PolicySet(schema=SCHEMA, files=(GOOD, BAD))
)

"""A pack's version is recorded with every run and compared by releases and rollouts: one
that is missing, empty or carries control characters is refused (DOMAIN_INVALID)."""

from __future__ import annotations

from typing import Any

import pytest

from tether import Agent
from tether.core.errors import ErrorCode, TetherError
from tether.sdk import Domain

VERSIONS = {"none": None, "empty": "", "blank": "  ", "newline": "1.0\nrelease: forged"}


@pytest.mark.parametrize("case", sorted(VERSIONS))
def test_odd_pack_version_is_refused(case: str) -> None:
    version: Any = VERSIONS[case]
    with pytest.raises(TetherError) as caught:
        Domain(
            name="library",
            version=version,
            agents=(Agent("desk", "You help.", ("find_book",)),),
            setup=lambda ctx: None,
        )
    assert caught.value.code is ErrorCode.DOMAIN_INVALID
    assert "version" in caught.value.message

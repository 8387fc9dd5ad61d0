"""A Domain whose declared fields have the wrong type is refused with DOMAIN_INVALID and a
clear message, never an AttributeError or TypeError out of the constructor."""

from __future__ import annotations

from typing import Any

import pytest

from tether import Agent
from tether.core.errors import ErrorCode, TetherError
from tether.sdk import Domain

AGENT = Agent("desk", "You help.", ("find_book",))

WRONG = {
    "name-number": {"name": 2024},
    "agent-is-a-name": {"agents": ("desk",)},
    "operating-point-text": {
        "agents": (Agent("desk", "You help.", ("find_book",), verifier_operating_point="0.5"),)  # type: ignore[arg-type]
    },
}

FIELD = {
    "name-number": "name 2024",
    "agent-is-a-name": "agents",
    "operating-point-text": "verifier_operating_point",
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_typed_declaration_is_domain_invalid(case: str) -> None:
    fields: dict[str, Any] = {
        "name": "library",
        "version": "1.0",
        "agents": (AGENT,),
        "setup": lambda ctx: None,
    }
    fields.update(WRONG[case])
    with pytest.raises(TetherError) as caught:
        Domain(**fields)
    assert caught.value.code is ErrorCode.DOMAIN_INVALID
    assert FIELD[case] in caught.value.message

"""A model that identifies Raj Sanchez by e-mail, reads order #W4566809 (pending) and proposes
one write on it: the first turn of the tests of what a customer's reply does to that write."""

from __future__ import annotations

from typing import Any

from tether.models.scripted import ScriptedModel, parse_script

EMAIL = "raj.sanchez2046@example.com"
ORDER = "#W4566809"


def proposing(tool: str, args: dict[str, Any]) -> ScriptedModel:
    """The scripted model that proposes `tool` with `args` after looking the order up."""
    return ScriptedModel(
        parse_script(
            [
                {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
                {"tool": "get_order_details", "args": {"order_id": ORDER}},
                {"tool": tool, "args": args},
            ]
        )
    )

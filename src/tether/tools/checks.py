"""Guard checks owned by the tool layer: the tool exists and its arguments fit the schema."""

from __future__ import annotations

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import ToolCall, Verdict


class SchemaCheck:
    """The named tool exists and the arguments validate against its input schema."""

    name = "schema"

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        tool = ctx.tools.get(call.name)
        if tool is None:
            return Verdict.deny(
                self.name,
                ErrorCode.UNKNOWN_TOOL,
                f"there is no tool named {call.name!r}",
                known=sorted(ctx.agent.tools),
            )
        try:
            tool.validate(call.arguments)
        except TetherError as exc:
            return Verdict.deny(self.name, exc.code, exc.message, **exc.details)
        return Verdict.allow(self.name)

"""Tools: registration, schemas and the execution envelope."""

from tether.tools.execute import DirectExecutor, ToolExecutor, ToolOutcome
from tether.tools.registry import Tool, ToolRegistry, make_tool, tool

__all__ = [
    "DirectExecutor",
    "Tool",
    "ToolExecutor",
    "ToolOutcome",
    "ToolRegistry",
    "make_tool",
    "tool",
]

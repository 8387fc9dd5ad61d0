"""A command group that imports a command's module only when that command runs.

Every `tether` command is a process of its own, and what a process imports at start it pays
on every command: importing every command's module (the runtime, the verifier, the approvals,
the server) took about a second before `tether runs list` read its first row. The top-level
group names each command by `module:attribute` and loads it when it is looked up; `--help`
lists them all, so it loads them all, and a mistyped name is matched against the names alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup

# typer carries its own copy of click, whose Command these hold; it is not among typer's public
# names, so it is typed as what is not checked
Command = Any


class LazyGroup(TyperGroup):
    """A Typer group whose commands (`COMMANDS`: name -> "module:attribute", a Typer app or a
    command function) are loaded when looked up, each once."""

    COMMANDS: Mapping[str, str] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands, self.COMMANDS)


class _Commands(MutableMapping[str, Command]):
    """The group's commands by name: those registered as Typer registers them, then the named
    ones, each loaded the first time it is read."""

    def __init__(self, loaded: MutableMapping[str, Command], named: Mapping[str, str]) -> None:
        self._loaded = loaded
        self._named = named

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded and name in self._named:
            self._loaded[name] = _load(name, self._named[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._loaded
        yield from (n for n in self._named if n not in self._loaded)

    def __len__(self) -> int:
        return len(self._loaded) + sum(1 for n in self._named if n not in self._loaded)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._named


def _load(name: str, ref: str) -> Command:
    """The command `ref` ("module:attribute") names, called `name`."""
    module, _, attribute = ref.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: Command = typer.main.get_group(target)
    else:  # a command function: a Typer app of its own holds it
        holder = typer.Typer(add_completion=False)
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    command.name = name
    return command

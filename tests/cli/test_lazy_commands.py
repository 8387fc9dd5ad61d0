"""The command line names its commands and loads each when it runs (`tether.cli.lazy`), and
packages export their names lazily (`tether.core.exports`): every name still resolves, to the
object its module defines, and a name nobody exports is an AttributeError."""

from __future__ import annotations

import importlib

import pytest
import typer
from typer.testing import CliRunner

from tether.cli.app import TetherCommands, app

PACKAGES = (
    "tether.access",
    "tether.approvals",
    "tether.conversations",
    "tether.grounding",
    "tether.models",
    "tether.observe",
    "tether.policy",
    "tether.release",
    "tether.runtime",
    "tether.sdk",
    "tether.server",
    "tether.store",
    "tether.tools",
)


@pytest.mark.parametrize("name", list(TetherCommands.COMMANDS))
def test_every_command_loads_with_its_help(name: str) -> None:
    group = typer.main.get_command(app)
    with typer.Context(group) as ctx:
        command = group.get_command(ctx, name)
        assert command is not None and command.name == name
        assert group.get_command(ctx, name) is command  # loaded once
    shown = CliRunner().invoke(app, [name, "--help"])
    assert shown.exit_code == 0, shown.output
    assert f"tether {name}" in shown.output


def test_the_help_lists_every_command_once() -> None:
    shown = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    listed = [
        line.split()[1]
        for line in shown.output.splitlines()
        if line.startswith("│ ") and len(line.split()) > 2 and line.split()[1][0].isalpha()
    ]
    assert sorted(n for n in listed if n in TetherCommands.COMMANDS) == sorted(
        TetherCommands.COMMANDS
    )


def test_an_unknown_command_is_refused_with_a_suggestion() -> None:
    refused = CliRunner().invoke(app, ["runz"])
    assert refused.exit_code == 2
    assert "No such command 'runz'" in refused.output and "runs" in refused.output


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_is_its_modules_own(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        owner = getattr(value, "__module__", None)
        if owner is not None and owner.startswith(package):
            assert getattr(importlib.import_module(owner), name) is value


@pytest.mark.parametrize("package", PACKAGES)
def test_a_name_no_package_exports_is_an_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        module.NoSuchName  # noqa: B018
    assert not hasattr(module, "no_such_name")

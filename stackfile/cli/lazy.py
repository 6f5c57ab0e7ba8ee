"""Sub-commands of an existing click group imported only when used (``container cp`` and friends
must not cost ``container exec`` their import)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click

__all__ = ["add_lazy"]


def add_lazy(group: click.Group, commands: Mapping[str, str]) -> None:
    """Make ``group`` offer ``commands`` (name → ``"module:attribute"``), imported on first use."""
    get_command, list_commands = group.get_command, group.list_commands

    def get(ctx: click.Context, name: str) -> click.Command | None:
        target = commands.get(name)
        if target is None or name in group.commands:
            return get_command(ctx, name)
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        group.add_command(command, name)
        return command

    def names(ctx: click.Context) -> list[str]:
        return sorted({*list_commands(ctx), *commands})

    group.get_command = get  # type: ignore[method-assign,assignment]
    group.list_commands = names  # type: ignore[method-assign]

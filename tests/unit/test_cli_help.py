"""Every option of every command says what it does in ``--help`` (click's own walk of the tree)."""

from __future__ import annotations

import click

from stackfile.cli.main import cli


def _commands(group: click.Group, ctx: click.Context, path: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{path} {name} is listed but cannot be loaded"
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, ctx, f"{path} {name}")
    return found


def test_every_option_has_help_text() -> None:
    ctx = click.Context(cli)
    commands = [("stackfile", cli), *_commands(cli, ctx, "stackfile")]
    assert len(commands) > 40
    missing = [f"{path} {'/'.join(p.opts)}" for path, command in commands for p in command.params
               if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert missing == []
    undocumented = [path for path, command in commands if not (command.help or command.short_help)]
    assert undocumented == []

"""``stackfile completion bash|zsh|fish``: click's shell completion, which also completes the
service names of the project the command line's ``-f``/``-p``/... select."""

from __future__ import annotations

import click

__all__ = ["complete_services", "completion"]

COMPLETE_VAR = "_STACKFILE_COMPLETE"


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (commands, options and service names).

    \b
    bash:  eval "$(stackfile completion bash)"    (add it to ~/.bashrc)
    zsh:   eval "$(stackfile completion zsh)"     (add it to ~/.zshrc)
    fish:  stackfile completion fish > ~/.config/fish/completions/stackfile.fish
    """
    from click.shell_completion import get_completion_class

    from stackfile.cli.main import cli

    cls = get_completion_class(shell)
    if cls is None:  # click ships bash, zsh and fish: only a broken click lands here
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(cli, {}, "stackfile", COMPLETE_VAR).source())


def complete_services(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The project's service names starting with ``incomplete`` (none when it cannot be loaded:
    completion never prints an error)."""
    from stackfile.cli.main import global_options

    params = ctx.find_root().params
    try:
        many = {k: tuple(params.get(k) or ()) for k in ("files", "env_files", "profiles", "template_vars")}
        opts = global_options(many["files"], params.get("project_name"), params.get("project_directory"),
                              many["env_files"], many["profiles"], params.get("environment_name"),
                              many["template_vars"], params.get("root"))
        from stackfile.engine.config import load

        names = sorted(load(opts).config.get("services") or {})
    except Exception:  # a broken or missing file: nothing to offer
        return []
    return [n for n in names if n.startswith(incomplete)]


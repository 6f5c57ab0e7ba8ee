"""The ``stackfile`` command: global options and lazy sub-commands.

Sub-commands live in their own modules and are imported only when invoked, so ``stackfile
config`` never pays for the runtime, rich or Jinja2. Errors become a message and an exit code in
:mod:`stackfile.cli.boundary`, the boundary the click-free fast paths use too.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field

import click

from stackfile import __version__

# command name -> "module:attribute". Each module owns one group of commands.
COMMANDS: dict[str, str] = {
    # spec (issue: foundation)
    "config": "stackfile.cli.config_cmd:config",
    "graph": "stackfile.cli.config_cmd:graph",
    # runtime
    "container": "stackfile.cli.container_cmd:container",
    # images
    "build": "stackfile.cli.image_cmd:build",
    "image": "stackfile.cli.image_cmd:image",
    "system": "stackfile.cli.image_cmd:system",
    # networks and volumes
    "network": "stackfile.cli.network_cmd:network",
    "volume": "stackfile.cli.network_cmd:volume",
    # the Compose workflow
    "up": "stackfile.cli.project_cmd:up",
    "down": "stackfile.cli.project_cmd:down",
    "ps": "stackfile.cli.project_cmd:ps",
    "logs": "stackfile.cli.project_cmd:logs",
    "start": "stackfile.cli.project_cmd:start",
    "stop": "stackfile.cli.project_cmd:stop",
    "restart": "stackfile.cli.project_cmd:restart",
    "kill": "stackfile.cli.project_cmd:kill",
    "rm": "stackfile.cli.project_cmd:rm",
    "pause": "stackfile.cli.project_cmd:pause",
    "unpause": "stackfile.cli.project_cmd:unpause",
    "exec": "stackfile.cli.project_cmd:exec_",
    "run": "stackfile.cli.project_cmd:run",
    "top": "stackfile.cli.project_cmd:top",
    "scale": "stackfile.cli.change_cmd:scale",
    "create": "stackfile.cli.change_cmd:create",
    "attach": "stackfile.cli.attach_cmd:attach",
    "port": "stackfile.cli.project_cmd:port",
    "images": "stackfile.cli.project_cmd:images",
    "ls": "stackfile.cli.project_cmd:ls",
    "init": "stackfile.cli.init_cmd:init",
    "completion": "stackfile.cli.completion_cmd:completion",
    # a container's files (cp, commit; 'export SERVICE' is in export_cmd)
    "cp": "stackfile.cli.fs_cmd:cp_service",
    "commit": "stackfile.cli.fs_cmd:commit_service",
    # watch
    "watch": "stackfile.cli.watch_cmd:watch",
    # observing (cli/observe_cmd.py)
    "stats": "stackfile.cli.observe_cmd:stats",
    "events": "stackfile.cli.observe_cmd:events",
    "info": "stackfile.cli.observe_cmd:info",
    "wait": "stackfile.cli.observe_cmd:wait",
    "volumes": "stackfile.cli.observe_cmd:volumes",
    # beyond one machine
    "daemon": "stackfile.cli.daemon_cmd:daemon",
    "export": "stackfile.cli.export_cmd:export",
    # registries
    "login": "stackfile.cli.registry_cmd:login",
    "logout": "stackfile.cli.registry_cmd:logout",
    "pull": "stackfile.cli.registry_cmd:pull",
    "push": "stackfile.cli.registry_cmd:push",
}

HIDDEN: set[str] = set()


@dataclass
class GlobalOptions:
    """What the global flags and the environment said; passed to every sub-command."""

    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    environment_name: str | None = None
    template_vars: dict[str, str] = field(default_factory=dict)
    root: str = "/var/lib/stackfile"
    environ: dict[str, str] = field(default_factory=dict)
    json_output: bool = False
    host: str = ""  # a daemon to run the command through (-H, STACKFILE_HOST); empty: in-process
    tls_verify: bool = False
    cert_path: str = ""


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *(name for name in COMMANDS if name not in HIDDEN)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # not built yet
            raise
        command = getattr(module, attr, None)
        return command if isinstance(command, click.Command) else None


def key_values(items: tuple[str, ...] | list[str], flag: str, *, require_equals: bool = False
               ) -> dict[str, str]:
    """``KEY=VALUE`` flag values as a dict (``KEY`` alone means an empty value unless required)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or (require_equals and not sep):
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=flag)
        out[key] = value
    return out


def _split_list(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-f", "--file", "files", multiple=True, metavar="FILE",
              help="Stack or compose file (repeatable; '-' reads standard input).")
@click.option("-p", "--project-name", "project_name", metavar="NAME", help="Project name.")
@click.option("--project-directory", metavar="DIR", help="Base directory of the project.")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE",
              help="Environment file for interpolation (repeatable).")
@click.option("--profile", "profiles", multiple=True, metavar="NAME", help="Activate a profile.")
@click.option("--env", "environment_name", metavar="NAME",
              help="Select an environment overlay from 'environments:' (dev, test, prod...).")
@click.option("--set", "template_vars", multiple=True, metavar="KEY=VALUE",
              help="Variable for Jinja2 stack templates (repeatable).")
@click.option("--root", metavar="DIR", help="Store root (default $STACKFILE_ROOT or /var/lib/stackfile).")
@click.option("-H", "--host", metavar="ADDR",
              help="Run through the daemon at unix://PATH or tcp://HOST:PORT (default $STACKFILE_HOST).")
@click.version_option(__version__, "--version", prog_name="stackfile")
@click.pass_context
def cli(ctx: click.Context, files: tuple[str, ...], project_name: str | None,
        project_directory: str | None, env_files: tuple[str, ...], profiles: tuple[str, ...],
        environment_name: str | None, template_vars: tuple[str, ...], root: str | None,
        host: str | None) -> None:
    """stackfile: one YAML file in, a running, isolated, hot-reloading stack out."""
    ctx.obj = global_options(files, project_name, project_directory, env_files, profiles, environment_name,
                             template_vars, root, host)


def global_options(files: tuple[str, ...], project_name: str | None, project_directory: str | None,
                   env_files: tuple[str, ...], profiles: tuple[str, ...], environment_name: str | None,
                   template_vars: tuple[str, ...], root: str | None,
                   host: str | None = None) -> GlobalOptions:
    """The options every sub-command gets, from the global flags and the environment."""
    environ = dict(os.environ)
    tvars = key_values(template_vars, "--set", require_equals=True)
    file_list = list(files) or [f for f in environ.get("COMPOSE_FILE", "").split(
        environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)) if f]
    opts = GlobalOptions(
        files=file_list,
        project_name=project_name,
        project_directory=project_directory,
        env_files=list(env_files) or _split_list(environ.get("COMPOSE_ENV_FILES")),
        profiles=[p for item in profiles for p in item.split(",") if p]
        or _split_list(environ.get("COMPOSE_PROFILES")),
        environment_name=environment_name or environ.get("STACKFILE_ENV") or None,
        template_vars=tvars,
        root=root or environ.get("STACKFILE_ROOT") or "/var/lib/stackfile",
        environ=environ,
        host=host or environ.get("STACKFILE_HOST", ""),
        tls_verify=environ.get("STACKFILE_TLS_VERIFY", "") not in ("", "0", "false"),
        cert_path=environ.get("STACKFILE_CERT_PATH", ""),
    )
    from stackfile.engine.registry import configure

    configure(environ)  # the registry settings (DOCKER_CONFIG, certs.d, insecure hosts) for any pull
    return opts


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
def version(fmt: str) -> None:
    """Show the stackfile version."""
    import platform

    if fmt == "json":
        import json

        click.echo(json.dumps({"version": __version__, "python": platform.python_version()}))
    else:
        click.echo(f"stackfile version {__version__} (python {platform.python_version()})")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and map every error to a message and an exit code."""
    from stackfile.cli.boundary import boundary

    def run() -> int:
        try:
            rc = cli.main(args=argv, prog_name="stackfile", standalone_mode=False)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            return 130
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.ClickException as exc:
            exc.show()
            return exc.exit_code
        return rc if isinstance(rc, int) else 0

    code = boundary(run, os.environ)
    if code:
        sys.exit(code)

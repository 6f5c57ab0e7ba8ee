"""``attach SERVICE`` and ``container attach CONTAINER``: follow a running container's output.

On a terminal the detach keys (``--detach-keys``, default Ctrl-P Ctrl-Q) end the attachment and
leave the container running, as Docker's ``read escape sequence``; Ctrl-C is passed to the
container as SIGINT (``--sig-proxy``, on by default). The command returns the container's exit
code once it exits. Typed input is not forwarded (the shim holds the container's stdin).
"""

from __future__ import annotations

import os
import sys
import threading

import click

from stackfile.cli.completion_cmd import complete_services
from stackfile.cli.main import GlobalOptions
from stackfile.store.paths import StorePaths

__all__ = ["attach", "container_attach"]

_POLL = 0.1


def _keys_pressed(fd: int, keys: bytes, done: threading.Event) -> bool:
    """Read the terminal (keys one by one, flow control off so Ctrl-Q arrives) until ``keys``
    were typed in a row (True) or ``done`` is set (False)."""
    import select
    import termios

    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[0] &= ~termios.IXON
    mode[3] &= ~(termios.ICANON | termios.ECHO)
    mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    seen = b""
    try:
        while not done.is_set():
            if not select.select([fd], [], [], _POLL)[0]:
                continue
            data = os.read(fd, 1)
            if not data:
                done.wait()
                return False
            seen += data
            while seen and not keys.startswith(seen):  # the longest tail that begins the sequence
                seen = seen[1:]
            if seen == keys:
                return True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return False


def _attach(paths: StorePaths, container_id: str, *, no_stdin: bool, detach_keys: str,
            sig_proxy: bool) -> int:
    from stackfile.engine import attach as engine

    keys = engine.parse_detach_keys(detach_keys)
    lines = engine.attach_output(paths, container_id)
    done = threading.Event()

    def pump() -> None:
        try:
            for line in lines:
                click.echo(line.text, err=line.stream == "stderr")
        finally:
            done.set()

    threading.Thread(target=pump, daemon=True, name="attach").start()
    on_terminal = not no_stdin and os.isatty(sys.stdin.fileno())
    while True:
        try:
            if on_terminal and _keys_pressed(sys.stdin.fileno(), keys, done):
                click.echo("read escape sequence", err=True)
                return 0
            while not done.wait(_POLL):
                pass
            return engine.exit_code(paths, container_id)
        except KeyboardInterrupt:
            if not sig_proxy:
                return 130
            engine.signal(paths, container_id, "SIGINT")


_OPTIONS = [
    click.Option(["--no-stdin"], is_flag=True, help="Do not attach stdin (no detach keys either)."),
    click.Option(["--detach-keys"], default="ctrl-p,ctrl-q", show_default=True,
                 help="Key sequence that detaches, leaving the container running."),
    click.Option(["--sig-proxy/--no-sig-proxy"], default=True, show_default=True,
                 help="Pass Ctrl-C (SIGINT) to the container."),
]


@click.command("attach")
@click.argument("ref", metavar="CONTAINER")
@click.pass_obj
def container_attach(opts: GlobalOptions, ref: str, no_stdin: bool, detach_keys: str, sig_proxy: bool) -> int:
    """Attach to a running container's output."""
    from stackfile.engine.attach import running

    paths = StorePaths.at(opts.root)
    status = running(paths, ref)
    return _attach(paths, status.id, no_stdin=no_stdin, detach_keys=detach_keys, sig_proxy=sig_proxy)


@click.command("attach")
@click.argument("service", shell_complete=complete_services)
@click.option("--index", type=int, default=1, show_default=True, help="Index of the container (replica).")
@click.pass_obj
def attach(g: GlobalOptions, service: str, index: int, no_stdin: bool, detach_keys: str,
           sig_proxy: bool) -> int:
    """Attach to the output of a service's running container."""
    from stackfile.engine.attach import service_container

    paths, status = service_container(g, service, index)
    return _attach(paths, status.id, no_stdin=no_stdin, detach_keys=detach_keys, sig_proxy=sig_proxy)


for _cmd in (container_attach, attach):
    _cmd.params.extend(_OPTIONS)

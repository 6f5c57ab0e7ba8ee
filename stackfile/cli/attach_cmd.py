"""``attach SERVICE`` and ``container attach CONTAINER``: follow a running container's output.

What is typed goes to a container made with ``-i``/``stdin_open`` (raw to a tty container, as
``docker attach``). On a terminal the detach keys (``--detach-keys``, default Ctrl-P Ctrl-Q) end
the attachment and leave the container running (Docker's ``read escape sequence``); Ctrl-C is
passed to a container without a tty as SIGINT (``--sig-proxy``, on by default). The command
returns the container's exit code once it exits.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import click

from stackfile.cli.completion_cmd import complete_services
from stackfile.cli.main import GlobalOptions
from stackfile.store.paths import StorePaths

__all__ = ["attach", "container_attach"]

_POLL = 0.1


def _terminal_mode(fd: int, raw: bool, forwarding: bool) -> list[Any]:
    """Put the terminal in the attach mode; returns the mode to restore. Flow control is off
    always (Ctrl-Q must arrive). A tty container gets the keys raw, Ctrl-C included, as Docker
    does; without input to forward the keys act at once (no line editing) and are not echoed."""
    import termios

    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    if raw:
        import tty

        tty.setraw(fd)
        return saved
    mode[0] &= ~termios.IXON
    if not forwarding:
        mode[3] &= ~(termios.ICANON | termios.ECHO)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    return saved


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _read_input(fd: int, sink: int | None, keys: bytes, done: threading.Event) -> bool:
    """Copy what is typed on ``fd`` to ``sink`` (the container's stdin) until the ``keys`` come in
    a row (True: detach; they are not sent) or ``done`` (False). An incomplete sequence is held
    back until the next key shows it is not the sequence. Without ``keys`` (not a terminal) the
    input is copied until it ends."""
    import select

    held = b""
    while not done.is_set():
        if not select.select([fd], [], [], _POLL)[0]:
            continue
        data = os.read(fd, 4096)
        if not data:
            return False
        if not keys:
            if sink is not None:
                _write_all(sink, data)
            continue
        held += data
        if keys in held:
            before = held[:held.index(keys)]
            if sink is not None and before:
                _write_all(sink, before)
            return True
        keep = next((n for n in range(min(len(keys) - 1, len(held)), 0, -1) if keys.startswith(held[-n:])), 0)
        out, held = (held[:-keep], held[-keep:]) if keep else (held, b"")
        if sink is not None and out:
            _write_all(sink, out)
    return False


def _attach(paths: StorePaths, container_id: str, *, no_stdin: bool, detach_keys: str,
            sig_proxy: bool) -> int:
    from stackfile.engine import attach as engine

    keys = engine.parse_detach_keys(detach_keys)
    lines = engine.attach_output(paths, container_id)
    sink, tty = (None, False) if no_stdin else engine.open_stdin(paths, container_id)
    done = threading.Event()

    def pump() -> None:
        try:
            for line in lines:
                click.echo(line.text, err=line.stream == "stderr")
        finally:
            done.set()

    threading.Thread(target=pump, daemon=True, name="attach").start()
    stdin = sys.stdin.fileno()
    terminal = not no_stdin and os.isatty(stdin)
    forwarding = sink is not None
    saved = _terminal_mode(stdin, raw=tty and forwarding, forwarding=forwarding) if terminal else None
    try:
        return _follow(paths, container_id, stdin if terminal or sink is not None else -1, sink,
                       keys if terminal else b"", done, sig_proxy)
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        if sink is not None:
            os.close(sink)


def _follow(paths: StorePaths, container_id: str, stdin: int, sink: int | None, keys: bytes,
            done: threading.Event, sig_proxy: bool) -> int:
    """Read the input (if any) and wait for the output to end; the container's exit code, or 0
    when the detach keys came."""
    from stackfile.engine import attach as engine

    while True:
        try:
            if stdin >= 0 and _read_input(stdin, sink, keys, done):
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

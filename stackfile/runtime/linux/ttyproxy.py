"""Foreground ``-t``: copy between the caller's terminal and the container's pty master.

The caller's terminal goes raw (keys such as Ctrl-C reach the container's own tty, as with
``docker run -it``), its window size follows SIGWINCH, and everything is restored at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import termios
from collections.abc import Iterator

__all__ = ["proxy"]


def _copy_winsize(src: int, dst: int) -> None:
    try:
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, size)
    except OSError:
        pass


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def proxy(master: int, *, stdin_open: bool, stdin: int = 0, stdout: int = 1) -> None:
    """Copy until the container side of the pty is gone (EIO/EOF on ``master``)."""
    _copy_winsize(stdin if os.isatty(stdin) else stdout, master)
    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: no resize forwarding
        previous = signal.signal(signal.SIGWINCH, lambda *_: _copy_winsize(stdin, master))
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    if stdin_open:
        sel.register(stdin, selectors.EVENT_READ)
    try:
        with _raw(stdin) if stdin_open else contextlib.nullcontext():
            while True:
                for key, _ in sel.select():
                    try:
                        data = os.read(key.fd, 65536)
                    except OSError:
                        data = b""
                    if key.fd == master:
                        if not data:
                            return
                        _write_all(stdout, data)
                    elif data:
                        _write_all(master, data)
                    else:
                        sel.unregister(stdin)  # caller's stdin closed; keep reading output
    finally:
        sel.close()
        if previous is not None:
            signal.signal(signal.SIGWINCH, previous)

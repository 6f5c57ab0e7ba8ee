"""A container's file system seen from the host, for ``cp``, ``export`` and ``commit``.

A *view* is a :class:`~stackfile.runtime.linux.rootpath.Root` on one of:

- ``live``: ``/proc/<pid>/root`` of a running container, its mounts (volumes) included, as
  ``docker cp`` sees it;
- ``overlay``: the container's own overlay (image layers + its upper dir) mounted afresh in a
  private mount namespace, without any of its mounts. Read-only (the upper dir joins the lower dirs,
  no work dir), or writable (upper and work dir; only for a container that is not running).

The job runs in a forked child: the overlay mount lives and dies with the child's mount namespace
(nothing to clean up on the host, whatever kills it), and a live view needs no namespace at all. The
child reports a failure back as JSON over a pipe and the parent raises the same kind of error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from stackfile.errors import Conflict, Internal, InvalidSpec, NotFound, StackfileError
from stackfile.runtime.linux import _libc
from stackfile.runtime.linux.plan import overlay_options
from stackfile.runtime.linux.rootpath import Root

__all__ = ["Helper", "View", "run_in_view"]

_KINDS: dict[str, type[StackfileError]] = {"invalid-spec": InvalidSpec, "not-found": NotFound,
                                           "conflict": Conflict}


class View:
    """Where a view's root comes from (see the module docstring)."""

    def __init__(self, *, pid: int = 0, store_root: str = "", container_dir: str = "",
                 layers: tuple[str, ...] = (), short_links: str = "", writable: bool = False) -> None:
        self.pid = pid
        self.store_root = store_root
        self.container_dir = container_dir
        self.layers = layers  # top first
        self.short_links = short_links
        self.writable = writable

    def _hold_stopped(self) -> None:
        """Lock the container's directory as ``start`` does, for the child's life, and make sure it
        is still stopped: a start waits until the copy into its upper dir is done."""
        import fcntl

        from stackfile.runtime.linux.state import ContainerDir, process_alive

        fd = os.open(self.container_dir, os.O_RDONLY | os.O_DIRECTORY)  # kept open until the child exits
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = ContainerDir(self.container_dir).state()
        alive = process_alive(state.supervisor, state.supervisor_start)
        if state.status in ("running", "restarting") and alive:
            raise Conflict(f"container {os.path.basename(self.container_dir)[:12]} was started meanwhile",
                           hint="run the command again")

    def _mount(self) -> str:
        """Mount the overlay (in the child's own mount namespace); returns the merged directory."""
        if self.writable:
            self._hold_stopped()
        _libc.unshare(_libc.CLONE_NEWNS)
        _libc.mount(None, "/", None, _libc.MS_REC | _libc.MS_PRIVATE)
        os.chdir(self.store_root)
        merged = os.path.relpath(os.path.join(self.container_dir, "rootfs"), self.store_root)
        os.makedirs(merged, exist_ok=True)
        rel = os.path.relpath(self.container_dir, self.store_root)
        if self.writable:
            data = overlay_options(self.store_root, self.layers, f"{rel}/upper", f"{rel}/work",
                                   self.short_links)
        else:  # the upper dir as the top lower dir: a read-only overlay needs no work dir
            upper = os.path.join(self.container_dir, "upper")
            data = overlay_options(self.store_root, (upper, *self.layers), "-", "-", self.short_links)
            data = data.removesuffix(",upperdir=-,workdir=-")
        _libc.mount("overlay", merged, "overlay", 0 if self.writable else _libc.MS_RDONLY, data)
        return os.path.join(self.store_root, merged)

    def root_path(self) -> str:
        return f"/proc/{self.pid}/root" if self.pid else self._mount()


class Helper:
    """A child process running a job in a view; :meth:`wait` raises the job's error."""

    def __init__(self, view: View, job: Callable[[Root], None], close_in_child: tuple[int, ...] = ()) -> None:
        r, w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (its coverage is not collected)
            code = 0
            try:
                os.close(r)
                for fd in close_in_child:
                    os.close(fd)
                with Root(view.root_path()) as root:
                    job(root)
            except BaseException as exc:  # every failure goes back to the parent as data
                code = 1
                _report(w, exc)
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.report_fd = pid, r

    def wait(self) -> None:
        with os.fdopen(self.report_fd, "rb") as fh:
            report = fh.read()
        _, status = os.waitpid(self.pid, 0)
        if report:
            _raise(report)
        if os.waitstatus_to_exitcode(status) != 0:
            raise Internal(f"the file system helper process ended with status {status}")


def run_in_view(view: View, job: Callable[[Root], None]) -> None:
    """Run ``job(root)`` in a child process that sees ``view``; raise its error here."""
    Helper(view, job).wait()


def _report(fd: int, exc: BaseException) -> None:
    if isinstance(exc, StackfileError):
        data = {"category": exc.category.value, "message": exc.message, "hint": exc.hint}
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        data = {"category": "internal", "message": f"{exc.strerror or exc}{where}"}
    else:
        data = {"category": "internal", "message": f"{type(exc).__name__}: {exc}"}
    try:
        os.write(fd, json.dumps(data).encode())
    except OSError:
        pass


def _raise(report: bytes) -> None:
    data = json.loads(report)
    kind = _KINDS.get(data.get("category"), Internal)
    raise kind(data["message"], hint=data.get("hint"))

"""The project's only ctypes: thin wrappers over the Linux calls Python 3.11 does not expose.

Every wrapper raises :class:`OSError` with the errno and the call's arguments on failure. The
constants are the x86-64/aarch64 generic values (the ones that differ per arch are looked up).
"""

from __future__ import annotations

import ctypes
import os

__all__ = [
    "CLONE_NEWCGROUP",
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWUTS",
    "MNT_DETACH",
    "MS_BIND",
    "MS_NODEV",
    "MS_NOEXEC",
    "MS_NOSUID",
    "MS_PRIVATE",
    "MS_RDONLY",
    "MS_REC",
    "MS_REMOUNT",
    "MS_SHARED",
    "MS_SLAVE",
    "MS_STRICTATIME",
    "PR_CAPBSET_DROP",
    "PR_CAP_AMBIENT",
    "PR_CAP_AMBIENT_RAISE",
    "PR_GET_CHILD_SUBREAPER",
    "PR_SET_CHILD_SUBREAPER",
    "PR_SET_DUMPABLE",
    "PR_SET_KEEPCAPS",
    "PR_SET_NAME",
    "PR_SET_NO_NEW_PRIVS",
    "PR_SET_PDEATHSIG",
    "RESOLVE_IN_ROOT",
    "RESOLVE_NO_MAGICLINKS",
    "RESOLVE_NO_SYMLINKS",
    "capget",
    "capset",
    "get_child_subreaper",
    "mount",
    "openat2",
    "pivot_root",
    "prctl",
    "seccomp_filter",
    "set_process_title",
    "setdomainname",
    "sethostname",
    "setns",
    "umount2",
    "unshare",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2

_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine, 155)
_CAP_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(rc: int, call: str, *args: object) -> None:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{call}({', '.join(map(repr, args))}): {os.strerror(err)}")


def _b(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    """mount(2)."""
    rc = _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data))
    _check(rc, "mount", source, target, fstype, flags, data)


def umount2(target: str, flags: int = 0) -> None:
    """umount2(2)."""
    _check(_libc.umount2(_b(target), flags), "umount2", target, flags)


def unshare(flags: int) -> None:
    """unshare(2)."""
    _check(_libc.unshare(flags), "unshare", hex(flags))


def setns(fd: int, nstype: int = 0) -> None:
    """setns(2) on an open /proc/<pid>/ns/* (or bind-mounted namespace) file descriptor."""
    _check(_libc.setns(fd, nstype), "setns", fd, hex(nstype))


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2) through syscall(2) (glibc has no wrapper)."""
    rc = _libc.syscall(ctypes.c_long(_SYS_PIVOT_ROOT), _b(new_root), _b(put_old))
    _check(rc, "pivot_root", new_root, put_old)


def sethostname(name: str) -> None:
    """sethostname(2) in the caller's UTS namespace."""
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname", name)


def setdomainname(name: str) -> None:
    """setdomainname(2) in the caller's UTS namespace."""
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname", name)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2); returns the call's non-negative result."""
    rc = _libc.prctl(option, arg2, arg3, arg4, arg5)
    _check(rc, "prctl", option, arg2, arg3)
    return int(rc)


def get_child_subreaper() -> bool:
    """PR_GET_CHILD_SUBREAPER for the caller."""
    flag = ctypes.c_int(0)
    _check(_libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.addressof(flag), 0, 0, 0), "prctl", "get_subreaper")
    return bool(flag.value)


def set_process_title(title: str) -> None:
    """Overwrite the caller's argv area (``/proc/self/cmdline``) and comm with ``title``.

    Used by the reaping init inside a container so it does not show the host's command line.
    """
    with open("/proc/self/stat", "rb") as fh:
        stat = fh.read()
    fields = stat[stat.rfind(b")") + 2:].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (stat fields 48, 49)
    raw = title.encode()[: max(0, end - start - 1)]
    ctypes.memset(start, 0, end - start)
    ctypes.memmove(start, raw, len(raw))
    name = ctypes.create_string_buffer(raw.rsplit(b"/", 1)[-1][:15])
    _libc.prctl(PR_SET_NAME, ctypes.addressof(name), 0, 0, 0)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_filter(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (``struct sock_filter`` array); needs no_new_privs
    or CAP_SYS_ADMIN. PR_SET_SECCOMP with SECCOMP_MODE_FILTER."""
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    _check(_libc.prctl(22, 2, ctypes.addressof(prog), 0, 0), "prctl", "PR_SET_SECCOMP")


def capget(pid: int = 0) -> tuple[int, int, int]:
    """The (effective, permitted, inheritable) capability masks of ``pid`` (0 = the caller)."""
    header = _CapHeader(_CAP_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), "capget", pid)
    eff, prm, inh = (getattr(data[0], f) | getattr(data[1], f) << 32
                     for f in ("effective", "permitted", "inheritable"))
    return eff, prm, inh


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) for the calling thread, 64-bit masks."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in (0, 1):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.capset(ctypes.byref(header), data), "capset", hex(effective), hex(permitted))


RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_IN_ROOT = 0x10
_SYS_OPENAT2 = 437  # the same number on every architecture (the unified syscall table, Linux 5.6)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, mode: int, resolve: int) -> int:
    """openat2(2): an fd of ``path`` looked up from ``dirfd`` under the ``RESOLVE_*`` rules.

    Raises :class:`OSError` with the errno (``ENOSYS`` where the kernel predates 5.6) and the path.
    """
    how = _OpenHow(flags, mode, resolve)
    fd = _libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dirfd), _b(path), ctypes.byref(how),
                       ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)

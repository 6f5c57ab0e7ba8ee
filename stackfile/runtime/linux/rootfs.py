"""The container's filesystem, built by PID 1 inside its own mount namespace, then pivoted into.

Order: private propagation → overlay root (relative options) → /proc, /sys (and the container's
cgroups at /sys/fs/cgroup), /dev → /etc files →
user mounts → sysctls → masked and read-only paths → read-only root → pivot_root. Every mount
lives only in the container's mount namespace and vanishes with it.
"""

from __future__ import annotations

import os
import stat

from stackfile.runtime.api import Mount
from stackfile.runtime.linux import _libc as c
from stackfile.runtime.linux.plan import LaunchPlan
from stackfile.runtime.linux.securejoin import secure_join

__all__ = ["MASKED_PATHS", "READONLY_PATHS", "build_rootfs", "pivot"]

MASKED_PATHS = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

_NOSUID_NODEV_NOEXEC = c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC
_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
            ("tty", 5, 0))
_DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
              ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore"))
_OPTION_FLAGS = {"ro": c.MS_RDONLY, "nosuid": c.MS_NOSUID, "nodev": c.MS_NODEV, "noexec": c.MS_NOEXEC}
_PROPAGATION = {"private": c.MS_PRIVATE, "shared": c.MS_SHARED, "slave": c.MS_SLAVE}
_TMPFS_ALLOW = {"exec": c.MS_NOEXEC, "suid": c.MS_NOSUID, "dev": c.MS_NODEV}  # clear Docker's defaults


def _mkdir(path: str) -> str:
    os.makedirs(path, mode=0o755, exist_ok=True)
    return path


def _mount_dev(root: str, shm_size: int) -> None:
    dev = _mkdir(os.path.join(root, "dev"))
    c.mount("tmpfs", dev, "tmpfs", c.MS_NOSUID | c.MS_STRICTATIME, "mode=755,size=65536k")
    old = os.umask(0)
    try:
        for name, major, minor in _DEVICES:
            os.mknod(os.path.join(dev, name), 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        for name, target in _DEV_LINKS:
            os.symlink(target, os.path.join(dev, name))
        pts = _mkdir(os.path.join(dev, "pts"))
        c.mount("devpts", pts, "devpts", c.MS_NOSUID | c.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
        shm = _mkdir(os.path.join(dev, "shm"))
        c.mount("shm", shm, "tmpfs", _NOSUID_NODEV_NOEXEC, f"mode=1777,size={shm_size}")
        mq = _mkdir(os.path.join(dev, "mqueue"))
        c.mount("mqueue", mq, "mqueue", _NOSUID_NODEV_NOEXEC)
    finally:
        os.umask(old)


def _target(root: str, path: str, is_dir: bool) -> str:
    host = secure_join(root, path)
    if is_dir:
        _mkdir(host)
    elif not os.path.lexists(host):
        _mkdir(os.path.dirname(host))
        os.close(os.open(host, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    return host


def _flags(options: tuple[str, ...]) -> int:
    return sum(_OPTION_FLAGS.get(o, 0) for o in set(options))


def _tmpfs(root: str, m: Mount) -> None:
    """A tmpfs as Docker (runc) makes it: ``nosuid,nodev,noexec`` unless ``suid``/``dev``/``exec``
    is asked for; its root takes the mode of the directory it covers when that existed (so one
    on the working directory is 0755), else 1777; an explicit ``mode`` wins (runc >= 1.2)."""
    target = secure_join(root, m.target)
    try:
        st = os.stat(target)
        existing = stat.S_IMODE(st.st_mode) if stat.S_ISDIR(st.st_mode) else None
    except FileNotFoundError:
        existing = None
    if existing is None:
        _target(root, m.target, True)
    mode = m.tmpfs_mode if m.tmpfs_mode is not None else existing if existing is not None else 0o1777
    data = f"mode={mode:o}" + (f",size={m.tmpfs_size}" if m.tmpfs_size else "")
    allowed = sum(_TMPFS_ALLOW.get(o, 0) for o in set(m.options))
    flags = (_NOSUID_NODEV_NOEXEC & ~allowed) | _flags(m.options) | (c.MS_RDONLY if m.read_only else 0)
    c.mount("tmpfs", target, "tmpfs", flags, data)


def _user_mount(root: str, m: Mount) -> None:
    if m.type == "tmpfs":
        _tmpfs(root, m)
        return
    if not os.path.exists(m.source):
        raise FileNotFoundError(2, f"bind source path does not exist: {m.source}")
    target = _target(root, m.target, os.path.isdir(m.source))
    c.mount(m.source, target, None, c.MS_BIND | c.MS_REC)
    prop = m.propagation or "rprivate"
    c.mount(None, target, None, _PROPAGATION[prop.removeprefix("r")] | (c.MS_REC if prop[0] == "r" else 0))
    extra = _flags(m.options) | (c.MS_RDONLY if m.read_only else 0)
    if extra:
        c.mount(None, target, None, c.MS_BIND | c.MS_REMOUNT | extra)


def _mask(root: str) -> None:
    null = os.path.join(root, "dev/null")
    for path in MASKED_PATHS:
        host = os.path.join(root, path.lstrip("/"))
        if os.path.isdir(host):
            c.mount("tmpfs", host, "tmpfs", c.MS_RDONLY, "size=0")
        elif os.path.exists(host):
            c.mount(null, host, None, c.MS_BIND)
    for path in READONLY_PATHS:
        host = os.path.join(root, path.lstrip("/"))
        if os.path.exists(host):
            c.mount(host, host, None, c.MS_BIND | c.MS_REC)
            c.mount(None, host, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | _NOSUID_NODEV_NOEXEC)


def _sysctls(root: str, sysctls: dict[str, str]) -> None:
    for key in sorted(sysctls):
        with open(os.path.join(root, "proc/sys", key.replace(".", "/")), "w") as fh:
            fh.write(sysctls[key])


def _mount_cgroups(root: str, mounts: tuple[tuple[str, str], ...], read_only: bool) -> None:
    """The container's own cgroup(s) at ``/sys/fs/cgroup``, read-only unless privileged (Docker's
    view): v1 gets a tmpfs holding one bind mount per hierarchy, v2 the one directory itself."""
    base = os.path.join(root, "sys/fs/cgroup")
    if not mounts or not os.path.isdir(base):
        return
    flags = _NOSUID_NODEV_NOEXEC | (c.MS_RDONLY if read_only else 0)
    split = any(name for name, _ in mounts)
    if split:
        c.mount("tmpfs", base, "tmpfs", _NOSUID_NODEV_NOEXEC, "mode=755,size=64k")
    for name, host in mounts:
        target = os.path.join(base, name) if name else base
        if name:
            os.mkdir(target, 0o755)
        c.mount(host, target, None, c.MS_BIND)
        c.mount(None, target, None, c.MS_BIND | c.MS_REMOUNT | flags)
    if split and read_only:
        c.mount(None, base, None, c.MS_BIND | c.MS_REMOUNT | flags)


def build_rootfs(plan: LaunchPlan) -> None:
    """Mount everything under ``plan.merged`` (called by PID 1 in its new mount namespace)."""
    c.mount(None, "/", None, c.MS_REC | c.MS_PRIVATE)
    os.chdir(plan.store_root)
    root = plan.merged
    c.mount("overlay", os.path.relpath(root, plan.store_root), "overlay", 0, plan.overlay)
    c.mount("proc", _mkdir(os.path.join(root, "proc")), "proc", _NOSUID_NODEV_NOEXEC)
    sys_flags = _NOSUID_NODEV_NOEXEC | (0 if plan.privileged else c.MS_RDONLY)
    c.mount("sysfs", _mkdir(os.path.join(root, "sys")), "sysfs", sys_flags)
    _mount_cgroups(root, plan.cgroup_mounts, not plan.privileged)
    _mount_dev(root, plan.shm_size)
    for target, source in plan.etc_files:
        c.mount(source, _target(root, target, False), None, c.MS_BIND)
    if plan.cwd.strip("/"):
        _target(root, plan.cwd, True)  # as Docker: the working directory exists before the mounts
    for m in sorted(plan.mounts, key=lambda m: m.target.rstrip("/").count("/")):
        _user_mount(root, m)
    if plan.cwd.strip("/"):
        _target(root, plan.cwd, True)  # and again if a mount covered it
    _sysctls(root, dict(plan.sysctls))
    if not plan.privileged:
        _mask(root)
    if plan.read_only:
        c.mount(None, root, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY)


def pivot(plan: LaunchPlan) -> None:
    """Make ``plan.merged`` the root: pivot_root(".", ".") then detach the old root (runc's trick)."""
    os.chdir(plan.merged)
    c.pivot_root(".", ".")
    c.umount2(".", c.MNT_DETACH)
    os.chdir("/")

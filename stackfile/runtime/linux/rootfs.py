"""The container's filesystem, built by PID 1 inside its own mount namespace, then pivoted into.

Order: private propagation → overlay root (relative options) → /proc, /sys (and the container's
cgroups at /sys/fs/cgroup), /dev → /etc files →
user mounts → sysctls → masked and read-only paths → read-only root → pivot_root. Every mount
lives only in the container's mount namespace and vanishes with it.
"""

from __future__ import annotations

import errno
import os
import stat

from stackfile.runtime.api import Mount
from stackfile.runtime.linux import _libc as c
from stackfile.runtime.linux.plan import LaunchPlan
from stackfile.runtime.linux.rootpath import Root, fd_path

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


def _mount_at(root: Root, path: str, source: str | None, fstype: str | None, flags: int,
              data: str | None = None) -> None:
    """mount(2) onto container path ``path``, resolved inside the root and named by its fd
    (``/proc/self/fd/N``, as runc does), so no symlink swapped in meanwhile can move the mount."""
    _mount_fd(root.open(path, os.O_PATH), source, fstype, flags, data)


def _mount_fd(fd: int, source: str | None, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2) onto the open ``fd``, then close it."""
    try:
        c.mount(source, fd_path(fd), fstype, flags, data)
    finally:
        os.close(fd)


def _bind_self(root: Root, path: str, flags: int) -> None:
    fd = root.open(path, os.O_PATH)
    try:
        c.mount(fd_path(fd), fd_path(fd), None, flags)
    finally:
        os.close(fd)


def _mkdir(root: Root, path: str) -> int:
    return root.open_dir(path, create=True, mode=0o755)


def _mount_dev(root: Root, shm_size: int) -> None:
    flags = c.MS_NOSUID | c.MS_STRICTATIME
    _mount_fd(_mkdir(root, "/dev"), "tmpfs", "tmpfs", flags, "mode=755,size=65536k")
    dev = root.open_dir("/dev")
    old = os.umask(0)
    try:
        for name, major, minor in _DEVICES:
            os.mknod(name, 0o666 | stat.S_IFCHR, os.makedev(major, minor), dir_fd=dev)
        for name, target in _DEV_LINKS:
            os.symlink(target, name, dir_fd=dev)
        for name in ("pts", "shm", "mqueue"):
            os.mkdir(name, 0o755, dir_fd=dev)
    finally:
        os.umask(old)
        os.close(dev)
    _mount_at(root, "/dev/pts", "devpts", "devpts", c.MS_NOSUID | c.MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620")
    _mount_at(root, "/dev/shm", "shm", "tmpfs", _NOSUID_NODEV_NOEXEC, f"mode=1777,size={shm_size}")
    _mount_at(root, "/dev/mqueue", "mqueue", "mqueue", _NOSUID_NODEV_NOEXEC)


def _target(root: Root, path: str, is_dir: bool) -> int:
    """An fd of mount target ``path`` inside the root, made when missing (a directory, or an empty
    file); the mount goes onto this fd, so what was checked or made is what gets mounted on."""
    return _mkdir(root, path) if is_dir else root.touch(path)


def _flags(options: tuple[str, ...]) -> int:
    return sum(_OPTION_FLAGS.get(o, 0) for o in set(options))


def _tmpfs(root: Root, m: Mount) -> None:
    """A tmpfs as Docker (runc) makes it: ``nosuid,nodev,noexec`` unless ``suid``/``dev``/``exec``
    is asked for; its root takes the mode of the directory it covers when that existed (so one
    on the working directory is 0755), else 1777; an explicit ``mode`` wins (runc >= 1.2)."""
    try:
        fd = root.open(m.target, os.O_PATH)
        st = os.fstat(fd)
        existing = stat.S_IMODE(st.st_mode) if stat.S_ISDIR(st.st_mode) else None
    except FileNotFoundError:
        fd, existing = -1, None
    if existing is None:
        if fd >= 0:
            os.close(fd)
        fd = _target(root, m.target, True)
    mode = m.tmpfs_mode if m.tmpfs_mode is not None else existing if existing is not None else 0o1777
    data = f"mode={mode:o}" + (f",size={m.tmpfs_size}" if m.tmpfs_size else "")
    allowed = sum(_TMPFS_ALLOW.get(o, 0) for o in set(m.options))
    flags = (_NOSUID_NODEV_NOEXEC & ~allowed) | _flags(m.options) | (c.MS_RDONLY if m.read_only else 0)
    _mount_fd(fd, "tmpfs", "tmpfs", flags, data)


def _user_mount(root: Root, m: Mount) -> None:
    if m.type == "tmpfs":
        _tmpfs(root, m)
        return
    src_fd = _source(m)
    try:
        source = os.fstat(src_fd)
        target = _target(root, m.target, stat.S_ISDIR(source.st_mode))
        _mount_fd(target, fd_path(src_fd), None, c.MS_BIND | c.MS_REC)
    finally:
        os.close(src_fd)
    # the target now resolves to the new mount (checked: it is the source's root), propagation and
    # flags are set on it; a link swapped in since cannot send a read-only remount elsewhere
    prop = m.propagation or "rprivate"
    flags = _PROPAGATION[prop.removeprefix("r")] | (c.MS_REC if prop[0] == "r" else 0)
    _mount_fd(_reopen_mounted(root, m.target, source), None, None, flags)
    extra = _flags(m.options) | (c.MS_RDONLY if m.read_only else 0)
    if extra:
        _mount_fd(_reopen_mounted(root, m.target, source), None, None, c.MS_BIND | c.MS_REMOUNT | extra)


def _source(m: Mount) -> int:
    """An O_PATH fd of the mount's source; a volume ``subpath`` is resolved inside the volume."""
    try:
        if not m.subpath:
            return os.open(m.source, os.O_PATH | os.O_CLOEXEC)
        with Root(m.source) as volume:
            return volume.open(m.subpath, os.O_PATH | os.O_DIRECTORY)
    except FileNotFoundError:
        where = f"{m.source} (subpath {m.subpath})" if m.subpath else m.source
        raise FileNotFoundError(2, f"bind source path does not exist: {where}") from None


def _reopen_mounted(root: Root, path: str, source: os.stat_result) -> int:
    fd = root.open(path, os.O_PATH)
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (source.st_dev, source.st_ino):
        os.close(fd)
        raise OSError(errno.EXDEV, f"mount target {path} changed while it was being mounted")
    return fd


def _mask(root: Root) -> None:
    for path in MASKED_PATHS:
        try:
            fd = root.open(path, os.O_PATH | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                c.mount("tmpfs", fd_path(fd), "tmpfs", c.MS_RDONLY, "size=0")
            else:
                _mount_null(root, fd)
        finally:
            os.close(fd)
    for path in READONLY_PATHS:
        try:
            os.close(root.open(path, os.O_PATH | os.O_NOFOLLOW))
        except OSError:
            continue
        _bind_self(root, path, c.MS_BIND | c.MS_REC)
        _mount_at(root, path, None, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | _NOSUID_NODEV_NOEXEC)


def _mount_null(root: Root, fd: int) -> None:
    null = root.open("/dev/null", os.O_PATH | os.O_NOFOLLOW)
    try:
        c.mount(fd_path(null), fd_path(fd), None, c.MS_BIND)
    finally:
        os.close(null)


def _sysctls(root: Root, sysctls: dict[str, str]) -> None:
    for key in sorted(sysctls):
        fd = root.open("/proc/sys/" + key.replace(".", "/"), os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, sysctls[key].encode())
        finally:
            os.close(fd)


def _mount_cgroups(root: Root, mounts: tuple[tuple[str, str], ...], read_only: bool) -> None:
    """The container's own cgroup(s) at ``/sys/fs/cgroup``, read-only unless privileged (Docker's
    view): v1 gets a tmpfs holding one bind mount per hierarchy, v2 the one directory itself."""
    if not mounts:
        return
    try:
        os.close(root.open_dir("/sys/fs/cgroup"))
    except OSError:
        return
    flags = _NOSUID_NODEV_NOEXEC | (c.MS_RDONLY if read_only else 0)
    split = any(name for name, _ in mounts)
    if split:
        _mount_at(root, "/sys/fs/cgroup", "tmpfs", "tmpfs", _NOSUID_NODEV_NOEXEC, "mode=755,size=64k")
    for name, host in mounts:
        target = f"/sys/fs/cgroup/{name}" if name else "/sys/fs/cgroup"
        if name:
            os.close(root.open_dir(target, create=True, mode=0o755))
        _mount_at(root, target, host, None, c.MS_BIND)
        _mount_at(root, target, None, None, c.MS_BIND | c.MS_REMOUNT | flags)
    if split and read_only:
        _mount_at(root, "/sys/fs/cgroup", None, None, c.MS_BIND | c.MS_REMOUNT | flags)


def build_rootfs(plan: LaunchPlan) -> None:
    """Mount everything under ``plan.merged`` (called by PID 1 in its new mount namespace).

    Every path below the root is resolved inside it (:mod:`rootpath`), so the image's symlinks
    (``/proc -> /``, ``/etc -> /host``) and a container sharing a volume cannot aim a mount or a
    new file at the host."""
    c.mount(None, "/", None, c.MS_REC | c.MS_PRIVATE)
    os.chdir(plan.store_root)
    c.mount("overlay", os.path.relpath(plan.merged, plan.store_root), "overlay", 0, plan.overlay)
    with Root(plan.merged) as root:
        _mount_fd(_mkdir(root, "/proc"), "proc", "proc", _NOSUID_NODEV_NOEXEC)
        sys_flags = _NOSUID_NODEV_NOEXEC | (0 if plan.privileged else c.MS_RDONLY)
        _mount_fd(_mkdir(root, "/sys"), "sysfs", "sysfs", sys_flags)
        _mount_cgroups(root, plan.cgroup_mounts, not plan.privileged)
        _mount_dev(root, plan.shm_size)
        for target, source in plan.etc_files:
            _mount_fd(_target(root, target, False), source, None, c.MS_BIND)
        if plan.cwd.strip("/"):
            os.close(_target(root, plan.cwd, True))  # as Docker: the workdir exists before the mounts
        for m in sorted(plan.mounts, key=lambda m: m.target.rstrip("/").count("/")):
            _user_mount(root, m)
        if plan.cwd.strip("/"):
            os.close(_target(root, plan.cwd, True))  # and again if a mount covered it
        _sysctls(root, dict(plan.sysctls))
        if not plan.privileged:
            _mask(root)
    if plan.read_only:
        c.mount(None, plan.merged, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY)


def pivot(plan: LaunchPlan) -> None:
    """Make ``plan.merged`` the root: pivot_root(".", ".") then detach the old root (runc's trick)."""
    os.chdir(plan.merged)
    c.pivot_root(".", ".")
    c.umount2(".", c.MNT_DETACH)
    os.chdir("/")

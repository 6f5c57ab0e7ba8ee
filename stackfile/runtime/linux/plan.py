"""LaunchPlan: everything PID 1 needs, resolved on the host side before anything forks.

Resolving first (user names, capability sets, overlay options, sysctl validity) means bad input is
refused before a process, mount or cgroup exists.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping

from stackfile.errors import InvalidSpec
from stackfile.record import Record
from stackfile.runtime.api import ContainerSpec, Mount
from stackfile.runtime.linux.caps import CapSets, cap_sets, parse_caps
from stackfile.runtime.linux.seccomp import default_filter
from stackfile.runtime.linux.users import Identity, read_etc_file, resolve_user

__all__ = ["DEFAULT_PATH", "LaunchPlan", "container_env", "make_plan", "overlay_options", "seccomp_for",
           "ulimits_for"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_OPTION_LIMIT = 4000
_ULIMITS = {name[len("RLIMIT_"):].lower(): getattr(resource, name)
            for name in dir(resource) if name.startswith("RLIMIT_")}
_NS_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
               "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


class LaunchPlan(Record):
    """Resolved instructions for one start of a container (a record: cheap to define, and
    this module is on the ``container run`` path)."""

    store_root: str
    overlay: str  # overlay mount data, paths relative to store_root
    merged: str  # absolute host path of the (empty) mount point
    hostname: str
    domainname: str
    identity: Identity
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str
    caps: CapSets
    mounts: tuple[Mount, ...] = ()
    etc_files: tuple[tuple[str, str], ...] = ()  # (container path, host file)
    new_net: bool = True
    join_net: str = ""  # namespace file to setns into
    privileged: bool = False
    read_only: bool = False
    no_new_privs: bool = True
    init: bool = False
    sysctls: Mapping[str, str] = {}  # shared default, never mutated
    ulimits: tuple[tuple[int, int, int], ...] = ()  # (RLIMIT_*, soft, hard)
    shm_size: int = 64 << 20
    cgroup_procs: tuple[str, ...] = ()  # the supervisor writes PID 1's pid here (cgroup v2)
    cgroup_join: tuple[str, ...] = ()  # PID 1 writes 0 here first thing (cgroup v1 tasks: no global lock)
    cgroup_mounts: tuple[tuple[str, str], ...] = ()  # (path below /sys/fs/cgroup, host cgroup dir)
    console: bool = False  # a pty made inside the container (its devpts) is PID 1's stdio and ctty
    seccomp: bytes | None = None  # BPF program installed last before exec


def overlay_options(store_root: str, layers: tuple[str, ...], upper: str, work: str,
                    short_links: str) -> str:
    """``lowerdir=..,upperdir=..,workdir=..`` relative to ``store_root`` (one page at most).

    Relative paths keep host paths out of mountinfo; past the page limit each layer gets a
    short symlink under ``l/`` (as Docker's overlay2 does).
    """
    rel = [os.path.relpath(p, store_root) for p in layers]
    for p in (*rel, upper, work):
        if any(c in p for c in ",:\\"):
            raise InvalidSpec(f"overlay path {p!r} contains ',', ':' or '\\'")
    data = f"lowerdir={':'.join(rel)},upperdir={upper},workdir={work}"
    if len(data) <= _OPTION_LIMIT:
        return data
    os.makedirs(short_links, exist_ok=True)
    import hashlib

    short = []
    for layer in layers:
        name = hashlib.sha256(layer.encode()).hexdigest()[:12]
        link = os.path.join(short_links, name)
        if not os.path.islink(link):
            os.symlink(os.path.relpath(layer, short_links), link)
        short.append(os.path.relpath(link, store_root))
    return f"lowerdir={':'.join(short)},upperdir={upper},workdir={work}"


def container_env(spec: ContainerSpec, hostname: str, home: str) -> dict[str, str]:
    """Docker's environment: PATH default, HOSTNAME, HOME, TERM for a tty, then the spec's."""
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": home}
    if spec.process.tty:
        env["TERM"] = "xterm"
    env.update(spec.process.env)
    return env


def _check_sysctls(sysctls: Mapping[str, str], host_net: bool) -> None:
    for key in sorted(sysctls):
        namespaced = key in _NS_SYSCTLS or key.startswith("fs.mqueue.") or (
            key.startswith("net.") and not host_net)
        if not namespaced:
            raise InvalidSpec(f"sysctl {key!r} is not allowed in a container",
                              hint="only namespaced sysctls: net.* (not with host networking), "
                                   "kernel.shm*/msg*/sem, fs.mqueue.*")


def ulimits_for(spec: ContainerSpec) -> tuple[tuple[int, int, int], ...]:
    """The spec's ``ulimits`` as sorted (RLIMIT_*, soft, hard); :class:`InvalidSpec` if one is bad.
    PID 1 and every ``exec`` session get them (Docker's)."""
    out = []
    for name in sorted(spec.ulimits):
        soft, hard = spec.ulimits[name]
        if name not in _ULIMITS:
            raise InvalidSpec(f"unknown ulimit {name!r}", hint=f"one of {', '.join(sorted(_ULIMITS))}")
        if soft > hard:
            raise InvalidSpec(f"ulimit {name}: soft limit {soft} is above the hard limit {hard}")
        out.append((_ULIMITS[name], soft, hard))
    return tuple(out)


def make_plan(spec: ContainerSpec, *, store_root: str, cdir: str, container_id: str, hostname: str,
              etc_roots: tuple[str, ...], short_links: str) -> LaunchPlan:
    """Resolve ``spec`` for a start: refuses a bad user, workdir, sysctl, ulimit or capability."""
    proc = spec.process
    if not proc.argv:
        raise InvalidSpec("no command to run", hint="give a command, or use an image with Cmd/Entrypoint")
    if proc.cwd and not proc.cwd.startswith("/"):
        raise InvalidSpec(f"the working directory {proc.cwd!r} is not an absolute path")
    identity = resolve_user(proc.user, read_etc_file(etc_roots, "passwd"), read_etc_file(etc_roots, "group"),
                            proc.additional_groups)
    host_net = spec.network.mode == "host"
    _check_sysctls(spec.sysctls, host_net)
    rel = os.path.relpath(cdir, store_root)
    layers = spec.layers or (os.path.join(cdir, "empty"),)
    return LaunchPlan(
        store_root=store_root,
        overlay=overlay_options(store_root, layers, f"{rel}/upper", f"{rel}/work", short_links),
        merged=os.path.join(cdir, "rootfs"),
        hostname=hostname,
        domainname=spec.domainname,
        identity=identity,
        argv=proc.argv,
        env=container_env(spec, hostname, identity.home),
        cwd=proc.cwd or "/",
        caps=cap_sets(spec.cap_add, spec.cap_drop, privileged=spec.privileged, root=identity.uid == 0),
        mounts=spec.mounts,
        etc_files=tuple((f"/etc/{n}", os.path.join(cdir, n)) for n in ("hostname", "hosts", "resolv.conf")),
        new_net=spec.network.mode == "none",
        privileged=spec.privileged,
        read_only=spec.read_only,
        no_new_privs=not spec.privileged,
        init=spec.init,
        sysctls=dict(spec.sysctls),
        ulimits=ulimits_for(spec),
        shm_size=spec.shm_size or 64 << 20,
        console=proc.tty,
        seccomp=seccomp_for(spec),
    )


def seccomp_for(spec: ContainerSpec) -> bytes | None:
    """The default filter unless privileged or unconfined; mounts, namespaces and the other
    CAP_SYS_ADMIN calls allowed with CAP_SYS_ADMIN (as Docker's profile)."""
    if spec.privileged or not spec.seccomp:
        return None
    admin = "SYS_ADMIN" in parse_caps(spec.cap_add, "cap_add") - parse_caps(spec.cap_drop, "cap_drop")
    return default_filter(admin=admin)

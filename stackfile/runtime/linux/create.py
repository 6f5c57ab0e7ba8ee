"""Create and delete a container's directory: name reservation, overlay dirs, /etc files, config."""

from __future__ import annotations

import os

from stackfile.errors import Conflict, InvalidSpec
from stackfile.runtime.api import ContainerSpec
from stackfile.runtime.linux import _libc
from stackfile.runtime.linux.journal import container_event
from stackfile.runtime.linux.plan import make_plan
from stackfile.runtime.linux.process import parse_signal
from stackfile.runtime.linux.refs import NAMES_DIR, check_name, resolve_ref
from stackfile.runtime.linux.specjson import spec_to_dict
from stackfile.runtime.linux.state import ContainerDir, now_rfc3339, touch
from stackfile.store.paths import StorePaths

__all__ = ["REMOVING_PREFIX", "create_container", "default_hosts", "default_resolv_conf", "delete_tree",
           "remove_dirs", "reserve_name"]

_PROPAGATIONS = ("", "private", "rprivate", "shared", "rshared", "slave", "rslave")


def default_hosts(hostname: str, host_network: bool) -> str:
    """``/etc/hosts`` when the spec gives none: the host's for host networking, else localhost."""
    if host_network:
        try:
            with open("/etc/hosts") as fh:
                return fh.read()
        except OSError:
            pass
    return (f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            f"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
            f"ff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n")


def default_resolv_conf(host_network: bool) -> str:
    """The host's resolv.conf; without host networking loopback nameservers are dropped."""
    try:
        with open("/etc/resolv.conf") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return ""
    if not host_network:
        lines = [ln for ln in lines if not (ln.split()[:1] == ["nameserver"] and
                                            ln.split()[1:2] and ln.split()[1].startswith(("127.", "::1")))]
    return "\n".join(lines) + "\n" if lines else ""


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _as_peer(paths: StorePaths, spec: ContainerSpec) -> ContainerSpec:
    """A container in another's network namespace takes that container's hostname, domain name,
    /etc/hosts and /etc/resolv.conf (Docker's rule), unless the spec gives its own."""
    peer = ContainerDir(paths.container_str(resolve_ref(paths.containers_str, spec.network.container_id)))
    config = peer.config()
    return spec._replace(
        hostname=spec.hostname or str(config.get("hostname") or ""),
        domainname=spec.domainname or str((config.get("spec") or {}).get("domainname") or ""),
        etc_hosts=spec.etc_hosts if spec.etc_hosts is not None else _read(peer.sub("hosts")),
        resolv_conf=spec.resolv_conf if spec.resolv_conf is not None else _read(peer.sub("resolv.conf")))


def _check_mounts(spec: ContainerSpec) -> None:
    for i, m in enumerate(spec.mounts):
        where = f"mounts[{i}] ({m.target})"
        if m.type not in ("bind", "volume", "tmpfs"):
            raise InvalidSpec(f"{where}: unknown mount type {m.type!r}", hint="bind, volume or tmpfs")
        if not m.target.startswith("/") or m.target.rstrip("/") == "":
            raise InvalidSpec(f"{where}: the target must be an absolute path other than /")
        if m.type != "tmpfs" and not m.source.startswith("/"):
            raise InvalidSpec(f"{where}: the source {m.source!r} must be an absolute host path")
        if m.propagation not in _PROPAGATIONS:
            raise InvalidSpec(f"{where}: unknown propagation {m.propagation!r}",
                              hint=", ".join(_PROPAGATIONS[1:]))


def reserve_name(names: str, name: str, cid: str, containers: str) -> None:
    """Take ``name`` for ``cid`` (whose config.json is already written), atomically across processes.

    A name whose owner has no config.json was left by a crash (a container's config is written
    before its name is taken, and its name is dropped before its directory): it is taken over,
    under a lock so that of two processes taking over the same name one wins and one conflicts."""
    link = os.path.join(names, name)
    try:
        os.symlink(cid, link)
        return
    except FileExistsError:
        pass
    import fcntl

    fd = os.open(os.path.join(names, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            owner = os.readlink(link)
        except FileNotFoundError:
            owner = ""
        if owner and os.path.exists(os.path.join(containers, owner, "config.json")):
            raise Conflict(f"the container name {name!r} is already in use by container {owner[:12]}",
                           hint="remove that container, or choose another name")
        if owner:
            os.unlink(link)  # left by a crash: take it over
        os.symlink(cid, link)
    finally:
        os.close(fd)


def create_container(paths: StorePaths, spec: ContainerSpec, *, image: str = "",
                     container_id: str = "") -> str:
    """Validate ``spec`` (user, caps, sysctls, mounts) and write ``containers/<id>/``; returns the
    id (``container_id`` if given)."""
    if container_id and not (len(container_id) == 64 and all(c in "0123456789abcdef" for c in container_id)):
        raise InvalidSpec(f"invalid container id {container_id!r}", hint="64 lower-case hex digits")
    cid = container_id or os.urandom(32).hex()
    name = spec.name or f"c-{cid[:12]}"
    check_name(name)
    _check_mounts(spec)
    parse_signal(spec.stop_signal)
    host_net = spec.network.mode == "host"
    if spec.network.mode == "path" and not spec.network.netns_path:
        raise InvalidSpec("network mode 'path' needs a netns_path")
    if spec.network.mode == "container" and not spec.hostname:
        spec = _as_peer(paths, spec)
    hostname = spec.hostname or (os.uname().nodename if host_net else cid[:12])
    cdir = ContainerDir(paths.container_str(cid))
    make_plan(spec, store_root=paths.root_str, cdir=cdir.path, container_id=cid, hostname=hostname,
              etc_roots=spec.layers, short_links=paths.short_links_str)
    names = os.path.join(paths.containers_str, NAMES_DIR)
    os.makedirs(names, mode=0o700, exist_ok=True)
    try:
        for sub in ("upper", "work", "rootfs", *(() if spec.layers else ("empty",))):
            os.makedirs(cdir.sub(sub), mode=0o755)
        os.chmod(cdir.path, 0o711)
        _write_text(cdir.sub("hostname"), hostname + "\n")
        _write_text(cdir.sub("hosts"), spec.etc_hosts if spec.etc_hosts is not None
                    else default_hosts(hostname, host_net))
        _write_text(cdir.sub("resolv.conf"), spec.resolv_conf if spec.resolv_conf is not None
                    else default_resolv_conf(host_net))
        touch(cdir.sub("log.json"), mode=0o640)
        config = {"id": cid, "name": name, "image": image, "created_at": now_rfc3339(),
                  "hostname": hostname, "spec": {**spec_to_dict(spec), "name": name}}
        cdir.write_config(config)
        reserve_name(names, name, cid, paths.containers_str)  # last: a named container is complete
    except BaseException:
        remove_dirs(paths, cdir, name)
        raise
    container_event(paths.root_str, "create", cid, config)
    return cid


def _write_text(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _unmount_under(path: str) -> None:
    try:
        with open("/proc/self/mountinfo") as fh:
            points = [line.split()[4] for line in fh]
    except OSError:
        return
    for point in sorted((p for p in points if p == path or p.startswith(path + "/")), key=len, reverse=True):
        try:
            _libc.umount2(point, _libc.MNT_DETACH)
        except OSError:
            pass


REMOVING_PREFIX = ".removing-"  # a container directory being deleted


def remove_dirs(paths: StorePaths, cdir: ContainerDir, name: str | None = None) -> None:
    """Delete the container's directory and its name (only if the name still points to it)."""
    if name is None:
        try:
            name = str(cdir.config()["name"])
        except (OSError, ValueError, KeyError):
            name = None
    if name:
        link = os.path.join(paths.containers_str, NAMES_DIR, name)
        try:
            if os.readlink(link) == cdir.id:
                os.unlink(link)
        except OSError:
            pass
    _unmount_under(cdir.path)
    # one rename first: a kill during the deletion leaves a hidden leftover (which runtime listings
    # skip and `system check --repair` removes), never a container whose config outlived its rootfs
    trash = os.path.join(paths.containers_str, REMOVING_PREFIX + cdir.id)
    _rmtree(trash)  # what an earlier, killed removal of this id left
    try:
        os.rename(cdir.path, trash)
    except FileNotFoundError:
        return
    except OSError:
        trash = cdir.path
    _rmtree(trash)


def delete_tree(path: str) -> None:
    """Unmount what is mounted under ``path``, then delete it (without following symlinks)."""
    _unmount_under(path)
    _rmtree(path)


def _rmtree(path: str) -> None:
    """Delete a tree without following symlinks (shutil would pull in bz2/lzma on the run path)."""
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        os.unlink(path)
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)  # the directory entry's type: no lstat
            _rmtree(entry.path) if is_dir else os.unlink(entry.path)
        except FileNotFoundError:
            pass
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass

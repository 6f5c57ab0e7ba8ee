"""Volumes: named and anonymous volumes in the store, bind mounts, tmpfs, and ``volumes_from``.

A named volume is the directory ``StorePaths.volume(name)/_data`` plus a row in the store
database (component ``volumes``). On first use it is filled with what the image has at the mount
point, as Docker does (``volume.nocopy`` turns that off). The containers using a volume are
recorded (:meth:`VolumeManager.use` / :meth:`VolumeManager.release`) so ``rm`` and ``prune``
never remove a volume in use.

:meth:`VolumeManager.mounts_for` turns a service's canonical Compose ``volumes:`` entries (long
syntax; ``spec.model.ServiceVolume`` or plain dicts) into ``runtime.api.Mount`` objects.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import posixpath
import shutil
import sqlite3
import stat
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from stackfile.errors import Conflict, InvalidSpec, Location, NotFound, PermissionDenied
from stackfile.runtime.api import TMPFS_OPTIONS_HINT, Mount, split_tmpfs_options
from stackfile.store import journal
from stackfile.store.db import connect, ensure_schema
from stackfile.store.paths import StorePaths

__all__ = ["VolumeConfig", "VolumeManager", "VolumeRecord", "inherit_mounts", "volume_config"]

MIGRATIONS = [
    """
    CREATE TABLE volumes (
        name       TEXT PRIMARY KEY,
        driver     TEXT NOT NULL,
        project    TEXT NOT NULL,
        labels     TEXT NOT NULL,
        options    TEXT NOT NULL,
        anonymous  INTEGER NOT NULL,
        populated  INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE volume_refs (
        volume    TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE,
        container TEXT NOT NULL,
        PRIMARY KEY (volume, container)
    )
    """,
]

ANONYMOUS_LABEL = "com.docker.volume.anonymous"


_EMPTY: Mapping[str, str] = MappingProxyType({})


class VolumeConfig(NamedTuple):
    """A volume as the stack file declares it; ``name`` is the real (project-prefixed) name.
    (NamedTuples, not dataclasses: these are defined on every ``up``, and a dataclass costs more.)"""

    name: str
    project: str = ""
    driver: str = "local"
    driver_opts: Mapping[str, str] = _EMPTY
    labels: Mapping[str, str] = _EMPTY
    external: bool = False


class VolumeRecord(NamedTuple):
    """A volume that exists; ``mountpoint`` is its host data directory."""

    name: str
    driver: str
    project: str
    mountpoint: str
    labels: Mapping[str, str]
    options: Mapping[str, str]
    anonymous: bool
    created_at: str
    users: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "Driver": self.driver, "Project": self.project,
                "Mountpoint": self.mountpoint, "Labels": dict(sorted(self.labels.items())),
                "Options": dict(sorted(self.options.items())), "Anonymous": self.anonymous,
                "CreatedAt": self.created_at, "UsedBy": list(self.users)}


def volume_config(key: str, declared: Any, project: str) -> VolumeConfig:
    """The :class:`VolumeConfig` of top-level ``volumes.<key>`` (a ``spec.model.Volume``, a dict or None)."""
    name = _get(declared, "name") or (key if _get(declared, "external") else f"{project}_{key}")
    return VolumeConfig(name=name, project=project, driver=_get(declared, "driver") or "local",
                        driver_opts={k: str(v) for k, v in (_get(declared, "driver_opts") or {}).items()},
                        labels=dict(_get(declared, "labels") or {}),
                        external=bool(_get(declared, "external")))


def inherit_mounts(mounts: Sequence[Mount], mode: str = "") -> list[Mount]:
    """``volumes_from``: another container's mounts, read-only when ``mode`` is ``ro``."""
    if mode not in ("", "rw", "ro"):
        raise InvalidSpec(f"invalid volumes_from mode {mode!r}", hint="ro or rw")
    return [m._replace(read_only=m.read_only or mode == "ro") for m in mounts if m.type != "tmpfs"]


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VolumeManager:
    """Volumes of one store root."""

    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    @property
    def conn(self) -> sqlite3.Connection:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        conn = connect(self.paths.db)
        ensure_schema(conn, "volumes", MIGRATIONS)
        return conn

    def data_dir(self, name: str) -> Path:
        return self.paths.volume(name) / "_data"

    # ------------------------------------------------------------------ records
    def _record(self, row: sqlite3.Row) -> VolumeRecord:
        users = tuple(r[0] for r in self.conn.execute(
            "SELECT container FROM volume_refs WHERE volume = ? ORDER BY container", (row["name"],)))
        options = json.loads(row["options"])
        mountpoint = options.get("device") if options.get("o") == "bind" else None
        return VolumeRecord(
            name=row["name"], driver=row["driver"], project=row["project"],
            mountpoint=mountpoint or str(self.data_dir(row["name"])), labels=json.loads(row["labels"]),
            options=options, anonymous=bool(row["anonymous"]), created_at=row["created_at"], users=users)

    def get(self, name: str) -> VolumeRecord | None:
        row = self.conn.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
        return self._record(row) if row else None

    def inspect(self, name: str) -> VolumeRecord:
        found = self.get(name)
        if found is None:
            raise NotFound(f"volume {name!r} not found", hint="stackfile volume ls lists volumes")
        return found

    def list_volumes(self, project: str | None = None) -> list[VolumeRecord]:
        """All volumes (of ``project`` when given), sorted by name."""
        rows = self.conn.execute("SELECT * FROM volumes ORDER BY name").fetchall()
        return [self._record(r) for r in rows if project is None or r["project"] == project]

    # ------------------------------------------------------------------ lifecycle
    def ensure(self, cfg: VolumeConfig, *, anonymous: bool = False) -> VolumeRecord:
        """The volume ``cfg.name``, created if missing (``external`` volumes must exist)."""
        existing = self.get(cfg.name)
        if existing is not None:
            return existing
        if cfg.external:
            raise NotFound(f"external volume {cfg.name!r} not found",
                           location=Location(key_path=f"volumes.{cfg.name}.external"),
                           hint=f"create it first: stackfile volume create {cfg.name}")
        options = self._check_options(cfg)
        _check_name(cfg.name)
        labels = dict(cfg.labels) | ({ANONYMOUS_LABEL: ""} if anonymous else {})
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR IGNORE INTO volumes(name, driver, project, labels, options, anonymous, "
                "created_at) VALUES (?,?,?,?,?,?,?)",
                (cfg.name, cfg.driver or "local", cfg.project, json.dumps(labels, sort_keys=True),
                 json.dumps(options, sort_keys=True), int(anonymous), _now()))
            self.data_dir(cfg.name).mkdir(parents=True, exist_ok=True, mode=0o755)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        journal.record(self.paths.root_str, "volume", "create", cfg.name, {"driver": cfg.driver or "local"})
        return self.inspect(cfg.name)

    def create(self, name: str | VolumeConfig, *, project: str = "", labels: Mapping[str, str] | None = None,
               driver: str = "local", driver_opts: Mapping[str, str] | None = None) -> VolumeRecord:
        """``volume create``: :meth:`ensure` with the fields given one by one (idempotent)."""
        cfg = name if isinstance(name, VolumeConfig) else VolumeConfig(
            name=name, project=project, driver=driver, driver_opts=dict(driver_opts or {}),
            labels=dict(labels or {}))
        return self.ensure(cfg)

    def _check_options(self, cfg: VolumeConfig) -> dict[str, str]:
        where = Location(key_path=f"volumes.{cfg.name}.driver_opts")
        if (cfg.driver or "local") != "local":
            raise InvalidSpec(f"volume {cfg.name!r}: driver {cfg.driver!r} is not supported",
                              location=Location(key_path=f"volumes.{cfg.name}.driver"), hint="local")
        opts = {k: str(v) for k, v in cfg.driver_opts.items()}
        if not opts:
            return opts
        if opts.get("o") == "bind" and opts.get("type", "none") == "none" and opts.get("device"):
            if not os.path.isdir(opts["device"]):
                raise NotFound(f"volume {cfg.name!r}: device {opts['device']} does not exist", location=where)
            return opts
        raise InvalidSpec(f"volume {cfg.name!r}: unsupported driver_opts {opts}", location=where,
                          hint="type: none, o: bind, device: /host/dir (or no driver_opts)")

    def remove(self, name: str, *, force: bool = False) -> None:
        """Remove a volume and its data; ``Conflict`` while a container uses it (unless ``force``)."""
        rec = self.inspect(name)
        if rec.users and not force:
            raise Conflict(f"volume {name!r} is in use by {len(rec.users)} container(s)",
                           detail="\n".join(u[:12] for u in rec.users), hint="remove those containers first")
        with self.conn as conn:
            conn.execute("DELETE FROM volumes WHERE name = ?", (name,))
        shutil.rmtree(self.paths.volume(name), ignore_errors=True)
        journal.record(self.paths.root_str, "volume", "destroy", name, {"driver": rec.driver or "local"})

    def prune(self, *, all: bool = False, project: str | None = None) -> list[str]:
        """Remove unused anonymous volumes (every unused volume with ``all``); returns their names."""
        gone = [v.name for v in self.list_volumes(project) if not v.users and (all or v.anonymous)]
        for name in gone:
            self.remove(name)
        return gone

    def use(self, name: str, container: str) -> None:
        """Record that ``container`` mounts volume ``name``."""
        with self.conn as conn:
            added = conn.execute("INSERT OR IGNORE INTO volume_refs(volume, container) VALUES (?, ?)",
                                 (name, container)).rowcount
        if added:
            journal.record(self.paths.root_str, "volume", "mount", name, {"container": container})

    def rename_user(self, old: str, new: str) -> None:
        """The container ``old`` is called ``new`` now (``container rename``): its uses follow."""
        with self.conn as conn:
            conn.execute("UPDATE OR IGNORE volume_refs SET container = ? WHERE container = ?", (new, old))

    def release(self, container: str, *, remove_anonymous: bool = True) -> list[str]:
        """Forget ``container``'s uses; removes its anonymous volumes no one else uses. Returns those."""
        names = [r[0] for r in self.conn.execute("SELECT volume FROM volume_refs WHERE container = ?",
                                                 (container,))]
        with self.conn as conn:
            conn.execute("DELETE FROM volume_refs WHERE container = ?", (container,))
        removed = []
        for name in names:
            rec = self.get(name)
            if rec is not None and rec.anonymous and not rec.users and remove_anonymous:
                self.remove(name)
                removed.append(name)
        return removed

    # ------------------------------------------------------------------ first use
    def populate(self, name: str, layers: Sequence[str], target: str) -> bool:
        """Copy the image's content at ``target`` (layers top first) into a new, empty volume, once."""
        row = self.conn.execute("SELECT populated FROM volumes WHERE name = ?", (name,)).fetchone()
        if row is None or row[0]:
            return False
        dest = Path(self.inspect(name).mountpoint)
        copied = False
        if not any(dest.iterdir()):
            copied = self._fill(dest, layers, target)
        with self.conn as conn:
            conn.execute("UPDATE volumes SET populated = 1 WHERE name = ?", (name,))
        return copied

    def _fill(self, dest: Path, layers: Sequence[str], target: str) -> bool:
        """Copy into a staging directory beside ``dest``, then rename it over the empty ``dest``
        (atomic): a fill killed half-way leaves an empty volume and a staging directory of a dead
        process, removed by the next fill, never a half-filled volume taken as filled."""
        from stackfile.store.owner import alive, owner_of, token

        for stale in dest.parent.glob(".fill-*"):
            owner = owner_of(stale.name[1:])
            if owner is None or not alive(owner):
                shutil.rmtree(stale, ignore_errors=True)
        staging = dest.parent / f".fill-{token()}-{os.urandom(4).hex()}"
        staging.mkdir(mode=dest.stat().st_mode & 0o7777)
        try:
            copied = False
            for layer in reversed(layers):
                copied |= _overlay_copy(Path(layer), target, staging)
            os.rename(staging, dest)  # replaces the empty directory; ENOTEMPTY if filled meanwhile
            return copied
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            return False
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # ------------------------------------------------------------------ service mounts
    def mounts_for(
        self,
        service: str,
        entries: Sequence[Any],
        *,
        project: str,
        container: str,
        declared: Mapping[str, Any] | None = None,
        project_dir: str | os.PathLike[str] = ".",
        image_layers: Sequence[str] = (),
    ) -> list[Mount]:
        """Mounts of one container of ``service`` from its canonical ``volumes:`` entries.

        ``declared`` is the top-level ``volumes:`` section (key → model/dict). Named and
        anonymous volumes are created, populated from ``image_layers`` on first use, and
        recorded as used by ``container``.
        """
        mounts = []
        for i, entry in enumerate(entries):
            where = Location(key_path=f"services.{service}.volumes[{i}]")
            mounts.append(self._mount(service, entry, where, project, container, declared or {},
                                      Path(project_dir), image_layers))
        targets = [m.target for m in mounts]
        dup = next((t for t in targets if targets.count(t) > 1), None)
        if dup:
            raise InvalidSpec(f"service {service!r} mounts two volumes at {dup}",
                              location=Location(key_path=f"services.{service}.volumes"))
        return mounts

    def service_mounts(self, stack: Any, service: Any, *, container: str, working_dir: str = ".",
                       image_layers: Sequence[str] = ()) -> list[Mount]:
        """:meth:`mounts_for` from the models: ``stack`` (``spec.model.Stack``, its ``name`` is the
        project) and one of its services, plus the service's short ``tmpfs:`` list."""
        mounts = self.mounts_for(service.name, service.volumes, project=_get(stack, "name") or "",
                                 container=container, declared=_get(stack, "volumes") or {},
                                 project_dir=working_dir, image_layers=image_layers)
        for item in _get(service, "tmpfs") or ():
            target, _, opts = str(item).partition(":")
            size = next((o.split("=", 1)[1] for o in opts.split(",") if o.startswith("size=")), None)
            mode = next((o.split("=", 1)[1] for o in opts.split(",") if o.startswith("mode=")), None)
            where = Location(key_path=f"services.{service.name}.tmpfs")
            mount = _tmpfs({"tmpfs": {"size": _size(size, where), "mode": mode}}, target, where)
            flags = _tmpfs_flags(opts, where)
            mounts.append(mount._replace(options=flags, read_only="ro" in flags))
        return mounts

    def _mount(self, service: str, entry: Any, where: Location, project: str, container: str,
               declared: Mapping[str, Any], project_dir: Path, layers: Sequence[str]) -> Mount:
        kind, target = _get(entry, "type"), _get(entry, "target") or ""
        read_only = bool(_get(entry, "read_only"))
        if not target.startswith("/"):
            raise InvalidSpec(f"service {service!r}: mount target {target!r} is not an absolute path",
                              location=where)
        if kind == "bind":
            return self._bind(service, entry, where, target, read_only, project_dir)
        if kind == "tmpfs":
            return _tmpfs(entry, target, where)
        if kind != "volume":
            raise InvalidSpec(f"service {service!r}: mount type {kind!r} is not supported", location=where,
                              hint="bind, volume or tmpfs")
        source = _get(entry, "source")
        if source:
            if source not in declared:
                raise NotFound(f"service {service!r} refers to undefined volume {source!r}", location=where,
                               hint="declare it under the top-level volumes: key")
            rec = self.ensure(volume_config(source, declared[source], project))
        else:
            anon = hashlib.sha256(f"{container}\0{target}".encode()).hexdigest()
            rec = self.ensure(VolumeConfig(anon, project), anonymous=True)
        opts = _get(entry, "volume")
        if layers and not _get(opts, "nocopy"):
            self.populate(rec.name, layers, target)
        self.use(rec.name, container)
        subpath = _get(opts, "subpath") or ""
        if subpath:
            _check_subpath(Path(rec.mountpoint), subpath, where)
        return Mount(type="volume", target=target, source=rec.mountpoint, read_only=read_only,
                     subpath=subpath)

    def _bind(self, service: str, entry: Any, where: Location, target: str, read_only: bool,
              project_dir: Path) -> Mount:
        source = Path(project_dir, os.path.expanduser(_get(entry, "source") or ""))
        opts = _get(entry, "bind")
        if not source.exists():
            if not _get(opts, "create_host_path"):
                raise NotFound(f"service {service!r}: bind source {source} does not exist", location=where,
                               hint="create it, or set bind.create_host_path: true")
            try:
                source.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PermissionDenied(f"service {service!r}: cannot create bind source {source}: "
                                       f"{exc.strerror}", location=where,
                                       hint="create the directory yourself, or give a source whose parent "
                                            "is a directory stackfile can write") from None
        propagation = _get(opts, "propagation") or ""
        if propagation not in ("", "private", "rprivate", "shared", "rshared", "slave", "rslave"):
            raise InvalidSpec(f"service {service!r}: invalid bind propagation {propagation!r}",
                              location=where, hint="private, rprivate, shared, rshared, slave or rslave")
        return Mount(type="bind", target=target, source=str(source.resolve()), read_only=read_only,
                     propagation=propagation)


def _tmpfs(entry: Any, target: str, where: Location) -> Mount:
    opts = _get(entry, "tmpfs")
    size = _get(opts, "size")
    if size is not None and hasattr(opts, "size_bytes"):
        size = opts.size_bytes()
    mode = _get(opts, "mode")
    try:
        mode = int(mode, 8) if isinstance(mode, str) else mode
        size = int(size) if size is not None else None
    except ValueError:
        raise InvalidSpec(f"invalid tmpfs size or mode for {target}", location=where) from None
    return Mount(type="tmpfs", target=target, tmpfs_size=size, tmpfs_mode=mode)


def _tmpfs_flags(opts: str, where: Location) -> tuple[str, ...]:
    try:
        return split_tmpfs_options(opts)[1]
    except ValueError as exc:
        raise InvalidSpec(str(exc), location=where, hint=TMPFS_OPTIONS_HINT) from None


def _size(text: str | None, where: Location) -> int | None:
    if text is None:
        return None
    from stackfile.spec.model import parse_size  # 64m, 1g, 512kb, 1.5GiB, bytes (as the loader)

    try:
        return parse_size(text, key_path=where.key_path)
    except InvalidSpec as err:
        raise InvalidSpec(f"invalid tmpfs size {text!r}", location=where, hint=err.hint) from None


def _check_name(name: str) -> None:
    if not name or "/" in name or name in (".", "..") or name.startswith("-"):
        raise InvalidSpec(f"invalid volume name {name!r}", hint="letters, digits, '_', '.', '-'")


def _check_subpath(base: Path, sub: str, where: Location) -> None:
    """``sub`` must stay in the volume and name a directory there (resolved inside it, as the
    runtime resolves it again when it mounts)."""
    from stackfile.runtime.linux.rootpath import Root

    norm = posixpath.normpath(sub.lstrip("/"))
    if norm == ".." or norm.startswith("../"):
        raise InvalidSpec(f"volume subpath {sub!r} leaves the volume", location=where)
    try:
        with Root(str(base)) as root:
            os.close(root.open_dir(sub))
    except OSError:
        raise NotFound(f"volume subpath {sub!r} does not exist in the volume", location=where) from None


# ---------------------------------------------------------------------- image content → volume
def _overlay_copy(layer: Path, target: str, dest: Path) -> bool:
    """Merge ``layer``'s content at ``target`` into ``dest`` with overlay semantics (whiteouts,
    opaque dirs). ``target`` is resolved inside the layer; both trees are then walked through
    directory fds without following a symlink, so neither a link in the image nor one a container
    sharing the volume swaps in meanwhile can take a read or a write to the host."""
    from stackfile.runtime.linux.rootpath import Root, lstat_at

    try:
        with Root(str(layer)) as src_root:
            sfd, name = src_root.parent(target)
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return False
    try:
        st = lstat_at(sfd, name)
        if st is None:
            return False
        dfd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if _is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                _clear(dfd)
                return False
            src = os.open(name, _NOFOLLOW_DIR, dir_fd=sfd)
            try:
                if _opaque(src):
                    _clear(dfd)
                os.fchown(dfd, st.st_uid, st.st_gid)
                os.fchmod(dfd, stat.S_IMODE(st.st_mode))
                _merge_dir(src, dfd)
            finally:
                os.close(src)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)
    return True


_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _merge_dir(src: int, dest: int) -> None:
    from stackfile.runtime.linux.rootpath import lstat_at, make_dir_at, remove_at

    for entry in sorted(os.listdir(src)):
        st = os.stat(entry, dir_fd=src, follow_symlinks=False)
        if _is_whiteout(st):
            remove_at(dest, entry)
        elif stat.S_ISDIR(st.st_mode):
            sub_src = os.open(entry, _NOFOLLOW_DIR, dir_fd=src)
            try:
                old = lstat_at(dest, entry)
                if old is not None and (not stat.S_ISDIR(old.st_mode) or _opaque(sub_src)):
                    remove_at(dest, entry)
                sub = make_dir_at(dest, entry, stat.S_IMODE(st.st_mode))
                try:
                    os.fchown(sub, st.st_uid, st.st_gid)
                    os.fchmod(sub, stat.S_IMODE(st.st_mode))
                    _merge_dir(sub_src, sub)
                finally:
                    os.close(sub)
            finally:
                os.close(sub_src)
        elif stat.S_ISLNK(st.st_mode) or stat.S_ISREG(st.st_mode):
            remove_at(dest, entry)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(entry, dir_fd=src), entry, dir_fd=dest)
                os.chown(entry, st.st_uid, st.st_gid, dir_fd=dest, follow_symlinks=False)
            else:
                _copy_file(src, dest, entry, st)
        # devices, fifos and sockets are not copied into volumes


def _copy_file(src: int, dest: int, name: str, st: os.stat_result) -> None:
    fin = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
    try:
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                      dir_fd=dest)
        try:
            while chunk := os.read(fin, 1 << 20):
                os.write(out, chunk)
            os.fchown(out, st.st_uid, st.st_gid)
            os.fchmod(out, stat.S_IMODE(st.st_mode))
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
    finally:
        os.close(fin)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(fd: int) -> bool:
    for attr in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(fd, attr) == b"y":
                return True
        except OSError:
            continue
    return False


def _clear(dest: int) -> None:
    from stackfile.runtime.linux.rootpath import remove_at

    for child in os.listdir(dest):
        remove_at(dest, child)

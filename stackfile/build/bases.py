"""Base sources: root filesystems made locally, as a pull would make them, the first time they are used.

``scratch`` (no layers), ``busybox`` (the host's static busybox, or Debian's ``busybox-static``
package fetched with apt), ``host`` (the host's /usr and the merged-/usr links, hard-linked: 15x
faster than copying on ext4, safe because layers are read-only lower dirs and overlay copies up on
write; no /etc secrets, no homes), ``debootstrap:<suite>`` (a minbase Debian root from the host's
apt mirror). Archive sources live in :mod:`stackfile.store.transfer`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from stackfile.errors import InvalidSpec, Location, StackfileError, Unavailable
from stackfile.store import lock
from stackfile.store.images import ImageRecord, ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths

__all__ = ["BASE_NAMES", "materialize_base", "resolve_image"]

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
BASE_NAMES = ("scratch", "busybox", "host")
# The ``host`` base's short list.
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = "root:x:0:\nstaff:x:50:\nnogroup:x:65534:\n"
# The users, groups and shadow entries of buildroot's skeleton, as the official ``busybox`` image
# ships them (docker-library/busybox installs system/skeleton/etc/{passwd,group,shadow} and locks
# root's password: CVE-2019-5021).
BUSYBOX_PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
                  "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                  "bin:x:2:2:bin:/bin:/bin/false\n"
                  "sys:x:3:3:sys:/dev:/bin/false\n"
                  "sync:x:4:100:sync:/bin:/bin/sync\n"
                  "mail:x:8:8:mail:/var/spool/mail:/bin/false\n"
                  "www-data:x:33:33:www-data:/var/www:/bin/false\n"
                  "operator:x:37:37:Operator:/var:/bin/false\n"
                  "nobody:x:65534:65534:nobody:/home:/bin/false\n")
BUSYBOX_GROUP = "".join(f"{g}\n" for g in (
    "root:x:0:", "daemon:x:1:", "bin:x:2:", "sys:x:3:", "adm:x:4:", "tty:x:5:", "disk:x:6:", "lp:x:7:",
    "mail:x:8:", "kmem:x:9:", "wheel:x:10:root", "cdrom:x:11:", "dialout:x:18:", "floppy:x:19:",
    "video:x:28:", "audio:x:29:", "tape:x:32:", "www-data:x:33:", "operator:x:37:", "utmp:x:43:",
    "plugdev:x:46:", "staff:x:50:", "lock:x:54:", "netdev:x:82:", "users:x:100:", "nogroup:x:65534:"))
BUSYBOX_SHADOW = "".join(f"{u}:*:10933:0:99999:7:::\n" for u in (
    "root", "daemon", "bin", "sys", "sync", "mail", "www-data", "operator", "nobody"))
# Directories the official image has beyond the applets: buildroot's device table (mode only,
# owned by root), then the passwd homes its builder creates, owned by their user and group.
BUSYBOX_DIRS = (("var/www", 0o755, 0, 0), ("etc/network/if-up.d", 0o755, 0, 0),
                ("etc/network/if-pre-up.d", 0o755, 0, 0), ("etc/network/if-down.d", 0o755, 0, 0),
                ("etc/network/if-post-down.d", 0o755, 0, 0), ("usr/sbin", 0o755, 1, 1),
                ("var/spool/mail", 0o755, 8, 8), ("home", 0o755, 65534, 65534))
# /usr/share/zoneinfo/Etc/UTC (TZif2, 114 bytes): the image's /etc/localtime, so ``date`` says UTC
# even on a host without tzdata.
UTC_TZIF = bytes.fromhex(
    "545a696632000000000000000000000000000000000000000000000000000000000000000000000100000004"
    "00000000000055544300545a6966320000000000000000000000000000000000000000000000000000000000"
    "00000000000100000004000000000000555443000a555443300a")


def materialize_base(paths: StorePaths, ref: str) -> ImageRecord:
    """Make the base image ``ref`` (once; concurrent callers wait for the first) and name it ``ref``."""
    builder = _builder(ref)
    images = ImageStore(paths)
    paths.tmp.mkdir(parents=True, exist_ok=True)
    lock_file = paths.tmp / f"base-{re.sub(r'[^A-Za-z0-9_.-]', '_', ref)}.lock"
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        existing = images.resolve(_store_name(ref))
        if existing is not None:
            return existing
        with lock.shared(paths):
            layers, config = builder(paths)
            history = [{"created_by": f"stackfile base source {ref}", "empty_layer": not layers}]
            image = images.put(layers, config, history=history, names=[_store_name(ref)])
        from stackfile.store import journal

        journal.record(paths.root_str, "image", "pull", image.id, {"name": _store_name(ref)})
        return image
    finally:
        os.close(fd)


def _store_name(ref: str) -> str:
    """The name a base is stored under (``busybox:latest``, ``debootstrap:bookworm``)."""
    if ref.startswith("debootstrap:"):
        return "debootstrap:" + ref.split(":", 1)[1]
    return f"{ref}:latest"


Builder = Callable[[StorePaths], tuple[list[str], dict[str, object]]]


def _builder(ref: str) -> Builder:
    if ref == "scratch":
        return lambda paths: ([], {"Env": [PATH_ENV]})
    if ref == "busybox":
        return _busybox
    if ref == "host":
        return _host
    if ref.startswith("debootstrap:"):
        suite = ref.split(":", 1)[1]
        if not re.fullmatch(r"[a-z][a-z0-9-]*", suite):
            raise InvalidSpec(f"invalid debootstrap suite {suite!r}", hint="e.g. debootstrap:bookworm")
        return lambda paths: _debootstrap(paths, suite)
    raise InvalidSpec(f"unknown base source {ref!r}",
                      hint="one of scratch, busybox, host, debootstrap:<suite>, oci-archive:<path>, "
                           "docker-archive:<path>, oci:<dir>")


# -- busybox ----------------------------------------------------------------------------------------

def host_busybox() -> str | None:
    """Path of a statically linked busybox on the host, or None."""
    for cand in BUSYBOX_CANDIDATES:
        if os.path.isfile(cand):
            with open(cand, "rb") as fh:
                head = fh.read(4096)
            if b"ld-linux" not in head and b"ld-musl" not in head:
                return cand
    return None


def _fetch_busybox(workdir: Path) -> str:
    try:
        subprocess.run(["apt-get", "download", "busybox-static"], cwd=workdir, check=True,
                       capture_output=True, timeout=300)
        deb = next(workdir.glob("busybox-static_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(workdir / "x")], check=True, capture_output=True)
    except (OSError, subprocess.SubprocessError, StopIteration) as exc:
        raise Unavailable("cannot get a static busybox: none on the host and apt-get download failed",
                          hint="apt-get install busybox-static", detail=str(exc)) from None
    return str(workdir / "x" / "bin" / "busybox")


def _busybox(paths: StorePaths) -> tuple[list[str], dict[str, object]]:
    layers = LayerStore(paths)
    with tempfile.TemporaryDirectory(dir=paths.tmp) as work:
        binary = host_busybox() or _fetch_busybox(Path(work))
        dest = layers.scratch_dir("busybox-")
        try:
            _fill_busybox(dest, binary)
            lid = layers.commit(dest, origin="busybox")
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    return [lid], {"Env": [PATH_ENV], "Cmd": ["sh"]}


def _fill_busybox(dest: Path, binary: str) -> None:
    """The official image's tree: every applet in /bin (``busybox --install /bin``), plus the
    applet paths of ``--list-full`` (/usr/bin/env, /sbin/...), buildroot's skeleton /etc and homes."""
    (dest / "bin").mkdir(mode=0o755)
    shutil.copy2(binary, dest / "bin" / "busybox")
    os.chmod(dest / "bin" / "busybox", 0o755)
    listing = subprocess.run([binary, "--list-full"], capture_output=True, text=True, check=True).stdout
    applets = sorted(set(listing.split()))
    for d in ("proc", "sys", "dev", "etc", "root", "run", "var", "usr/local/bin"):
        (dest / d).mkdir(parents=True, exist_ok=True, mode=0o755)
    for rel, mode, uid, gid in BUSYBOX_DIRS:
        (dest / rel).mkdir(parents=True, exist_ok=True)
        os.chmod(dest / rel, mode)
        os.chown(dest / rel, uid, gid)
    for applet in [*applets, *(f"bin/{os.path.basename(a)}" for a in applets)]:
        link = dest / applet
        if not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            link.symlink_to("/bin/busybox")
    os.chmod(dest / "root", 0o700)
    (dest / "tmp").mkdir(exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    etc = dest / "etc"
    _write_etc(etc, BUSYBOX_PASSWD, BUSYBOX_GROUP)
    (etc / "shadow").write_text(BUSYBOX_SHADOW)
    os.chmod(etc / "shadow", 0o600)
    (etc / "localtime").write_bytes(UTC_TZIF)
    os.chmod(etc / "localtime", 0o644)


def _write_etc(etc: Path, passwd: str = PASSWD, group: str = GROUP) -> None:
    (etc / "passwd").write_text(passwd)
    (etc / "group").write_text(group)
    (etc / "hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
    for name in ("passwd", "group", "hosts", "nsswitch.conf"):
        os.chmod(etc / name, 0o644)


# -- host -------------------------------------------------------------------------------------------

HOST_TREES = ("usr",)
HOST_TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def _host(paths: StorePaths) -> tuple[list[str], dict[str, object]]:
    layers = LayerStore(paths)
    dest = layers.scratch_dir("host-")
    try:
        for tree in HOST_TREES:
            link_tree(Path("/") / tree, dest / tree)
        for top in HOST_TOP:
            src = Path("/") / top
            if src.is_symlink():
                (dest / top).symlink_to(os.readlink(src))
            elif src.is_dir():
                link_tree(src, dest / top)
        for d in ("proc", "sys", "dev", "etc", "root", "run", "var/tmp", "home"):
            (dest / d).mkdir(parents=True, exist_ok=True, mode=0o755)
        os.chmod(dest / "root", 0o700)
        (dest / "tmp").mkdir()
        os.chmod(dest / "tmp", 0o1777)
        os.chmod(dest / "var" / "tmp", 0o1777)
        _write_etc(dest / "etc")
        _copy_alternatives(dest / "etc")
        _copy_public_etc(dest / "etc")
        lid = layers.commit(dest, origin="host")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return [lid], {"Env": [PATH_ENV], "Cmd": ["/bin/sh"]}


PUBLIC_ETC = ("os-release", "debian_version", "ld.so.conf", "ld.so.conf.d", "ssl/certs", "ssl/openssl.cnf")


def _copy_public_etc(etc: Path) -> None:
    """Public, non-secret host configuration programs need (CA certificates, loader paths);
    never ``ssl/private``, shadow files or anything else from /etc."""
    for rel in PUBLIC_ETC:
        src = Path("/etc") / rel
        dest = etc / rel
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if src.is_symlink():
            dest.symlink_to(os.readlink(src))
        elif src.is_dir():
            shutil.copytree(src, dest, symlinks=True)
        elif src.is_file():
            shutil.copy2(src, dest)


def _copy_alternatives(etc: Path) -> None:
    """/etc/alternatives holds only symlinks (``awk`` → ``/usr/bin/mawk``); /usr/bin links into it."""
    src = Path("/etc/alternatives")
    if not src.is_dir():
        return
    (etc / "alternatives").mkdir(mode=0o755)
    for entry in sorted(os.listdir(src)):
        if (src / entry).is_symlink():
            (etc / "alternatives" / entry).symlink_to(os.readlink(src / entry))


def link_tree(src: Path, dest: Path) -> None:
    """Mirror ``src`` at ``dest``: directories recreated, files hard-linked (copied across devices)."""
    same_dev = os.stat(src).st_dev == os.stat(dest.parent).st_dev
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target_dir = dest if rel == "." else dest / rel
        st = os.lstat(dirpath)
        target_dir.mkdir(mode=0o755, exist_ok=True)
        os.chmod(target_dir, st.st_mode & 0o7777)
        os.chown(target_dir, st.st_uid, st.st_gid)
        for name in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            dirnames.remove(name)
            filenames.append(name)
        for name in filenames:
            _link_entry(os.path.join(dirpath, name), target_dir / name, same_dev)


def _link_entry(src: str, dest: Path, same_dev: bool) -> None:
    if os.path.islink(src):
        os.symlink(os.readlink(src), dest)
    elif same_dev and os.path.isfile(src):
        os.link(src, dest)
    elif os.path.isfile(src):
        shutil.copy2(src, dest)


# -- debootstrap ------------------------------------------------------------------------------------

def _debootstrap(paths: StorePaths, suite: str) -> tuple[list[str], dict[str, object]]:
    tool = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap")
                                           else None)
    if tool is None:
        raise Unavailable("debootstrap is not installed", hint="apt-get install debootstrap")
    layers = LayerStore(paths)
    dest = layers.scratch_dir("debootstrap-")
    try:
        proc = subprocess.run([tool, "--variant=minbase", suite, str(dest), host_mirror()],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise Unavailable(f"debootstrap of {suite!r} failed (exit {proc.returncode})", detail=tail,
                              hint="check the suite name and that the host's apt mirror is reachable")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (dest / leftover).glob("*.deb"):
                entry.unlink()
        lid = layers.commit(dest, origin=f"debootstrap:{suite}")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return [lid], {"Env": [PATH_ENV], "Cmd": ["bash"]}


_DEB_LINE = re.compile(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+")
_URIS_LINE = re.compile(r"\s*URIs:\s*(\S+)")


def host_mirror(etc: Path = Path("/etc/apt")) -> str:
    """The first Debian mirror URL in the host's apt sources (one-line or deb822 format)."""
    files = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list")),
             *sorted((etc / "sources.list.d").glob("*.sources"))]
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            m = _DEB_LINE.match(line) or _URIS_LINE.match(line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return "http://deb.debian.org/debian"


def _normalized(ref: str) -> str:
    """Docker's form of ``ref`` (``docker.io/library/busybox`` is ``busybox:latest``), or ``ref``
    itself when it is a base source or not a valid name (the caller's error then names it)."""
    if ref.startswith(("debootstrap:", "oci-archive:", "docker-archive:", "oci:")):
        return ref
    from stackfile.store.refs import normalize_name

    try:
        return normalize_name(ref)
    except InvalidSpec:
        return ref


def _pullable(ref: str) -> bool:
    from stackfile.store.refs import split_reference

    return not isinstance(split_reference(ref), str)


def resolve_image(paths: StorePaths, ref: str, where: Location | None = None) -> ImageRecord:
    """The image ``ref`` names in the store; base sources are materialised on first use.

    A registry reference not in the store is pulled (with the registry options the CLI installed).
    """
    found = ImageStore(paths).resolve(ref)
    if found is not None:
        return found
    base = _normalized(ref).removesuffix(":latest")
    if base in BASE_NAMES or ref.startswith("debootstrap:"):
        return materialize_base(paths, base)
    if ref.startswith(("oci-archive:", "docker-archive:", "oci:")):
        from stackfile.store.transfer import import_source

        return import_source(paths, ref)
    if ref.startswith("debootstrap:") or not _pullable(ref):
        raise Unavailable(
            f"image {ref!r} is not in the store",
            location=where,
            hint="build it (an 'images:' recipe or a build: section), load an archive with "
                 "'stackfile image load -i FILE', or use a base source: scratch, busybox, host, "
                 "debootstrap:<suite>, oci-archive:<path>, docker-archive:<path>, oci:<dir>",
        )
    from stackfile.registry.pull import pull

    try:
        return pull(paths, ref)
    except StackfileError as exc:
        error = type(exc)(f"image {ref!r} is not in the store, and pulling it failed: {exc.args[0]}",
                          location=exc.location or where, hint=exc.hint, detail=exc.detail)
        raise error from None

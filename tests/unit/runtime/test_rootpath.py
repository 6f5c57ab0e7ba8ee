"""rootpath.Root against hostile trees: absolute links, ``..`` chains, loops and proc magic links.

Every test runs twice: through openat2(RESOLVE_IN_ROOT) and through the O_NOFOLLOW walk
(``fallback=True`` forces it for real, no mock). Nothing outside the root may be read or written.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.linux import _libc
from stackfile.runtime.linux.rootpath import Root, openat2_available

MODES = [pytest.param(False, id="openat2"), pytest.param(True, id="walk")]


@pytest.fixture(params=MODES)
def fallback(request: pytest.FixtureRequest) -> bool:
    if not request.param and not openat2_available():
        pytest.skip("this kernel has no openat2 (Linux < 5.6): only the walk can run")
    return bool(request.param)


@pytest.fixture()
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A root whose links all aim at ``outside`` (a host dir holding a secret) by some route."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("inside\n")
    outside.mkdir()
    (outside / "secret").write_text("host secret\n")
    (outside / "passwd").write_text("host passwd\n")
    (root / "abs").symlink_to(str(outside))  # absolute: <root>/<outside> in the container
    (root / "slash").symlink_to("/")
    (root / "up").symlink_to("../" * 12)
    (root / "upout").symlink_to("../../outside")
    (root / "etclink").symlink_to("/etc")
    (root / "loop").symlink_to("loop")
    (root / "dangling").symlink_to(str(outside / "created"))
    (root / "chain").symlink_to("slash/up/abs")
    return root, outside


def _snapshot(path: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for p in sorted(path.rglob("*")):
        st = p.lstat()
        out[str(p)] = (st.st_mtime_ns, p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
    return out


def test_reads_resolve_inside_the_root(hostile: tuple[Path, Path], fallback: bool) -> None:
    root = hostile[0]
    with Root(str(root), fallback=fallback) as r:
        for path in ("/etc/passwd", "../../etc/passwd", "slash/etc/passwd", "up/etc/passwd",
                     "etclink/passwd", "slash/slash/up/etclink/../etc/passwd"):
            assert r.read(path) == b"inside\n", path
        for path in ("abs/secret", "upout/secret", "chain/secret", "abs/passwd"):
            with pytest.raises(FileNotFoundError):
                r.read(path)
        with pytest.raises(OSError) as loop:
            r.read("loop/x")
        assert loop.value.errno == errno.ELOOP
        assert r.lstat("slash/etclink/../abs") is not None and stat.S_ISLNK(r.lstat("abs").st_mode)


def test_writes_land_inside_the_root(hostile: tuple[Path, Path], fallback: bool) -> None:
    root, outside = hostile
    before = _snapshot(outside)
    with Root(str(root), fallback=fallback) as r:
        r.write("abs/secret", b"x")  # the parent resolves to <root>/<outside>, made on the way
        r.write("upout/passwd", b"y", 0o600, uid=1, gid=2)
        r.write("chain/new/deep/file", b"z")
        os.close(r.open("dangling", os.O_WRONLY | os.O_CREAT | os.O_TRUNC))  # its dir exists now, inside
        with pytest.raises(OSError):
            r.write("loop/f", b"no")
        assert r.remove("slash/up/abs/secret") and not r.remove("abs/nothing")
    assert _snapshot(outside) == before
    inside = root / str(outside).lstrip("/")
    assert not (inside / "secret").exists() and (inside / "new" / "deep" / "file").read_text() == "z"
    assert (inside / "created").exists() and not (outside / "created").exists()
    st = (root / "outside" / "passwd").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1, 2, 0o600)
    assert (root / "abs").is_symlink() and (root / "dangling").is_symlink()


def test_a_dangling_link_is_created_inside_the_root(hostile: tuple[Path, Path], fallback: bool) -> None:
    root, outside = hostile
    with Root(str(root), fallback=fallback) as r:
        fd = r.open_dir(os.path.dirname(str(outside / "created")), create=True)
        os.close(fd)
        fd = r.open("dangling", os.O_WRONLY | os.O_CREAT, 0o640)
        os.write(fd, b"in")
        os.close(fd)
        with pytest.raises(OSError) as nofollow:
            r.open("dangling", os.O_RDONLY, follow=False)
        assert nofollow.value.errno == errno.ELOOP
    assert not (outside / "created").exists()
    assert (root / str(outside).lstrip("/") / "created").read_text() == "in"


def test_open_dir_makes_dirs_with_the_parents_owner(hostile: tuple[Path, Path], fallback: bool) -> None:
    root, outside = hostile
    os.chown(root / "etc", 7, 8)
    os.chmod(root / "etc", 0o750)
    with Root(str(root), fallback=fallback) as r:
        fd = r.open_dir("slash/up/etclink/a/b", create=True)
        try:
            assert os.path.samestat(os.fstat(fd), (root / "etc" / "a" / "b").stat())
        finally:
            os.close(fd)
        with pytest.raises(FileNotFoundError):
            r.open_dir("abs/nope")
    st = (root / "etc" / "a").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (7, 8, 0o750)
    assert sorted(p.name for p in outside.iterdir()) == ["passwd", "secret"]


@pytest.fixture()
def with_proc(hostile: tuple[Path, Path]) -> Iterator[Path]:
    """``hostile``'s root with a real procfs at /proc, so /proc/self/... are magic links."""
    if os.geteuid() != 0:
        pytest.skip("mounting procfs needs root")
    root = hostile[0]
    (root / "proc").mkdir()
    _libc.mount("proc", str(root / "proc"), "proc", _libc.MS_NOSUID | _libc.MS_NODEV | _libc.MS_NOEXEC)
    try:
        yield root
    finally:
        _libc.umount2(str(root / "proc"), _libc.MNT_DETACH)


def test_proc_magic_links_are_never_followed(with_proc: Path, fallback: bool) -> None:
    root = with_proc
    (root / "self").symlink_to("/proc/self")
    held = os.open("/etc", os.O_RDONLY | os.O_DIRECTORY)  # a host dir reachable as /proc/self/fd/N
    try:
        with Root(str(root), fallback=fallback) as r:
            for path in (f"/proc/self/fd/{held}/passwd", "/proc/self/root/etc/passwd",
                         f"self/cwd/{Path.cwd().relative_to('/')}", "/proc/1/root/etc/passwd",
                         f"/proc/{os.getpid()}/root/etc/passwd"):
                try:
                    data = r.read(path)
                except OSError:
                    continue  # refused (ELOOP) or resolved inside, to something missing
                assert data == b"inside\n", path  # /proc/x/root as text is "/": still the container's
            try:
                r.write(f"/proc/self/fd/{held}/stackfile-escape", b"x")
            except OSError as exc:
                assert not fallback and exc.errno == errno.ELOOP  # openat2 refuses the magic link
            else:  # the walk resolved the link's text, "/etc", inside the root
                assert fallback and (root / "etc" / "stackfile-escape").read_bytes() == b"x"
    finally:
        os.close(held)
    assert not Path("/etc/stackfile-escape").exists()


def test_user_lookup_never_reads_the_hosts_passwd(tmp_path: Path) -> None:
    from stackfile.runtime.linux.users import read_etc_file

    outside, upper, layer = tmp_path / "outside", tmp_path / "upper", tmp_path / "layer"
    outside.mkdir()
    (outside / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    upper.mkdir()
    (upper / "etc").symlink_to(str(outside))  # a RUN step or a container replaced /etc with a link
    (layer / "etc").mkdir(parents=True)
    (layer / "etc" / "passwd").write_text("app:x:1000:1000::/home/app:/bin/sh\n")
    (layer / "etc" / "group").symlink_to("../../../../../../" + str(outside / "passwd"))
    assert read_etc_file((str(upper), str(layer)), "passwd").startswith("app:")
    assert read_etc_file((str(upper), str(layer)), "group") == ""

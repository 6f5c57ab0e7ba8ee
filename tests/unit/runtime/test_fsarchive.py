"""Tar streams out of and into a Root (``cp``, ``export``, ``commit``): hostile archives stay inside
the destination, trees round-trip (links, hard links, fifos, owners), overlay upper dirs become OCI
layers (whiteouts, opaque directories)."""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec
from stackfile.runtime.linux.fsarchive import extract, resolve_source, write_tree
from stackfile.runtime.linux.rootpath import Root

ME = (os.geteuid(), os.getegid())


def _tar(*members: tuple[str, bytes, str]) -> io.BytesIO:
    """(name, type, data-or-linkname) → an uncompressed tar in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, text in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text.encode()))
            else:
                info.linkname = text
                info.mode = 0o755
                tar.addfile(info)
    buf.seek(0)
    return buf


def _extract(dest: Path, buf: io.BytesIO) -> int:
    with Root(str(dest)) as root, tarfile.open(fileobj=buf, mode="r|") as tar:
        return extract(root, "/", tar, owner=ME)


@pytest.mark.parametrize("fallback", [False, True], ids=["openat2", "walk"])
def test_links_in_an_archive_never_lead_out_of_the_destination(tmp_path: Path, fallback: bool,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if fallback:
        from stackfile.runtime.linux import rootpath

        monkeypatch.setattr(rootpath, "_openat2_ok", False)
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    tag = f"stackfile-fsarchive-{uuid.uuid4().hex[:8]}"
    buf = _tar(("root", tarfile.SYMTYPE, "/"), (f"root/{tag}", tarfile.REGTYPE, "a"),
               ("up", tarfile.SYMTYPE, "../outside"), ("up/x", tarfile.REGTYPE, "b"),
               ("abs", tarfile.SYMTYPE, str(outside)), ("abs/y", tarfile.REGTYPE, "c"))
    try:
        assert _extract(dest, buf) == 6
        assert not os.path.exists(f"/{tag}") and list(outside.iterdir()) == []
        assert (dest / tag).read_text() == "a"  # "/" is the destination's root
        assert (dest / "outside" / "x").read_text() == "b"
        assert (dest / str(outside).lstrip("/") / "y").read_text() == "c"
    finally:
        Path(f"/{tag}").unlink(missing_ok=True)


def test_dot_dot_members_and_outside_hard_links_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpec, match=r"\.\."):
        _extract(tmp_path, _tar(("a/../../evil", tarfile.REGTYPE, "x")))
    assert not (tmp_path.parent / "evil").exists()
    with pytest.raises(FileNotFoundError):  # /etc/passwd is looked up in the destination
        _extract(tmp_path, _tar(("pw", tarfile.LNKTYPE, "/etc/passwd")))
    assert not (tmp_path / "pw").exists()


def test_a_tree_round_trips_with_links_hard_links_and_fifos(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    (src / "d" / "e").mkdir(parents=True)
    dest.mkdir()
    (src / "d" / "f").write_text("file\n")
    os.link(src / "d" / "f", src / "d" / "hard")
    os.symlink("/etc/passwd", src / "d" / "lnk")
    os.mkfifo(src / "d" / "fifo")
    os.chmod(src / "d" / "f", 0o640)
    buf = io.BytesIO()
    with Root(str(src)) as root:
        source = resolve_source(root, "/d", follow=False)
        try:
            write_tree(source, "copy", buf)
        finally:
            source.close()
    buf.seek(0)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        assert tar.getnames() == ["copy", "copy/e", "copy/f", "copy/fifo", "copy/hard", "copy/lnk"]
        assert tar.getmember("copy/hard").islnk() and tar.getmember("copy/hard").linkname == "copy/f"
    _extract(dest, buf)
    out = dest / "copy"
    assert (out / "f").read_text() == "file\n" and oct((out / "f").stat().st_mode & 0o777) == "0o640"
    assert (out / "f").stat().st_ino == (out / "hard").stat().st_ino
    assert os.readlink(out / "lnk") == "/etc/passwd"
    assert (out / "fifo").is_fifo() and (out / "e").is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are 0/0 character devices: mknod needs root")
def test_an_upper_dir_becomes_an_oci_layer(tmp_path: Path) -> None:
    (tmp_path / "opq").mkdir()
    os.setxattr(tmp_path / "opq", "trusted.overlay.opaque", b"y")
    (tmp_path / "opq" / "kept").write_text("k")
    os.mknod(tmp_path / "gone", 0o600 | 0o020000, os.makedev(0, 0))
    buf = io.BytesIO()
    with Root(str(tmp_path)) as root:
        source = resolve_source(root, "/", follow=True)
        try:
            write_tree(source, "", buf, whiteouts=True, skip=lambda arc, st: arc == "opq/kept")
        finally:
            source.close()
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        assert tar.getnames() == [".wh.gone", "opq", "opq/.wh..wh..opq"]

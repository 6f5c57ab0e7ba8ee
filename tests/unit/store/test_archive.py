"""Tar extraction refuses hostile archives; OCI whiteouts become overlay whiteouts and back."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec
from stackfile.store.archive import extract_layer, layer_to_tar

ROOT = os.geteuid() == 0


def _tar(*members: tuple[str, str, str]) -> io.BytesIO:
    """members: (type, name, data-or-linkname) with type in file/dir/sym/hard/chr."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data.encode()))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "chr": tarfile.CHRTYPE}[kind]
            info.linkname = data
            if kind == "chr":
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info)
    buf.seek(0)
    return buf


@pytest.mark.parametrize(("members", "why"), [
    ([("file", "../escape", "x")], r"escapes the destination \(\.\.\)"),
    ([("file", "a/../../escape", "x")], r"escapes the destination"),
    ([("sym", "up", "../../etc")], "symlink escaping"),
    ([("hard", "h", "../../etc/passwd")], "hard link escaping"),
    ([("hard", "h", "etc/passwd")], "not in the archive|not an earlier file"),
    ([("sym", "etc", "/etc"), ("file", "etc/evil", "x")], "not a directory"),
    ([("sym", "etc", "/etc"), ("hard", "h", "etc/shadow")], "not in the archive|not a directory"),
    ([("chr", "null", "")], "device node"),
])
def test_hostile_members_are_refused(tmp_path: Path, members: list, why: str) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(InvalidSpec, match=why):
        extract_layer(_tar(*members), dest, archive="evil.tar")
    assert not (tmp_path / "escape").exists()


def test_absolute_symlinks_are_container_rooted_in_layers_but_refused_for_add(tmp_path: Path) -> None:
    dest = tmp_path / "layer"
    dest.mkdir()
    extract_layer(_tar(("sym", "bin/sh", "/bin/busybox")), dest)
    assert os.readlink(dest / "bin" / "sh") == "/bin/busybox"
    other = tmp_path / "add"
    other.mkdir()
    with pytest.raises(InvalidSpec, match="absolute symlink"):
        extract_layer(_tar(("sym", "sh", "/bin/busybox")), other, allow_absolute_links=False)


@pytest.mark.skipif(not ROOT, reason="overlay whiteouts (mknod, trusted xattrs) need root")
def test_whiteouts_round_trip(tmp_path: Path) -> None:
    dest = tmp_path / "layer"
    dest.mkdir()
    extract_layer(_tar(("dir", "data", ""), ("file", "data/.wh..wh..opq", ""), ("file", "data/new", "n"),
                       ("file", "bin/.wh.ls", ""), ("hard", "data/again", "data/new")), dest)
    st = os.lstat(dest / "bin" / "ls")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(dest / "data", "trusted.overlay.opaque") == b"y"
    assert os.stat(dest / "data" / "again").st_ino == os.stat(dest / "data" / "new").st_ino
    out = io.BytesIO()
    layer_to_tar(dest, out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = tar.getnames()
    assert sorted(names) == ["bin", "bin/.wh.ls", "data", "data/.wh..wh..opq", "data/again", "data/new"]
    assert names.index("data") < names.index("data/new")  # directories come before their contents

"""image save → image load round trips (Docker and OCI archives); hostile archives are refused."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from stackfile.build.bases import resolve_image
from stackfile.errors import InvalidSpec
from stackfile.store.export import save_images
from stackfile.store.images import ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths
from stackfile.store.transfer import load_archive

ROOT = os.geteuid() == 0


def _tree(root: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath) / name
            st = os.lstat(path)
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = (st.st_mode, os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = (st.st_mode, path.read_bytes().hex()[:64])
            else:
                out[rel] = (st.st_mode, str(st.st_rdev))
    return out


@pytest.mark.skipif(not ROOT, reason="whiteout layers need root")
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_round_trip(store_root: Path, tmp_path: Path, fmt: str) -> None:
    src = StorePaths.at(store_root / "a").ensure()
    dst = StorePaths.at(store_root / "b").ensure()
    base = resolve_image(src, "busybox")
    layers = LayerStore(src)
    tmp = layers.scratch_dir()
    (tmp / "bin").mkdir()
    os.mknod(tmp / "bin" / "ls", stat.S_IFCHR, os.makedev(0, 0))
    (tmp / "etc").mkdir()
    os.setxattr(tmp / "etc", "trusted.overlay.opaque", b"y")
    (tmp / "etc" / "motd").write_text("hi\n")
    top = layers.commit(tmp)
    image = ImageStore(src).put([*base.layers, top], {"Cmd": ["sh"], "Env": ["A=1"]},
                                history=[{"created_by": "x"}], names=["round:trip"])
    archive = tmp_path / "img.tar"
    with open(archive, "wb") as fh:
        save_images(src, [image], fh, fmt)
    (loaded,) = load_archive(dst, archive)
    assert loaded.names == ("round:trip",)
    assert loaded.config == image.config
    assert len(loaded.layers) == 2
    for a, b in zip(image.layers, loaded.layers, strict=True):
        assert _tree(src.layer(a)) == _tree(dst.layer(b))
    assert os.getxattr(dst.layer(loaded.layers[1]) / "etc", "trusted.overlay.opaque") == b"y"
    again = load_archive(dst, archive)[0]
    assert again.id == loaded.id and again.layers == loaded.layers  # layers are not extracted twice


def test_load_refuses_entries_pointing_outside(store_root: Path, tmp_path: Path) -> None:
    paths = StorePaths.at(store_root).ensure()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        entry = {"Config": "../../../../etc/hostname", "RepoTags": ["x:1"], "Layers": []}
        data = json.dumps([entry]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "evil.tar").write_bytes(buf.getvalue())
    with pytest.raises(InvalidSpec, match="outside the archive"):
        load_archive(paths, tmp_path / "evil.tar")
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(InvalidSpec, match="not an image archive"):
        load_archive(paths, tmp_path / "junk.tar")

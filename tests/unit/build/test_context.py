"""Build contexts: ignore files, hostile paths, COPY destination rules, --chown/--chmod, ADD tars."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from stackfile.build.builder import Builder
from stackfile.errors import InvalidSpec
from stackfile.spec import recipe as ir
from stackfile.store.paths import StorePaths
from tests.unit.build.fakes import FakeExecutor

ROOT = os.geteuid() == 0


@pytest.fixture()
def paths(store_root: Path) -> StorePaths:
    return StorePaths.at(store_root).ensure()


@pytest.fixture()
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "src" / "secret.env").write_text("TOKEN=1\n")
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "index.js").write_text("x\n")
    (root / ".dockerignore").write_text("node_modules\n**/*.env\n")
    return root


def _build(paths: StorePaths, ctx: Path, *steps: object, base: str = "busybox"):  # type: ignore[no-untyped-def]
    recipe = ir.Recipe(stages=(ir.Stage(ir.From(base), tuple(steps)),), context=str(ctx))
    events: list = []
    image = Builder(paths, executor=FakeExecutor(paths), sink=events.append).build(recipe, ("t",))
    return image, [e.kind for e in events]


def test_ignored_files_are_not_copied_and_do_not_invalidate(paths: StorePaths, ctx: Path) -> None:
    image, _ = _build(paths, ctx, ir.Copy((".",), "/app"))
    top = paths.layer(image.layers[-1]) / "app"
    assert sorted(os.listdir(top)) == [".dockerignore", "src"]
    assert sorted(os.listdir(top / "src")) == ["app.py"]
    (ctx / "node_modules" / "pkg" / "index.js").write_text("changed\n")
    (ctx / "src" / "secret.env").write_text("TOKEN=2\n")
    again, kinds = _build(paths, ctx, ir.Copy((".",), "/app"))
    assert again.id == image.id
    assert "build.step.cached" in kinds and "build.step.start" not in kinds


def test_copy_outside_the_context_is_refused(paths: StorePaths, ctx: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret\n")
    with pytest.raises(InvalidSpec, match=r"'\.\./outside\.txt' is outside the build context"):
        _build(paths, ctx, ir.Copy(("../outside.txt",), "/x"))
    (ctx / "link").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(InvalidSpec, match=r"'link' resolves to .*outside\.txt, outside the build context"):
        _build(paths, ctx, ir.Copy(("link",), "/x"))
    (ctx / "dirlink").symlink_to(tmp_path)
    with pytest.raises(InvalidSpec, match="outside the build context"):
        _build(paths, ctx, ir.Copy(("dirlink/outside.txt",), "/x"))


def test_destination_rules(paths: StorePaths, ctx: Path) -> None:
    image, _ = _build(paths, ctx, ir.Copy(("src/app.py",), "/opt/main.py"),
                      ir.Copy(("src/app.py",), "/opt/dir/"), ir.Copy(("src",), "/tmp"))
    layers = [paths.layer(lid) for lid in image.layers]
    assert (layers[1] / "opt" / "main.py").read_text() == "print('hi')\n"
    assert (layers[2] / "opt" / "dir" / "app.py").is_file()
    assert (layers[3] / "tmp" / "app.py").is_file()  # a directory's contents go into the dest
    # parent directories keep the image's attributes (/tmp stays 1777)
    assert oct(os.stat(layers[3] / "tmp").st_mode & 0o7777) == "0o1777"


@pytest.mark.skipif(not ROOT, reason="chown needs root")
def test_chown_by_name_and_chmod(paths: StorePaths, ctx: Path) -> None:
    image, _ = _build(paths, ctx, ir.Copy(("src/app.py",), "/home/app.py", chown="nobody", chmod="640"))
    st = os.stat(paths.layer(image.layers[-1]) / "home" / "app.py")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o640)
    with pytest.raises(InvalidSpec, match="--chown=ghost"):
        _build(paths, ctx, ir.Copy(("src/app.py",), "/x", chown="ghost"))


def test_add_extracts_local_tar_and_refuses_hostile_ones(paths: StorePaths, ctx: Path) -> None:
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w") as tar:
        info = tarfile.TarInfo("pkg/readme")
        data = b"docs\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (ctx / "good.tar").write_bytes(good.getvalue())
    image, _ = _build(paths, ctx, ir.Copy(("good.tar",), "/opt/", add=True))
    assert (paths.layer(image.layers[-1]) / "opt" / "pkg" / "readme").read_text() == "docs\n"
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w") as tar:
        link = tarfile.TarInfo("etc")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(link)
    (ctx / "bad.tar").write_bytes(bad.getvalue())
    with pytest.raises(InvalidSpec, match="absolute symlink"):
        _build(paths, ctx, ir.Copy(("bad.tar",), "/opt/", add=True))
    assert not any(n.startswith("copy-") for n in os.listdir(paths.tmp))  # nothing half-made left


def test_add_url_is_refused_with_a_hint(paths: StorePaths, ctx: Path) -> None:
    with pytest.raises(InvalidSpec, match="ADD from a URL"):
        _build(paths, ctx, ir.Copy(("https://example.com/x.tgz",), "/x", add=True))

"""ContainerRoot: atomic replace, owners and modes, deletions, tree mirroring, symlink containment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stackfile.watch.sync import ContainerRoot

Tree = tuple[Path, Path, Path]  # host dir, container root, a host dir outside it


@pytest.fixture(params=[False, True], ids=["openat2", "walk"])
def fallback(request: pytest.FixtureRequest) -> bool:
    """Every test runs through openat2 and through the O_NOFOLLOW walk (forced, not mocked)."""
    from stackfile.runtime.linux.rootpath import openat2_available

    if not request.param and not openat2_available():
        pytest.skip("this kernel has no openat2 (Linux < 5.6): only the walk can run")
    return bool(request.param)


@pytest.fixture()
def tree(tmp_path: Path) -> Tree:
    host, root, outside = tmp_path / "host", tmp_path / "root", tmp_path / "outside"
    for d in (host / "pkg", root / "app", outside):
        d.mkdir(parents=True)
    return host, root, outside


def test_symlinks_inside_the_container_never_lead_outside(tree: Tree, fallback: bool) -> None:
    host, root, outside = tree
    (host / "f").write_text("payload")
    (root / "app" / "abs").symlink_to(str(outside))  # absolute: means <root>/<outside> in the container
    (root / "app" / "rel").symlink_to("../../../../../outside")
    (root / "app" / "loop").symlink_to("loop")
    with ContainerRoot(str(root), fallback=fallback) as croot:
        croot.put(str(host / "f"), "/app/abs/x")
        croot.put(str(host / "f"), "/app/rel/y")
        croot.put(str(host / "f"), "/../../z")
        with pytest.raises(OSError):
            croot.put(str(host / "f"), "/app/loop/w")
    assert list(outside.iterdir()) == []
    assert (root / str(outside).lstrip("/") / "x").read_text() == "payload"
    assert (root / "outside" / "y").read_text() == "payload"
    assert (root / "z").read_text() == "payload"


def test_replace_is_atomic_and_keeps_owner_and_mode(tree: Tree, fallback: bool) -> None:
    host, root, _ = tree
    (host / "f").write_text("new")
    old = root / "app" / "f"
    old.write_text("old")
    os.chmod(old, 0o640)
    os.chown(old, 1000, 1000)
    ino = old.stat().st_ino
    with ContainerRoot(str(root), fallback=fallback) as croot:
        assert croot.put(str(host / "f"), "/app/f") is True
        assert croot.put(str(host / "f"), "/app/f") is False  # unchanged: no write
    st = old.stat()
    assert old.read_text() == "new" and st.st_ino != ino  # renamed over, not rewritten in place
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1000, 1000)
    assert sorted(p.name for p in (root / "app").iterdir()) == ["f"]  # no temp file left


def test_new_files_and_dirs_take_the_owner_of_their_directory(tree: Tree, fallback: bool) -> None:
    host, root, _ = tree
    script = host / "run.sh"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o755)
    os.chown(root / "app", 1000, 50)
    os.chmod(root / "app", 0o750)
    with ContainerRoot(str(root), fallback=fallback) as croot:
        croot.put(str(script), "/app/new/dir/run.sh")
    for path, mode in ((root / "app/new", 0o750), (root / "app/new/dir", 0o750),
                       (root / "app/new/dir/run.sh", 0o755)):
        st = path.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, 1000, 50), path


def test_symlinks_are_copied_as_symlinks_and_dirs_replaced(tree: Tree, fallback: bool) -> None:
    host, root, _ = tree
    (host / "link").symlink_to("/etc/passwd")
    (host / "f").write_text("file")
    (root / "app" / "f").mkdir()
    (root / "app" / "f" / "inner").write_text("x")
    with ContainerRoot(str(root), fallback=fallback) as croot:
        croot.put(str(host / "link"), "/app/link")
        croot.put(str(host / "f"), "/app/f")
    assert os.readlink(root / "app" / "link") == "/etc/passwd"
    assert (root / "app" / "f").read_text() == "file"


def test_remove_deletes_files_and_trees(tree: Tree, fallback: bool) -> None:
    _, root, _ = tree
    (root / "app" / "d" / "e").mkdir(parents=True)
    (root / "app" / "d" / "e" / "f").write_text("x")
    (root / "app" / "g").write_text("x")
    with ContainerRoot(str(root), fallback=fallback) as croot:
        assert croot.remove("/app/d") and croot.remove("/app/g")
        assert not croot.remove("/app/missing/x") and not croot.remove("/app/g")
        with pytest.raises(ValueError):
            croot.remove("/")
    assert list((root / "app").iterdir()) == []


def test_sync_tree_mirrors_and_prunes_only_selected(tree: Tree, fallback: bool) -> None:
    host, root, _ = tree
    (host / "a.txt").write_text("a")
    (host / "pkg" / "b.txt").write_text("b")
    (root / "app" / "stale.txt").write_text("old")
    (root / "app" / "node_modules").mkdir()
    (root / "app" / "node_modules" / "keep").write_text("k")

    def select(rel: str, is_dir: bool) -> bool:
        return not rel.startswith("node_modules")

    with ContainerRoot(str(root), fallback=fallback) as croot:
        first = croot.sync_tree(str(host), "/app", select)
        second = croot.sync_tree(str(host), "/app", select)
    assert (first.written, first.removed) == (2, 1)
    assert (second.written, second.removed, second.unchanged) == (0, 0, 2)
    assert (root / "app" / "pkg" / "b.txt").read_text() == "b"
    assert (root / "app" / "node_modules" / "keep").exists() and not (root / "app" / "stale.txt").exists()

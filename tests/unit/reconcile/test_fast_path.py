"""The no-op ``up`` fast path: a hit only while files, flags, environment and containers are unchanged."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from stackfile.engine.project_fast import forget, remember, unchanged
from stackfile.store.paths import StorePaths


@dataclass
class Opts:
    root: str
    files: list[str]
    environ: dict[str, str] = field(default_factory=lambda: {"HOME": "/root"})
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    environment_name: str | None = None
    template_vars: dict[str, str] = field(default_factory=dict)


@dataclass
class Proj:
    name: str
    files: list[str]
    working_dir: str


def fake_container(paths: StorePaths, name: str, cid: str, status: str = "running") -> None:
    """A container record as the runtime writes it, with this test process as its 'PID 1'."""
    stat = Path("/proc/self/stat").read_bytes()
    start = int(stat[stat.rfind(b")") + 2:].split()[19])
    (paths.containers / ".names").mkdir(parents=True, exist_ok=True)
    link = paths.containers / ".names" / name
    if link.is_symlink():
        link.unlink()
    link.symlink_to(f"../{cid}")
    paths.container(cid).mkdir(parents=True, exist_ok=True)
    state = {"status": status, "pid": os.getpid(), "pid_start": start}
    (paths.container(cid) / "state.json").write_text(json.dumps(state))


def setup(tmp_path: Path, text: str = "services: {web: {image: busybox}}\n") -> tuple[Opts, Proj, StorePaths]:
    stack = tmp_path / "proj" / "stack.yaml"
    stack.parent.mkdir()
    stack.write_text(text)
    paths = StorePaths.at(tmp_path / "store")
    fake_container(paths, "proj-web-1", "a" * 64)
    opts = Opts(str(paths.root), [str(stack)])
    proj = Proj("proj", [str(stack)], str(stack.parent))
    remember(paths, opts, {}, proj, ["web"], [{"name": "proj-web-1", "id": "a" * 64}])
    return opts, proj, paths


def test_hit_when_nothing_changed(tmp_path: Path) -> None:
    opts, _, _ = setup(tmp_path)
    assert unchanged(opts, {}) == ["web"]


def test_miss_on_file_flags_environment_and_new_override(tmp_path: Path) -> None:
    opts, proj, _ = setup(tmp_path)
    assert unchanged(opts, {"force_recreate": True}) is None
    assert unchanged(opts, {"scale": {"web": 2}}) is None
    assert unchanged(Opts(**{**opts.__dict__, "environ": {"HOME": "/root", "TAG": "2"}}), {}) is None
    assert unchanged(Opts(**{**opts.__dict__, "environ": {"HOME": "/root", "OLDPWD": "/x"}}), {}) == ["web"]
    (Path(proj.working_dir) / "compose.override.yaml").write_text("services: {}\n")
    assert unchanged(opts, {}) is None  # the directory changed: discovery could differ


def test_miss_when_the_stack_file_is_edited(tmp_path: Path) -> None:
    opts, proj, _ = setup(tmp_path)
    Path(proj.files[0]).write_text("services: {web: {image: busybox, user: x}}\n")
    assert unchanged(opts, {}) is None


def test_miss_when_a_container_stopped_or_was_replaced(tmp_path: Path) -> None:
    opts, _, paths = setup(tmp_path)
    fake_container(paths, "proj-web-1", "a" * 64, status="exited")
    assert unchanged(opts, {}) is None
    fake_container(paths, "proj-web-1", "b" * 64)
    assert unchanged(opts, {}) is None


def test_files_that_read_other_files_are_never_remembered(tmp_path: Path) -> None:
    opts, _, _ = setup(tmp_path, "include: [other.yaml]\nservices: {web: {image: busybox}}\n")
    assert unchanged(opts, {}) is None


def test_a_file_edited_during_the_up_is_not_trusted(tmp_path: Path) -> None:
    opts, proj, paths = setup(tmp_path)
    forget(paths)
    loaded = Path(proj.files[0]).stat().st_mtime_ns  # the load happened when the file was written
    remember(paths, opts, {}, proj, ["web"], [{"name": "proj-web-1", "id": "a" * 64}], loaded_ns=loaded)
    assert unchanged(opts, {}) is None


def test_forget(tmp_path: Path) -> None:
    opts, _, paths = setup(tmp_path)
    forget(paths)
    assert unchanged(opts, {}) is None

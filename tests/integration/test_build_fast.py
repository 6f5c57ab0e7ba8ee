"""The click-free ``image build`` fast path answers only when the full builder would hit every step.

Each test builds for real (busybox base, RUN in containers, a temp store), changes one input, then
asks the fast path (``stackfile.cli.build_fast.answer``, in-process) and the full builder (the
click CLI, ``stackfile.cli.main``, with the remembered plans cleared: its planner and runner decide).
A fast answer must come with a full build that ran nothing and stored the same image.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackfile.build import fastpath
from stackfile.cli.build_fast import answer
from tests.conftest import needs_root

pytestmark = needs_root

# the click CLI itself (``python -m stackfile`` and the script try the fast paths first)
FULL_CLI = [sys.executable, "-c", "from stackfile.cli.main import main; main()"]

DOCKERFILE = """FROM busybox AS base
ARG V=1
RUN echo $V > /v
FROM base AS final
COPY app/ /app/
RUN cat /app/main.sh > /copied
LABEL demo=1
"""


class Project:
    def __init__(self, store: Path, ctx: Path) -> None:
        self.store, self.ctx = store, ctx

    def argv(self, *extra: str) -> list[str]:
        return ["--root", str(self.store), "image", "build", "-t", "demo", *extra, str(self.ctx)]

    def fast(self, capsys: pytest.CaptureFixture[str], *extra: str) -> str | None:
        """The image id the fast path printed, or None when it handed over."""
        capsys.readouterr()
        fastpath._MISSED.clear()  # each command is a new process: no miss remembered from the last one
        hit = answer(self.argv("-q", *extra), dict(os.environ))
        out = capsys.readouterr().out
        assert hit == bool(out)
        return out.strip() if hit else None

    def full(self, *extra: str) -> tuple[str, int, int]:
        """(image id, steps ran, steps cached) of the full builder (no remembered plan consulted)."""
        db = sqlite3.connect(self.store / "stackfile.db")
        with db:
            db.execute("DELETE FROM build_plans")
        db.close()
        proc = subprocess.run([*FULL_CLI, *self.argv(*extra)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        found = re.search(r"\((\d+) ran, (\d+) cached\)", proc.stderr)
        assert found, proc.stderr
        return _image_id(self.store, "demo:latest"), int(found[1]), int(found[2])

    def agree(self, capsys: pytest.CaptureFixture[str], *extra: str) -> str | None:
        """Ask the fast path, then the full builder; a fast answer needs an all-hit full build."""
        fast = self.fast(capsys, *extra)
        image, ran, cached = self.full(*extra)
        if fast is not None:
            assert ran == 0 and cached > 0 and fast == image
        return fast

    def remember(self, *extra: str) -> str:
        """Build through the engine (which records the plan) and return the image id."""
        proc = subprocess.run([*FULL_CLI, *self.argv("-q", *extra)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()


def _image_id(store: Path, name: str) -> str:
    db = sqlite3.connect(store / "stackfile.db")
    try:
        row = db.execute("SELECT image_id FROM image_names WHERE name=?", (name,)).fetchone()
        return str(row[0]) if row else ""
    finally:
        db.close()


def _age(path: Path, seconds: float = 60.0) -> None:
    past = time.time() - seconds
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (past, past), follow_symlinks=False)
    os.utime(path, (past, past))


@pytest.fixture()
def project(store_root: Path, tmp_path: Path) -> Project:
    ctx = tmp_path / "ctx"
    (ctx / "app" / "lib").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / ".dockerignore").write_text("notes/\n")
    (ctx / "app" / "main.sh").write_text("echo main 1\n")
    (ctx / "app" / "lib" / "util.sh").write_text("echo util\n")
    (ctx / "notes").mkdir()
    (ctx / "notes" / "todo.txt").write_text("ignored\n")
    _age(ctx)
    p = Project(store_root / "store", ctx)
    p.remember()
    return p


def test_noop_is_answered_with_the_full_builders_image_and_output(
        project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    first = project.agree(capsys)
    assert first is not None and first == _image_id(project.store, "demo:latest")
    assert project.fast(capsys) == first  # the full build recorded the plan again
    capsys.readouterr()
    fastpath._MISSED.clear()
    assert answer(project.argv(), dict(os.environ))
    fast_lines = capsys.readouterr().err.splitlines()
    full = subprocess.run([*FULL_CLI, *project.argv()], capture_output=True,
                          text=True)
    full_lines = full.stderr.splitlines()
    strip = re.compile(r" in \d+\.\d\ds ")
    assert [strip.sub(" ", s) for s in fast_lines] == [strip.sub(" ", s) for s in full_lines]
    assert fast_lines[0] == "[demo 2/2] CACHED RUN echo $V > /v"
    assert fast_lines[-1].startswith("built demo ") and fast_lines[-1].endswith("(0 ran, 3 cached)")


def test_touch_is_answered(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    before = _image_id(project.store, "demo:latest")
    os.utime(project.ctx / "app" / "main.sh", (time.time() - 30, time.time() - 30))
    assert project.agree(capsys) == before
    assert project.fast(capsys) == before


def test_content_edit_hands_over_and_rebuilds_only_from_the_copy(project: Project,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = _image_id(project.store, "demo:latest")
    main = project.ctx / "app" / "main.sh"
    main.write_text("echo main 2\n")  # same size
    _age(project.ctx, 30)
    assert project.fast(capsys) is None
    image, ran, cached = project.full()
    assert (ran, cached) == (2, 1) and image != before  # COPY and the RUN after it; RUN echo $V cached
    assert project.fast(capsys) == image  # the full build remembered its plan


def test_a_same_size_edit_inside_the_racy_window_is_never_a_hit(project: Project,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    main = project.ctx / "app" / "main.sh"
    main.write_text("echo main 3\n")
    st = os.stat(main)
    first = project.remember()  # hashed within moments of its mtime: not trusted later
    main.write_text("echo main 4\n")
    os.utime(main, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime, same inode
    assert project.fast(capsys) is None
    image, ran, _ = project.full()
    assert ran == 2 and image != first


@pytest.mark.parametrize("change", ["build-arg", "dockerfile", "ignore", "target"])
def test_changed_inputs_are_never_a_false_hit(project: Project, capsys: pytest.CaptureFixture[str],
                                              change: str) -> None:
    extra: tuple[str, ...] = ()
    if change == "build-arg":
        extra = ("--build-arg", "V=2")
    elif change == "dockerfile":
        changed = DOCKERFILE.replace("cat /app/main.sh", "cat /app/lib/util.sh")
        (project.ctx / "Dockerfile").write_text(changed)
    elif change == "ignore":
        (project.ctx / ".dockerignore").write_text("notes/\napp/lib\n")
    else:
        extra = ("--target", "base")
    assert project.agree(capsys, *extra) is None
    project.remember(*extra)
    assert project.fast(capsys, *extra) == _image_id(project.store, "demo:latest")


def test_an_ignore_change_that_keeps_the_copied_files_is_still_a_hit(
        project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    before = _image_id(project.store, "demo:latest")
    (project.ctx / ".dockerignore").write_text("notes/\nnothing-here\n")
    (project.ctx / "notes" / "more.txt").write_text("still ignored\n")
    assert project.agree(capsys) == before


def test_a_new_file_under_a_copied_directory_is_a_miss(project: Project,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (project.ctx / "app" / "new.txt").write_text("new\n")
    _age(project.ctx, 30)
    assert project.agree(capsys) is None


def test_retagged_or_removed_images_are_never_a_false_hit(project: Project,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    sf = [*FULL_CLI, "--root", str(project.store), "image"]
    subprocess.run([*sf, "tag", "busybox", "demo"], check=True, capture_output=True)  # the tag moved
    assert project.fast(capsys) is None
    project.remember()
    subprocess.run([*sf, "rm", "demo"], check=True, capture_output=True)  # the image is gone
    assert project.agree(capsys) is None
    project.remember()
    # the base name now names another image: every key below it changes
    other = project.ctx / "other"
    other.mkdir()
    (other / "Dockerfile").write_text("FROM busybox\nLABEL other=1\n")
    subprocess.run([*sf, "build", "-q", "-t", "busybox", str(other)], check=True, capture_output=True)
    assert project.agree(capsys) is None


def test_a_removed_layer_directory_is_never_a_false_hit(project: Project,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = sqlite3.connect(project.store / "stackfile.db")
    (layers,) = db.execute("SELECT layers FROM images WHERE id=?",
                           (_image_id(project.store, "demo:latest"),)).fetchone()
    db.close()
    top = re.findall(r'"([0-9a-f]{16,})"', layers)[-1]
    shutil.rmtree(project.store / "layers" / top)
    assert project.fast(capsys) is None
    _, ran, _ = project.full()
    assert ran >= 1


def test_unknown_flags_and_bad_input_go_to_the_full_cli(project: Project,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    env = dict(os.environ)
    for argv in (project.argv("--no-cache"), project.argv("-qt", "x"), project.argv("-t"),
                 ["--root", str(project.store), "image", "build", "a", "b"],
                 ["--root", str(project.store), "--set", "novalue", "image", "build", str(project.ctx)],
                 ["--root", str(project.store), "image", "build", "-t", "Bad:Name", "-q", str(project.ctx)],
                 ["--root", str(project.store), "image", "ls"]):
        assert not answer(argv, env), argv
    assert capsys.readouterr().out == ""


def test_a_quiet_miss_is_built_without_click_like_the_full_cli(project: Project) -> None:
    (project.ctx / "app" / "main.sh").write_text("echo main 5\n")
    _age(project.ctx, 30)
    script = ("import sys\nfrom stackfile.cli.build_fast import handle\n"
              "code = handle(sys.argv[1:], {})\nprint('click' in sys.modules, code, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", script, *project.argv("-q")], capture_output=True, text=True,
                          timeout=300)
    assert proc.stderr.strip() == "False 0" and proc.stdout.strip() == _image_id(project.store, "demo:latest")
    full = subprocess.run([*FULL_CLI, *project.argv("-q")], capture_output=True,
                          text=True)
    assert full.stdout == proc.stdout


@pytest.mark.parametrize("dockerfile", ["FROM busybox\nCOPY missing /x\n", "RUN true\n",
                                        "FROM busybox\nRUN exit 3\n"])
def test_errors_of_a_quiet_build_match_the_full_cli(project: Project, dockerfile: str) -> None:
    (project.ctx / "Dockerfile").write_text(dockerfile)
    script = ("import sys\nfrom stackfile.cli.build_fast import handle\n"
              "code = handle(sys.argv[1:], {})\nsys.stderr.flush()\nprint(code)\n")
    fast = subprocess.run([sys.executable, "-c", script, *project.argv("-q")], capture_output=True, text=True,
                          timeout=300)
    full = subprocess.run([*FULL_CLI, *project.argv("-q")], capture_output=True,
                          text=True, timeout=300)
    assert full.returncode != 0 and fast.stdout.strip() == str(full.returncode)
    assert fast.stderr == full.stderr


def test_a_broken_ignore_file_is_never_answered(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    (project.ctx / "Dockerfile").write_text("FROM busybox\nRUN echo no copy\n")
    project.remember()
    assert project.fast(capsys) is not None
    (project.ctx / ".dockerignore").write_text("!\n")  # the full build refuses it, COPY or not
    assert project.fast(capsys) is None
    full = subprocess.run([*FULL_CLI, *project.argv("-q")], capture_output=True,
                          text=True)
    assert full.returncode == 15 and "illegal exclusion pattern" in full.stderr


@pytest.mark.parametrize("words", [
    ["-q", "-t", "a", "ctx"], ["--tag=a:1", "--tag", "b", "-f", "D", "--target", "x", "ctx"],
    ["ctx", "-q", "--build-arg", "A=1", "--build-arg=B", "--build-arg", "A=2", "--pull"],
    ["--file=x/Dockerfile", "--quiet", "--no-cache"], [], ["-f", "a", "-f", "b", "."],
])
def test_the_parse_is_clicks(words: list[str]) -> None:
    from stackfile.cli.build_fast import parse
    from stackfile.cli.image_cmd import _build_args, image_build

    environ = {"B": "from-env"}
    req = parse(["--root", "/r", "image", "build", *words], environ)
    assert req is not None
    params = image_build.make_context("build", list(words)).params
    assert (req["context"], req["dockerfile"], tuple(req["tags"]), req["target"]) == (
        params["context"], params["dockerfile"], params["tags"], params["target"])
    assert req["build_args"] == _build_args(params["build_args"], environ)
    assert (req["quiet"], req["no_cache"], req["root"]) == (params["quiet"], params["no_cache"], "/r")


def test_a_build_arg_without_a_value_takes_the_environments_value(
        project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Docker's rule for ``--build-arg V``: the value comes from the environment, so a changed
    environment is a changed build (never a false hit), and an unchanged one is a hit."""
    monkeypatch.setenv("V", "7")
    assert project.agree(capsys, "--build-arg", "V") is None  # V=7, not the default 1: built
    _, ran, _ = project.full("--build-arg", "V")
    assert ran == 0  # the same value as the build before: all cached
    assert project.agree(capsys, "--build-arg", "V") is not None  # and the fast path says so
    monkeypatch.setenv("V", "8")
    assert project.fast(capsys, "--build-arg", "V") is None
    _, ran, _ = project.full("--build-arg", "V")
    assert ran > 0
    monkeypatch.delenv("V")  # unset: left out, so the Dockerfile's default (1) applies
    _, ran, _ = project.full("--build-arg", "V")
    assert ran == 0  # the very first build used the default too

"""Real builds: RUN steps in runtime containers on real overlays, from Dockerfiles."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from stackfile.build.events import StepCached, StepOutput, StepStarted
from stackfile.engine.images import build_dockerfile, ensure_image
from stackfile.errors import InvalidSpec
from stackfile.events import Event
from stackfile.store.paths import StorePaths
from tests.conftest import needs_root
from tests.support.cleanup import cgroup_dirs

pytestmark = needs_root

DOCKERFILE = """\
FROM busybox
ARG WHO=world
ENV GREETING=hello
RUN echo "$GREETING $WHO" > /greeting && rm /bin/ls
RUN --mount=type=cache,target=/cache echo x >> /cache/hits && wc -l < /cache/hits
COPY --chown=nobody:nogroup app/ /app/
USER nobody
RUN id -u && cat /greeting && test ! -e /bin/ls && echo "no ls"
"""


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def take(self) -> tuple[int, int, list[str]]:
        hits = sum(isinstance(e, StepCached) for e in self.events)
        ran = sum(isinstance(e, StepStarted) for e in self.events)
        lines = [e.line for e in self.events if isinstance(e, StepOutput)]
        self.events.clear()
        return hits, ran, lines


@pytest.fixture()
def project(store_root: Path) -> tuple[StorePaths, Path]:
    ctx = store_root / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "app" / "main.sh").write_text("echo main\n")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return StorePaths.at(store_root / "store"), ctx


def test_dockerfile_build_runs_caches_and_records_layers(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    sink = Sink()
    image = build_dockerfile(paths, str(ctx), tags=("demo",), build_args={"WHO": "there"}, sink=sink)
    hits, ran, lines = sink.take()
    assert (hits, ran) == (0, 4)
    assert lines == ["1", "65534", "hello there", "no ls"]
    run_layer = paths.layer(image.layers[1])
    assert (run_layer / "greeting").read_text() == "hello there\n"
    whiteout = os.lstat(run_layer / "bin" / "ls")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert not (run_layer / "etc" / "hosts").exists()  # runtime mount stubs are not part of the image
    copied = os.stat(paths.layer(image.layers[3]) / "app" / "main.sh")
    assert (copied.st_uid, copied.st_gid) == (65534, 65534)
    assert [d for d in os.listdir(paths.containers) if not d.startswith(".")] == []
    again = build_dockerfile(paths, str(ctx), tags=("demo",), build_args={"WHO": "there"}, sink=sink)
    assert sink.take()[:2] == (4, 0) and again.id == image.id
    build_dockerfile(paths, str(ctx), tags=("demo",), build_args={"WHO": "there"}, no_cache=True, sink=sink)
    hits, ran, lines = sink.take()
    assert (hits, ran) == (0, 4) and lines[0] == "2"  # the cache mount persisted, outside the key


def test_failing_run_names_the_dockerfile_line_and_output(store_root: Path) -> None:
    ctx = store_root / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo first\nRUN echo oops >&2; exit 4\n")
    with pytest.raises(InvalidSpec) as err:
        build_dockerfile(StorePaths.at(store_root / "store"), str(ctx))
    text = err.value.render()
    assert f"{ctx}/Dockerfile:3: build step 'RUN echo oops >&2; exit 4' failed with exit code 4" in text
    assert "| oops" in text


def test_multi_stage_target_and_copy_from(store_root: Path) -> None:
    ctx = store_root / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox AS build\nRUN mkdir /out && echo built > /out/artifact\n"
        "FROM busybox AS test\nRUN echo never-in-the-final-image\n"
        "FROM scratch\nCOPY --from=build /out/artifact /artifact\n")
    paths = StorePaths.at(store_root / "store")
    sink = Sink()
    image = build_dockerfile(paths, str(ctx), tags=("multi",), sink=sink)
    assert sink.take()[1] == 2  # build's RUN and the COPY; the unused stage did not run
    assert len(image.layers) == 1
    assert (paths.layer(image.layers[0]) / "artifact").read_text() == "built\n"
    test_stage = build_dockerfile(paths, str(ctx), target="test", sink=sink)
    hits, ran, lines = sink.take()
    assert (hits, ran, lines) == (0, 1, ["never-in-the-final-image"]) and len(test_stage.layers) == 1


@pytest.mark.slow  # ~15 s; deselect with -m "not slow" while iterating
def test_host_base_runs_host_programs_without_host_secrets(store_root: Path) -> None:
    paths = StorePaths.at(store_root / "store")
    image = ensure_image(paths, "host")
    layer = paths.layer(image.layers[0])
    assert not (layer / "etc" / "shadow").exists() and not (layer / "etc" / "ssl" / "private").exists()
    assert (layer / "etc" / "ssl" / "certs").is_dir()
    ctx = store_root / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM host\nRUN python3 -c 'print(6*7)' && ls /root | wc -l\n")
    sink = Sink()
    build_dockerfile(paths, str(ctx), sink=sink)
    assert sink.take()[2] == ["42", "0"]


@pytest.mark.slow  # ~1 min: a Debian root from the host's apt mirror (.ci/run installs debootstrap)
@pytest.mark.skipif(shutil.which("debootstrap") is None, reason="debootstrap is not installed")
def test_debootstrap_base(store_root: Path) -> None:
    paths = StorePaths.at(store_root / "store")
    image = ensure_image(paths, "debootstrap:bookworm")
    assert (paths.layer(image.layers[0]) / "usr" / "bin" / "apt-get").exists()
    assert ensure_image(paths, "debootstrap:bookworm").id == image.id


def test_independent_images_build_in_parallel_threads(store_root: Path) -> None:
    from stackfile.engine.images import build_images
    from stackfile.spec import recipe as ir

    paths = StorePaths.at(store_root / "store")
    recipes = {
        f"img{i}": ir.Recipe(stages=(ir.Stage(ir.From("busybox"), tuple(
            ir.Run((f"echo {i}-{j} > /f{j} && sleep 0.0{j}",)) for j in range(3))),))
        for i in range(4)
    }
    recipes["child"] = ir.Recipe(stages=(ir.Stage(ir.From("img0"), (ir.Run(("cat /f2",)),)),))
    sink = Sink()
    built = build_images(paths, recipes, sink=sink)
    assert sorted(built) == ["child", "img0", "img1", "img2", "img3"]
    assert sink.take()[1:] == (13, ["0-2"])
    for i in range(4):
        assert (paths.layer(built[f"img{i}"].layers[-1]) / "f2").read_text() == f"{i}-2\n"
    assert built["child"].layers == built["img0"].layers  # "cat" changed nothing: no new layer


KILL_CHILD = """
import sys
from stackfile.engine.images import build_dockerfile
from stackfile.store.paths import StorePaths

def sink(event):
    if event.kind == "build.step.start":
        print(event.step, flush=True)

build_dockerfile(StorePaths.at(sys.argv[1]), sys.argv[2], sink=sink)
"""


def test_kill_9_during_a_real_run_then_rebuild(store_root: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from stackfile.engine.images import remove_stale_build_containers
    from stackfile.store.layers import LayerStore

    paths = StorePaths.at(store_root / "store")
    ctx = store_root / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo 1 > /one\nRUN echo 2 > /two\n"
                                    "RUN echo 3 > /three && sleep 2\nRUN echo 4 > /four\n")
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(paths.root), str(ctx)], cwd=repo,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "sleep" in line:
                break
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    try:
        layers = LayerStore(paths)
        assert sorted(os.listdir(paths.layers)) == sorted(layers.list())  # no half layer is visible
        sink = Sink()
        image = build_dockerfile(paths, str(ctx), sink=sink)
        assert sink.take()[:2] == (2, 2)  # one and two reused; three and four ran again
        assert (paths.layer(image.layers[3]) / "three").read_text() == "3\n"
    finally:
        remove_stale_build_containers(paths, min_age=0)
    assert [d for d in os.listdir(paths.containers) if not d.startswith(".")] == []


def test_ctrl_c_during_a_run_ends_the_build_at_once_and_leaves_nothing(store_root: Path) -> None:
    """SIGINT while a RUN step sleeps (as PID 1, which ignores SIGTERM): ``image build`` exits 130
    at once, its RUN container, cgroups and scratch are gone, and a rebuild reuses the done step."""
    import signal
    import subprocess
    import sys
    import time

    root = store_root / "store"
    ctx = store_root / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo 1 > /one\nRUN echo started && sleep 60\n")
    cmd = [sys.executable, "-m", "stackfile", "--root", str(root), "image", "build", "-t", "interrupted",
           str(ctx)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip().endswith("started"):
                break
        cids = [d for d in os.listdir(root / "containers") if not d.startswith(".")]
        assert len(cids) == 1  # the RUN step's container
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert took < 3.0, f"the build took {took:.1f} s to stop"  # not a grace period
    assert [d for d in os.listdir(root / "containers") if not d.startswith(".")] == []
    assert cgroup_dirs(cids[0]) == []
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo 1 > /one\nRUN echo quick\n")
    sink = Sink()
    build_dockerfile(StorePaths.at(root), str(ctx), sink=sink)
    assert sink.take()[:2] == (1, 1)  # the first RUN was kept; the changed second one ran

"""``container run``'s click-free fast path (cli/container_fast.py) against the full click CLI.

The fast path must parse exactly what click parses (or decline), and behave exactly like it: same
stdout, stderr and exit codes (the container's, 125/126/127 for start failures, the error
categories' for bad input), ``--rm`` leaving nothing, ``-d`` printing the id of a running container.
Both run as real subprocesses against one throwaway store root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.cli.container_fast import parse
from stackfile.engine.containers import RunOptions
from tests.conftest import container_store, needs_root
from tests.support.cleanup import cgroup_dirs

FAST = ("import sys; sys.argv[0] = 'stackfile'; "  # as the console script: exits through os._exit
        "from stackfile.cli.project_fast import main; main()")
FAST_ONLY = ("import os, sys; from stackfile.cli.container_fast import handle; "
             "code = handle(sys.argv[1:], dict(os.environ)); "
             "print('handled', code is not None, 'click', 'click' in sys.modules, file=sys.stderr); "
             "sys.exit(0 if code is None else code)")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKFILE")}
    env["SF_TEST_VALUE"] = "from-host"
    return env


def fast(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FAST, "--root", str(root), *args], capture_output=True,
                          text=True, timeout=60, env=_env())


FULL = "from stackfile.cli.main import main; main()"  # click only (python -m stackfile tries fast paths)


def full(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FULL, "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60, env=_env())


def click_options(args: list[str]) -> RunOptions:
    """The RunOptions the click command builds for ``container run ARGS`` (parsed, not run)."""
    from stackfile.cli.container_cmd import run

    with run.make_context("run", list(args)) as ctx:
        params = dict(ctx.params)
    return RunOptions(image=params.pop("image"), command=tuple(params.pop("command")), **params)


SUPPORTED = [
    ["busybox", "true"],
    ["--rm", "busybox", "sh", "-c", "exit 3"],
    ["--rm", "-d", "--name", "web", "-e", "A=1", "-e", "B", "--env=C=3", "busybox"],
    ["-dit", "busybox", "sh"],
    ["--rm", "-m", "64m", "--cpus", "1.5", "--pids-limit", "20", "--memory-swap", "-1", "busybox", "true"],
    ["-u", "nobody", "-w", "/tmp", "--hostname", "h", "--network", "host", "--init", "--read-only", "x:1"],
    ["--cap-add", "NET_ADMIN", "--cap-drop=ALL", "--privileged", "-l", "a=b", "--label", "c", "busybox"],
    ["--restart", "always", "--entrypoint", "", "-v", "/tmp:/h:ro", "--tmpfs", "/t:size=1m", "busybox"],
    ["--sysctl", "net.ipv4.ip_forward=1", "--ulimit", "nofile=10:20", "--shm-size", "4m", "busybox"],
    ["--cpu-shares", "512", "--stop-signal", "SIGINT", "--stop-timeout", "2.5", "--security-opt",
     "seccomp=unconfined", "--env-file", "/nonexistent", "busybox", "--rm", "-d"],  # flags after IMAGE: argv
    ["--name", "-x", "busybox"],  # a value may start with '-'
]


@pytest.mark.parametrize("args", SUPPORTED)
def test_parse_matches_click(args: list[str]) -> None:
    parsed = parse(["--root", "/r", "container", "run", *args], {})
    assert parsed is not None
    root, opts = parsed
    assert root == "/r"
    assert opts == click_options(args)


@pytest.mark.parametrize("argv", [
    ["container", "run", "--help", "busybox"],
    ["container", "run", "--rm"],  # no image
    ["container", "run", "-x", "busybox"],
    ["container", "run", "-eA=1", "busybox"],  # attached short value: left to click
    ["container", "run", "-di", "-e", "A", "-dz", "busybox"],
    ["container", "run", "--rm=yes", "busybox"],
    ["container", "run", "--network", "bridge", "busybox"],
    ["container", "run", "--cpus", "half", "busybox"],
    ["container", "run", "--pids-limit", "1.5", "busybox"],
    ["container", "run", "--name"],
    ["container", "run", "--", "busybox"],
    ["container", "ls"],
    ["-p", "proj", "container", "run", "busybox"],
    ["--root", "/r", "--env", "dev", "container", "run", "busybox"],
    ["--bogus", "container", "run", "busybox"],
    ["run", "busybox"],
])
def test_parse_declines_what_it_does_not_support(argv: list[str]) -> None:
    assert parse(argv, {}) is None


def test_root_comes_from_the_environment_like_click() -> None:
    parsed = parse(["container", "run", "busybox"], {"STACKFILE_ROOT": "/env-root"})
    assert parsed is not None and parsed[0] == "/env-root"
    parsed = parse(["--root", "", "container", "run", "busybox"], {})
    assert parsed is not None and parsed[0] == "/var/lib/stackfile"


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    yield from container_store("stackfile-fast-", full)


def _containers(root: Path) -> list[str]:
    d = root / "containers"
    return sorted(n for n in os.listdir(d) if not n.startswith(".")) if d.exists() else []


def _cgroups(cid: str) -> list[str]:
    return cgroup_dirs(cid)


@needs_root
def test_fast_path_handles_run_without_click(root: Path) -> None:
    argv = ["--root", str(root), "container", "run", "--rm", "busybox", "sh", "-c", "echo hi"]
    r = subprocess.run([sys.executable, "-c", FAST_ONLY, *argv], capture_output=True, text=True, timeout=60,
                       env=_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hi\n"
    assert "handled True click False" in r.stderr


@needs_root
@pytest.mark.parametrize("remembered", [True, False], ids=["remembered", "store-read"])
@pytest.mark.parametrize("args", [["busybox", "sh", "-c", "echo hi"], ["busybox", "no-such-command"]])
def test_run_without_site_needs_no_typing_pathlib_or_warnings(root: Path, args: list[str],
                                                             remembered: bool) -> None:
    """Without site (no sandbox .pth hook preloading modules) the path imports neither typing,
    pathlib nor warnings (~7 ms), and PID 1 needs no import after pivot_root (os.execvpe would
    import warnings there, where the host's modules are out of reach). The same holds on the
    first run after the store changed, which reads the image from the store database."""
    import json
    import time

    for _ in range(2):  # the image lookup is remembered once the store is not racily new (a miss
        assert fast(root, "container", "run", "--rm", "busybox", "true").returncode == 0  # opens it)
        time.sleep(0.15)
    memo = root / "containers" / ".run-images.json"
    assert "busybox" in json.loads(memo.read_text())["refs"]
    if not remembered:
        memo.unlink()
    code = FAST_ONLY.replace("'click', 'click' in sys.modules",
                             "sorted({'typing', 'pathlib', 'warnings', 'click'} & set(sys.modules))")
    r = subprocess.run([sys.executable, "-S", "-c", code, "--root", str(root), "container", "run", "--rm",
                        *args], capture_output=True, text=True, timeout=60, env=_env(),
                       cwd=str(Path(__file__).resolve().parents[2]))
    assert "handled True []" in r.stderr
    if args[-1] == "no-such-command":
        assert r.returncode == 127 and "executable file not found in $PATH" in r.stderr
    else:
        assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    assert _containers(root) == []


@needs_root
@pytest.mark.parametrize("args", [
    ["--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7"],
    ["--rm", "-e", "A=1", "-e", "SF_TEST_VALUE", "-u", "nobody", "-w", "/tmp", "--hostname", "h1",
     "busybox", "sh", "-c", "echo $A $SF_TEST_VALUE $(id -u) $(pwd) $(hostname)"],
    ["--rm", "busybox", "no-such-command"],  # 127
    ["--rm", "busybox", "/etc/passwd"],  # 126
    ["--rm", "-m", "12q", "busybox", "true"],  # invalid size: the error category's code (15)
    ["--rm", "-u", "nobody-here", "busybox", "true"],
    ["--rm", "--restart", "always", "busybox", "true"],
    ["--rm", "--cpus", "0", "busybox", "true"],
    ["--rm", "127.0.0.1:9/no-such-image-here", "true"],  # a loopback registry that is not there
    ["--rm", "-m", "64m", "--pids-limit", "50", "busybox", "sh", "-c", "cat /proc/self/cgroup | "
     "grep -E ':(memory|pids|freezer):' | sed 's,/stackfile/[0-9a-f]*$,/stackfile/ID,' | sort"],
])
def test_fast_and_full_cli_agree(root: Path, args: list[str]) -> None:
    before = _containers(root)
    a = fast(root, "container", "run", *args)
    b = full(root, "container", "run", *args)
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)
    assert _containers(root) == before  # --rm leaves no directory behind, on any outcome


@needs_root
def test_exit_codes_and_output(root: Path) -> None:
    r = fast(root, "container", "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n")
    r = fast(root, "container", "run", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127 and "executable file not found" in r.stderr
    r = fast(root, "container", "run", "--rm", "busybox", "/etc/passwd")
    assert r.returncode == 126 and "Permission denied" in r.stderr
    r = fast(root, "container", "run", "--rm", "-m", "12q", "busybox", "true")
    assert r.returncode == 15 and r.stderr.startswith("error: --memory: invalid size '12q'")
    r = fast(root, "container", "run", "--rm", "-m", "64m", "--pids-limit", "50", "busybox", "cat",
             "/proc/self/cgroup")
    lines = [ln for ln in r.stdout.splitlines() if ln.split(":")[1] in ("memory", "pids", "freezer")]
    assert len(lines) == 3 and all("/stackfile/" in ln for ln in lines), r.stdout  # PID 1 joined them all


@needs_root
def test_rm_leaves_nothing(root: Path) -> None:
    names_dir = root / "containers" / ".names"
    before = (_containers(root), set(os.listdir(names_dir)) if names_dir.exists() else set())
    r = fast(root, "container", "run", "--rm", "--name", "gone", "-m", "32m", "--pids-limit", "9", "busybox",
             "cat", "/proc/self/cgroup")
    assert r.returncode == 0, r.stderr
    cid = next(ln.rsplit("/", 1)[1] for ln in r.stdout.splitlines() if ":memory:" in ln)
    assert len(cid) == 64
    assert (_containers(root), set(os.listdir(names_dir))) == before
    assert _cgroups(cid) == []


@needs_root
def test_detached_prints_the_id_and_runs(root: Path) -> None:
    r = fast(root, "container", "run", "-d", "--name", "bg", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert len(cid) == 64 and r.stderr == ""
    try:
        ls = full(root, "container", "ls", "-q")
        assert ls.stdout.split() == [cid[:12]]
        top = full(root, "container", "top", "bg")
        assert "sleep 30" in top.stdout
        assert fast(root, "container", "run", "-d", "--name", "bg", "busybox", "true").returncode == 16
    finally:
        assert full(root, "container", "rm", "-f", cid).returncode == 0
    assert cid not in _containers(root)
    assert _cgroups(cid) == []


@needs_root
def test_remembered_images_follow_the_store(root: Path, tmp_path: Path) -> None:
    """``container run`` remembers what an image name resolved to; a rebuild under the same name,
    or removing the image, must be seen by the very next run."""
    import json
    import time

    def build(text: str) -> None:
        (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN echo {text} > /which\n")
        r = full(root, "image", "build", "-t", "remembered", str(tmp_path))
        assert r.returncode == 0, r.stderr

    def which() -> subprocess.CompletedProcess[str]:
        return fast(root, "container", "run", "--rm", "remembered", "cat", "/which")

    cache = root / "containers" / ".run-images.json"
    build("one")
    for _ in range(3):  # the first runs may find the store racily new: it is remembered soon after
        assert which().stdout == "one\n"
        time.sleep(0.15)
    assert "remembered" in json.loads(cache.read_text())["refs"]
    build("two")
    assert which().stdout == "two\n"
    time.sleep(0.15)
    assert which().stdout == "two\n"
    assert full(root, "image", "rm", "remembered").returncode == 0
    gone = which()
    assert gone.returncode != 0 and gone.stdout == ""
    assert (gone.returncode, gone.stderr) == (lambda r: (r.returncode, r.stderr))(
        full(root, "container", "run", "--rm", "remembered", "cat", "/which"))

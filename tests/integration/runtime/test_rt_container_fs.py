"""``stackfile container cp|diff|export|commit`` end to end through the real CLI, against real
containers in a throwaway store: Docker's copy rules both ways, archive mode, ``-L``, ``-`` tar
streams, stopped containers (their overlay mounted in a helper's namespace, nothing left on the
host), ``diff``'s A/C/D lines, ``export`` without the container's mounts, and ``commit`` then run."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import container_store, needs_root
from tests.integration.runtime.rtsupport import host_mounts_under

pytestmark = needs_root

SETUP = ("test -e /ready || { mkdir -p /data/sub /data/empty && echo hi > /data/sub/f && "
         "echo top > /data/top && "
         "ln -s /etc/passwd /data/lnk && ln -s /data/sub /data/dirlnk && chown 1234:5678 /data/sub/f && "
         "rm /bin/ls && echo changed >> /etc/group && touch /ready; }; exec sleep 1000")


def sf(root: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKFILE")}
    argv = [sys.executable, "-m", "stackfile", "--root", str(root), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, **kw)  # type: ignore[call-overload]


def sfb(root: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKFILE")}
    argv = [sys.executable, "-m", "stackfile", "--root", str(root), *args]
    return subprocess.run(argv, capture_output=True, input=stdin, timeout=60, env=env)


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    yield from container_store("stackfile-cp-", sf)


@pytest.fixture()
def box(root: Path) -> Iterator[str]:
    """A running container whose /data holds a small tree (files, links, a foreign owner)."""
    r = sf(root, "container", "run", "-d", "busybox", "sh", "-c", SETUP)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    for _ in range(100):
        if sf(root, "container", "exec", cid, "test", "-e", "/ready").returncode == 0:
            break
    try:
        yield cid
    finally:
        sf(root, "container", "rm", "-f", cid)


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, r.stderr
    return r.stdout


def in_box(root: Path, cid: str, script: str) -> str:
    return ok(sf(root, "container", "exec", cid, "sh", "-c", script))


def test_copy_out_follows_dockers_rules(root: Path, box: str, tmp_path: Path) -> None:
    os.chdir(tmp_path)
    ok(sf(root, "container", "cp", f"{box}:/data", "new"))  # dir → missing path: becomes it
    assert sorted(os.listdir("new")) == ["dirlnk", "empty", "lnk", "sub", "top"]
    assert os.readlink("new/lnk") == "/etc/passwd"  # links are copied as links
    assert os.stat("new/sub/f").st_uid == os.geteuid()  # owned by the caller without -a
    ok(sf(root, "container", "cp", f"{box}:/data", "new"))  # dir → existing dir: goes into it
    assert os.path.isfile("new/data/sub/f")
    os.mkdir("contents")
    ok(sf(root, "container", "cp", f"{box}:/data/sub/.", "contents"))  # /. : the contents only
    assert os.listdir("contents") == ["f"]
    ok(sf(root, "container", "cp", f"{box}:/data/top", "contents"))  # file → dir: into it
    ok(sf(root, "container", "cp", f"{box}:/data/sub/f", "contents/top"))  # file → file: replaced
    assert Path("contents/top").read_text() == "hi\n" and sorted(os.listdir("contents")) == ["f", "top"]
    ok(sf(root, "container", "cp", "-a", f"{box}:/data/sub/f", "owned"))
    assert (os.stat("owned").st_uid, os.stat("owned").st_gid) == (1234, 5678)
    # -L follows the link inside the container: its /etc/passwd, never the host's
    ok(sf(root, "container", "cp", "-L", f"{box}:/data/lnk", "passwd"))
    assert Path("passwd").read_text() == in_box(root, box, "cat /etc/passwd")
    assert Path("passwd").read_text() != Path("/etc/passwd").read_text()
    ok(sf(root, "container", "cp", f"{box}:/data/dirlnk/", "viaslash"))  # a trailing / resolves it
    assert os.listdir("viaslash") == ["f"]
    errors = [
        sf(root, "container", "cp", f"{box}:/data/top/", "x"),  # not a directory
        sf(root, "container", "cp", f"{box}:/nope", "x"),
        sf(root, "container", "cp", f"{box}:/data/top", "missing/dir/"),
        sf(root, "container", "cp", f"{box}:/data/top", "missing/x"),  # the parent must exist
        sf(root, "container", "cp", f"{box}:/data", "contents/top"),  # dir onto a file
        sf(root, "container", "cp", "a", "b"),
    ]
    for r in errors:
        assert r.returncode != 0 and "error" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "not a directory" in errors[0].stderr and "no such directory" in errors[3].stderr
    assert not os.path.exists("x") and not os.path.exists("missing")


def test_copy_in_follows_dockers_rules_and_archive_mode(root: Path, box: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "deep" / "g").write_text("g\n")
    (src / "h").write_text("h\n")
    os.symlink("/etc/shadow", src / "link")
    os.chown(src / "h", 4321, 8765)
    ok(sf(root, "container", "cp", str(src), f"{box}:/in"))  # → missing: becomes /in
    ok(sf(root, "container", "cp", str(src), f"{box}:/in"))  # → existing dir: /in/src
    ok(sf(root, "container", "cp", f"{src}/.", f"{box}:/data/empty"))  # contents only
    ok(sf(root, "container", "cp", str(src / "h"), f"{box}:/data/"))  # file → dir
    ok(sf(root, "container", "cp", str(src / "h"), f"{box}:/data/top"))  # file → file
    ok(sf(root, "container", "cp", "-q", "-a", str(src / "h"), f"{box}:/data/archived"))
    out = in_box(root, box, "cat /in/h /in/src/deep/g /data/empty/deep/g /data/h /data/top; "
                            "readlink /in/link; stat -c '%u:%g' /in/h /data/archived")
    assert out.split() == ["h", "g", "g", "h", "h", "/etc/shadow", "0:0", "4321:8765"]
    bad = sf(root, "container", "cp", str(src / "h"), f"{box}:/no/such/x")
    assert bad.returncode != 0 and "no such directory" in bad.stderr
    bad = sf(root, "container", "cp", str(src), f"{box}:/data/top")
    assert bad.returncode != 0 and "cannot copy a directory to a file" in bad.stderr


def test_tar_streams_on_stdin_and_stdout(root: Path, box: str) -> None:
    r = sfb(root, "container", "cp", f"{box}:/data/sub", "-")
    assert r.returncode == 0, r.stderr
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tar:
        assert sorted(tar.getnames()) == ["sub", "sub/f"]
        member = tar.extractfile("sub/f")
        assert member is not None and member.read() == b"hi\n"
        assert tar.getmember("sub/f").uid == 1234
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("streamed/file")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"piped\n"))
    r = sfb(root, "container", "cp", "-", f"{box}:/data/empty", stdin=buf.getvalue())
    assert r.returncode == 0, r.stderr
    assert in_box(root, box, "cat /data/empty/streamed/file") == "piped\n"
    bad = sfb(root, "container", "cp", "-", f"{box}:/data/top", stdin=buf.getvalue())
    assert bad.returncode != 0 and b"must be an existing directory" in bad.stderr


def test_stopped_container_copies_both_ways_and_leaves_no_mount(root: Path, box: str, tmp_path: Path) -> None:
    ok(sf(root, "container", "stop", "-t", "0", box))
    (tmp_path / "n").write_text("while stopped\n")
    ok(sf(root, "container", "cp", str(tmp_path / "n"), f"{box}:/data/sub/"))
    ok(sf(root, "container", "cp", f"{box}:/data/sub", str(tmp_path / "out")))
    assert sorted(os.listdir(tmp_path / "out")) == ["f", "n"]
    assert host_mounts_under(root) == []
    assert "A /data/sub/n" in ok(sf(root, "container", "diff", box)).splitlines()
    ok(sf(root, "container", "start", box))
    assert in_box(root, box, "cat /data/sub/n") == "while stopped\n"


def test_diff_lists_added_changed_and_deleted(root: Path, box: str) -> None:
    lines = ok(sf(root, "container", "diff", box)).splitlines()
    assert lines == ["C /bin", "D /bin/ls", "A /data", "A /data/dirlnk", "A /data/empty", "A /data/lnk",
                     "A /data/sub", "A /data/sub/f", "A /data/top", "C /etc", "C /etc/group", "A /ready"]
    as_json = json.loads(ok(sf(root, "container", "diff", "--format", "json", box)))
    assert {"Path": "/bin/ls", "Kind": 2} in as_json


def test_export_is_the_flattened_file_system_without_mounts(root: Path, box: str, tmp_path: Path) -> None:
    ok(sf(root, "container", "export", "-o", str(tmp_path / "fs.tar"), box))
    with tarfile.open(tmp_path / "fs.tar") as tar:
        names = set(tar.getnames())
        member = tar.extractfile("data/sub/f")
        assert member is not None and member.read() == b"hi\n"
        assert tar.getmember("data/lnk").linkname == "/etc/passwd"
    assert {"bin/sh", "data/top", "etc/group", "ready"} <= names
    assert "bin/ls" not in names  # deleted in the container
    assert not any(n.startswith(("proc/", "sys/")) for n in names)  # no mounts
    r = sfb(root, "container", "export", box)
    assert r.returncode == 0 and len(r.stdout) > 100_000
    assert host_mounts_under(root) == []


def test_commit_then_run_the_image(root: Path, box: str) -> None:
    r = sf(root, "container", "commit", "-m", "snapshot", "-a", "Jane <j@x>",
           "-c", 'CMD ["cat", "/data/top"]', "-c", "ENV MODE=committed", box, "committed:v1")
    image_id = ok(r).strip()
    assert image_id.startswith("sha256:")
    assert sf(root, "container", "inspect", box).returncode == 0
    assert json.loads(ok(sf(root, "container", "inspect", box)))[0]["State"] == "running"  # unpaused
    assert ok(sf(root, "container", "run", "--rm", "committed:v1")) == "top\n"
    out = ok(sf(root, "container", "run", "--rm", "committed:v1", "sh", "-c",
                "echo $MODE; cat /data/sub/f; stat -c %u /data/sub/f; test -e /bin/ls || echo no-ls; "
                "tail -1 /etc/group"))
    assert out.split() == ["committed", "hi", "1234", "no-ls", "changed"]
    again = ok(sf(root, "container", "commit", box)).strip()  # the same changes: the same layer
    layers = [json.loads(ok(sf(root, "image", "inspect", ref)))[0] for ref in (image_id, again)]
    assert layers[0]["RootFS"]["Layers"][-1] == layers[1]["RootFS"]["Layers"][-1]
    bad = sf(root, "container", "commit", "-c", "RUN true", box)
    assert bad.returncode != 0 and "--change" in bad.stderr and "Traceback" not in bad.stderr

"""The ``image`` and ``system`` commands end to end, as a user runs them (a real subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.conftest import needs_root

pytestmark = needs_root


def sf(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_image_commands_round_trip(store_root: Path, tmp_path: Path) -> None:
    root = store_root / "store"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo hi > /hi\nCMD [\"cat\", \"/hi\"]\n")
    image_id = sf(root, "image", "build", "-q", "-t", "demo", str(ctx)).stdout.strip()
    assert image_id.startswith("sha256:")
    plain = sf(root, "image", "build", "-t", "demo", str(ctx))
    assert "built demo:latest" in plain.stderr or "built demo" in plain.stderr
    rows = [json.loads(line) for line in sf(root, "image", "ls", "--format", "json").stdout.splitlines()]
    assert {"demo", "busybox"} <= {r["Repository"] for r in rows}
    assert "RUN echo hi > /hi" in sf(root, "image", "history", "demo").stdout
    sf(root, "image", "tag", "demo", "demo:v2")
    (doc,) = json.loads(sf(root, "image", "inspect", "demo:v2").stdout)
    assert doc["Id"] == image_id and doc["Config"]["Cmd"] == ["cat", "/hi"]
    for fmt in ("docker-archive", "oci-archive"):
        archive = tmp_path / f"demo-{fmt}.tar"
        sf(root, "image", "save", "demo", "-o", str(archive), "--format", fmt)
        other = store_root / f"other-{fmt}"
        assert "Loaded image: demo:latest" in sf(other, "image", "load", "-i", str(archive)).stdout
        (loaded,) = json.loads(sf(other, "image", "inspect", "demo").stdout)
        assert loaded["Config"] == doc["Config"]
    assert sf(root, "image", "rm", "demo:v2").stdout.strip() == "untagged demo:v2"
    assert "Images" in sf(root, "system", "df").stdout
    sf(root, "image", "rm", "demo")
    assert "deleted" in sf(root, "system", "prune").stdout
    assert "demo" not in sf(root, "image", "ls").stdout


def test_image_import_and_errors(store_root: Path, tmp_path: Path) -> None:
    root = store_root / "store"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("etc/motd")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    (tmp_path / "rootfs.tar").write_bytes(buf.getvalue())
    image_id = sf(root, "image", "import", str(tmp_path / "rootfs.tar"), "mine:1").stdout.strip()
    assert json.loads(sf(root, "image", "inspect", "mine:1").stdout)[0]["Id"] == image_id
    missing = sf(root, "image", "rm", "nope", ok=False)
    assert missing.returncode == 14 and missing.stderr.startswith("error: image 'nope' is not in the store")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN exit 7\n")
    failed = sf(root, "image", "build", str(ctx), ok=False)
    assert failed.returncode == 15
    assert f"{ctx}/Dockerfile:2: build step 'RUN exit 7' failed with exit code 7" in failed.stderr
    (ctx / "Dockerfile").write_text("FROM nginx:1.25\n")
    pull = sf(root, "image", "build", str(ctx), ok=False)
    assert pull.returncode == 17 and "registry pulls are not supported" in pull.stderr


def test_project_build_tags_like_compose(store_root: Path, tmp_path: Path) -> None:
    root = store_root / "store"
    proj = tmp_path / "shop"
    (proj / "web").mkdir(parents=True)
    (proj / "web" / "Dockerfile").write_text("FROM busybox\nARG V=1\nENV VERSION=$V\nRUN echo web $VERSION\n")
    (proj / "compose.yaml").write_text(
        "images:\n  base:\n    from: busybox\n    steps:\n      - run: echo base > /base\n"
        "services:\n  web:\n    build:\n      context: ./web\n      args: {V: '2'}\n"
        "  api:\n    image: base\n    command: sleep 1\n")
    first = sf(root, "-f", str(proj / "compose.yaml"), "build")
    assert "| web 2" in first.stderr
    names = {json.loads(line)["Repository"] for line in
             sf(root, "image", "ls", "--format", "json").stdout.splitlines()}
    assert {"shop-web", "base"} <= names
    again = sf(root, "-f", str(proj / "compose.yaml"), "build", "web", "--build-arg", "V=3")
    assert "| web 3" in again.stderr
    (doc,) = json.loads(sf(root, "image", "inspect", "shop-web").stdout)
    assert "VERSION=3" in doc["Config"]["Env"]
    missing = sf(root, "-f", str(proj / "compose.yaml"), "build", "nope", ok=False)
    assert missing.returncode == 14 and "services are: api, web" in missing.stderr


def test_gc_keeps_the_layers_of_live_containers(store_root: Path, tmp_path: Path) -> None:
    """An image removed while a container runs from it: prune -a and system prune leave the
    container's layers, so it keeps running, exec sees its files, and it restarts; once the
    container is gone, the next prune frees them."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo kept > /kept\n")
    sf(store_root, "image", "build", "-q", "-t", "live", str(ctx))
    from stackfile.store.images import ImageStore
    from stackfile.store.paths import StorePaths

    layers = set(ImageStore(StorePaths.at(store_root)).get("live").layers)
    assert len(layers) == 2  # busybox and the RUN step
    cid = sf(store_root, "container", "run", "-d", "live", "sleep", "1000").stdout.strip()
    try:
        before = set(os.listdir(store_root / "layers"))
        sf(store_root, "image", "rm", "-f", "live")
        assert "live" not in sf(store_root, "image", "ls").stdout
        sf(store_root, "image", "prune", "-a")
        sf(store_root, "system", "prune", "-a")
        after = set(os.listdir(store_root / "layers"))
        assert after == before, (before - after)  # busybox's and the RUN layer: the container uses both
        assert layers <= after
        assert sf(store_root, "container", "exec", cid, "cat", "/kept").stdout == "kept\n"
        sf(store_root, "container", "restart", "-t", "0", cid)
        assert sf(store_root, "container", "exec", cid, "cat", "/kept").stdout == "kept\n"
    finally:
        sf(store_root, "container", "rm", "-f", cid, ok=False)
    sf(store_root, "system", "prune", "-a")
    assert set(os.listdir(store_root / "layers")).isdisjoint(layers)  # now nothing refers to them

"""Image archives written by the real tools, not by stackfile: ``docker save`` (Docker 20.10, BuildKit)
and ``podman save`` (Podman 4.3, docker-archive with symlinked layers and oci-archive with gzip
layers). The archives and how they were made are in tests/fixtures/archives/README.md. Each is
loaded with ``image load`` and run: config, files, modes, symlinks and a whiteout must survive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_root

pytestmark = needs_root

ARCHIVES = Path(__file__).resolve().parents[2] / "fixtures" / "archives"
BUSYBOX = Path("/bin/busybox")
# The image has no shell: the host's static busybox is bind-mounted to look inside.
LOOK = ("busybox cat /a/y; busybox ls -a /a | busybox tr '\\n' ' '; echo; busybox readlink /link; "
        "busybox stat -c %a /tool; busybox cat /made/r; echo $GREETING; pwd; /tool")


def sf(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize(("archive", "name"), [
    ("docker-20.10-save.tar", "sffixture:docker"),
    ("podman-4.3-docker-archive.tar", "localhost/sffixture:podman"),
    ("podman-4.3-oci-archive.tar", "localhost/sffixture:podman"),
])
def test_load_and_run_an_archive_made_by_a_peer(store_root: Path, archive: str, name: str) -> None:
    if not BUSYBOX.exists():
        pytest.skip("needs the host's static busybox at /bin/busybox (apt install busybox-static)")
    loaded = sf(store_root, "image", "load", "-i", str(ARCHIVES / archive)).stdout
    assert f"Loaded image: {name}" in loaded, loaded
    (doc,) = json.loads(sf(store_root, "image", "inspect", name).stdout)
    config = doc["Config"]
    assert "GREETING=hi" in config["Env"] and config["WorkingDir"] == "/a"
    assert config["Cmd"] == ["/tool"] and config["Labels"]["org.example.fixture"] == "stackfile"
    run = sf(store_root, "container", "run", "--rm", "-v", f"{BUSYBOX}:/bin/busybox:ro",
             "-v", f"{BUSYBOX}:/bin/sh:ro", name, "/bin/sh", "-c", LOOK)
    lines = run.stdout.splitlines()
    assert lines[0] == "keep"
    assert lines[1].split() == [".", "..", "y"]  # a/x was deleted by the RUN step: its whiteout applied
    assert lines[2:] == ["a/y", "755", "run", "hi", "/a", "tool"]  # /tool runs through the /bin/sh mount

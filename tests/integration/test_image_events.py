"""Image events in the journal, written where images change: a base source made on first use
(``pull``), a build, ``image tag``, ``image rm`` (``untag``, then ``delete`` with the last name)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import needs_root

pytestmark = needs_root


def _sf(root: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_image_lifecycle_is_journalled(store_root: Path, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo hi > /hi\n")
    image_id = _sf(store_root, "image", "build", "-q", "-t", "app", str(tmp_path)).strip()
    _sf(store_root, "image", "tag", "app", "app2:v1")
    _sf(store_root, "image", "rm", "app2:v1")
    _sf(store_root, "image", "rm", "app")
    out = _sf(store_root, "system", "events", "--since", "10m", "--until", "0s", "--filter", "type=image",
              "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.ID}}")
    lines = [line.split() for line in out.splitlines()]
    base = lines[0][2]
    assert lines == [["tag", "busybox:latest", base], ["pull", "busybox:latest", base],
                     ["tag", "app:latest", image_id], ["build", "app", image_id],
                     ["tag", "app2:v1", image_id],
                     ["untag", "app2:v1", image_id], ["untag", "app:latest", image_id],
                     ["delete", "app:latest", image_id]]
    only = _sf(store_root, "system", "events", "--since", "10m", "--until", "0s", "--filter", "type=image",
               "--filter", "event=delete", "--filter", "event=pull", "--format", "{{.Action}}")
    assert only.split() == ["pull", "delete"]

"""Compose's ``cp``, ``commit`` and ``export SERVICE`` on a live stack: a service name (and
``--index``) instead of a container, the same rules as ``container cp|commit|export``; then the
committed image runs as a service of another stack."""

from __future__ import annotations

import tarfile
from pathlib import Path

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root


def test_cp_commit_and_export_a_service(project: Project, tmp_path: Path) -> None:
    project.write("""\
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo $$HOSTNAME > /tmp/who; exec sleep 1000"]
    stop_signal: SIGKILL
    deploy: {replicas: 2}
""")
    project.sf("up", "-d")
    (tmp_path / "page.html").write_text("<h1>hello</h1>\n")
    project.sf("cp", str(tmp_path / "page.html"), "web:/var/www/")
    project.sf("cp", "--index", "2", str(tmp_path / "page.html"), "web:/second.html")
    out = project.sf("exec", "web", "sh", "-c", "cat /var/www/page.html; ls /second.html 2>&1 || true").stdout
    assert out.splitlines()[0] == "<h1>hello</h1>" and "No such file" in out
    assert project.sf("exec", "--index", "2", "web", "cat", "/second.html").stdout == "<h1>hello</h1>\n"
    project.sf("cp", "web:/tmp/who", str(tmp_path / "who"))
    assert (tmp_path / "who").read_text().strip() == f"{project.name}-web-1"  # the first replica
    bad = project.sf("cp", "nope:/tmp/who", str(tmp_path / "x"), check=False)
    assert bad.returncode != 0 and "nope" in bad.stderr and "Traceback" not in bad.stderr

    project.sf("export", "web", "-o", str(tmp_path / "web.tar"))
    with tarfile.open(tmp_path / "web.tar") as tar:
        page = tar.extractfile("var/www/page.html")
        assert page is not None and page.read() == b"<h1>hello</h1>\n"

    image = f"{project.name}-snap:v1"
    image_id = project.sf("commit", "web", image).stdout.strip()
    assert image_id.startswith("sha256:")
    project.write(f"""\
services:
  snap:
    image: {image}
    command: ["cat", "/var/www/page.html"]
""", "snap.yaml")
    run = project.sf("-f", str(project.workdir / "snap.yaml"), "run", "--rm", "snap", file=False)
    assert run.stdout == "<h1>hello</h1>\n"
    project.sf("container", "run", "--rm", image, "true", file=False)
    project.sf("image", "rm", image, file=False)

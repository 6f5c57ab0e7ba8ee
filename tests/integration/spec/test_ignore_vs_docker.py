"""Differential test: the files our ignore rules keep equal the files Docker sends in its context."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from stackfile.spec.ignore import IgnoreRules
from tests.support.ground_truth import docker_cli

pytestmark = pytest.mark.ground_truth("docker")  # deselected, and counted, without a Docker daemon
DOCKER = docker_cli() or "docker"

FILES = [
    "app.py", "README.md", "CHANGES.md", "docs/README.md", "docs/guide.md", "docs/img/logo.png",
    "node_modules/a/index.js", "node_modules/keep/index.js", "src/main.py", "src/__pycache__/main.pyc",
    "src/pkg/mod.pyc", "src/pkg/mod.py", "build/out.o", "build/keep/me.txt", "logs/a.log", "a.log",
    "deep/x/y/z.tmp", "deep/x/y/z.txt", ".git/HEAD", "weird name.txt", "data/[1].csv", "data/2.csv",
]
PATTERNS = """\
# comment
.git
**/*.pyc
*.md
!README.md
node_modules
!node_modules/keep
build/**
!build/keep/me.txt
*.log
!logs/*.log
**/*.tmp
/data/?.csv
./weird*
"""


def _docker_files(context: Path) -> set[str]:
    (context / "Dockerfile").write_text("FROM busybox\nCOPY . /ctx/\n")
    tag = f"stackfile-h2-ignore-{uuid.uuid4().hex[:10]}"
    container = None
    try:
        subprocess.run([DOCKER, "build", "-q", "-t", tag, str(context)], check=True, capture_output=True,
                       timeout=120, env={"DOCKER_BUILDKIT": "0", "PATH": os.environ.get("PATH", "/usr/bin")})
        container = subprocess.run([DOCKER, "create", tag], check=True, capture_output=True,
                                   text=True).stdout.strip()
        data = subprocess.run([DOCKER, "export", container], check=True, capture_output=True).stdout
    finally:
        if container:
            subprocess.run([DOCKER, "rm", "-f", container], capture_output=True, check=False)
        subprocess.run([DOCKER, "rmi", "-f", tag], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    return {m.name.removeprefix("ctx/") for m in members if m.isfile() and m.name.startswith("ctx/")}


def test_context_files_match_docker(tmp_path: Path) -> None:
    for rel in FILES:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    (tmp_path / ".dockerignore").write_text(PATTERNS)
    rules = IgnoreRules.from_file(tmp_path / ".dockerignore")
    ours = {rel for rel in [*FILES, ".dockerignore"] if not rules.ignored(rel)}
    dirs = {str(Path(rel).parents[i]) for rel in FILES for i in range(len(Path(rel).parts) - 1)}
    for directory in sorted(dirs):
        if rules.can_skip_dir(directory):
            assert not [f for f in ours if f.startswith(directory + "/")], directory
    assert rules.can_skip_dir(".git") and not rules.can_skip_dir("node_modules")
    # Docker always sends the Dockerfile and .dockerignore; both are in its COPY . result
    assert _docker_files(tmp_path) - {"Dockerfile"} == ours

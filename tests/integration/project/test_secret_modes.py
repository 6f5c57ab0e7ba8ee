"""Secrets and configs keep ``mode``, ``uid`` and ``gid`` as Compose gives them: an environment or
inline source is a file with exactly those (0444 root:root by default); a ``file`` source is
bind-mounted as it is, and ``uid``/``gid``/``mode`` on it draw Compose's warning."""

from __future__ import annotations

import os

import pytest

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  main:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    secrets:
      - source: from_env
        mode: 0400
      - source: from_env
        target: shared
        mode: 0440
        uid: "1000"
        gid: "2000"
      - plain
      - source: from_file
        mode: 0400
    configs:
      - source: inline
        target: /etc/inline.conf
        mode: 0400
        uid: "1000"
secrets:
  from_env:
    environment: SECRET_VALUE
  plain:
    environment: SECRET_VALUE
  from_file:
    file: ./token.txt
configs:
  inline:
    content: "setting=1"
"""


def _stat(p: Project, path: str) -> str:
    return p.sf("exec", "-T", "main", "stat", "-c", "%a %u %g", path).stdout.strip()


def test_mode_uid_gid_of_environment_and_inline_sources(project: Project,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_VALUE", "s3cret")
    p = project
    (p.workdir / "token.txt").write_text("from-file\n")
    os.chmod(p.workdir / "token.txt", 0o644)
    p.write(STACK)
    up = p.sf("up", "-d")
    assert up.stderr.count("secrets `uid`, `gid` and `mode` are not supported, they will be ignored") == 1
    assert "config `uid`" not in up.stderr  # the config's source is inline: its uid and mode are applied

    assert _stat(p, "/run/secrets/from_env") == "400 0 0"
    assert _stat(p, "/run/secrets/shared") == "440 1000 2000"
    assert _stat(p, "/run/secrets/plain") == "444 0 0"  # Compose's default
    assert _stat(p, "/etc/inline.conf") == "400 1000 0"
    assert _stat(p, "/run/secrets/from_file") == "644 0 0"  # as on the host: mode ignored

    assert p.sf("exec", "-T", "main", "cat", "/run/secrets/from_env").stdout == "s3cret"
    denied = p.sf("exec", "-T", "-u", "1000", "main", "cat", "/run/secrets/from_env", check=False)
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    assert p.sf("exec", "-T", "-u", "1000:2000", "main", "cat", "/run/secrets/shared").stdout == "s3cret"
    assert p.sf("exec", "-T", "-u", "1000", "main", "cat", "/etc/inline.conf").stdout == "setting=1"
    other = p.sf("exec", "-T", "-u", "1001:1001", "main", "cat", "/run/secrets/shared", check=False)
    assert other.returncode != 0 and "Permission denied" in other.stderr


def test_non_numeric_uid_is_refused_with_its_key(project: Project) -> None:
    p = project
    p.write(STACK.replace('uid: "1000"\n        gid: "2000"', 'uid: app'))
    out = p.sf("up", "-d", check=False)
    assert out.returncode != 0
    assert "services.main.secrets[1].uid" in out.stderr and "Traceback" not in out.stderr

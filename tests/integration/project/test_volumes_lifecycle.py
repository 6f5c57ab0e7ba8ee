"""Volumes through the project engine and the CLI: a new named volume takes the image's content at
its mount point (once), anonymous volumes are kept by plain ``down`` and removed with ``down -v``,
``volume rm`` refuses a volume a container uses; the short ``tmpfs:`` form keeps size and mode."""

from __future__ import annotations

import json

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
images:
  site:
    from: busybox
    steps:
      - run: mkdir -p /srv/www && echo from-image > /srv/www/index.html && echo two > /srv/www/b.txt
services:
  web:
    image: site
    init: true
    command: ["sleep", "1000"]
    volumes:
      - content:/srv/www
      - /scratch
    tmpfs: ["/cache:size=512kb,mode=750"]
volumes:
  content:
"""


def volumes(p: Project) -> dict[str, dict[str, object]]:
    rows = json.loads(p.sf("volume", "ls", "--format", "json").stdout)
    return {str(r["Name"]): r for r in rows}


def test_named_volume_populated_once_anonymous_kept_until_down_v_and_rm_refused(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d")
    named = f"{p.name}_content"
    bogus = p.sf("ps", "--status", "bogus", check=False)
    assert bogus.returncode == 2 and "'bogus' is not one of" in bogus.stderr, bogus
    assert p.sf("ps", "-q", "--status", "exited").stdout == ""
    assert p.sf("ps", "--services", "--status", "exited", "--status", "running").stdout == "web\n"
    # first use: the image's files at the mount point are copied into the new, empty volume
    assert p.sf("exec", "-T", "web", "cat", "/srv/www/index.html", "/srv/www/b.txt").stdout == \
        "from-image\ntwo\n"
    cache = p.sf("exec", "-T", "web", "sh", "-c", "stat -c %a /cache; grep ' /cache ' /proc/mounts").stdout
    assert cache.startswith("750\ntmpfs /cache tmpfs ") and "size=512k" in cache, cache
    found = volumes(p)
    assert named in found and len(found) == 2, found
    (anon,) = set(found) - {named}
    assert all(len(v["UsedBy"]) == 1 for v in found.values()), found  # type: ignore[arg-type]
    data = p.root / "volumes" / named / "_data"
    assert (data / "index.html").read_text() == "from-image\n"

    # in use: refused, with the reason, and nothing removed
    refused = p.sf("volume", "rm", named, check=False)
    assert refused.returncode != 0 and "in use" in refused.stderr, refused
    assert (data / "index.html").exists()

    # only once: a changed volume is not refilled by a new container
    p.sf("exec", "-T", "web", "sh", "-c", "echo changed > /srv/www/index.html; rm /srv/www/b.txt; "
         "echo scratch > /scratch/f")
    p.sf("down")
    after_down = volumes(p)
    assert set(after_down) == {named, anon}, after_down  # plain down keeps both (Compose)
    assert all(not v["UsedBy"] for v in after_down.values()), after_down
    p.sf("up", "-d")
    assert p.sf("exec", "-T", "web", "sh", "-c", "cat /srv/www/*; cat /scratch/f").stdout == \
        "changed\nscratch\n"

    # down -v: named and anonymous volumes go, data and records
    p.sf("down", "-v")
    assert volumes(p) == {}
    assert not any((p.root / "volumes").iterdir())

"""The ``busybox`` base matches Docker's official ``busybox`` image where files written for Docker
notice: buildroot's users, groups and homes, /etc/localtime (UTC), /usr/bin/env, every applet in
/bin; and a 20-service stack written for Docker's busybox (bench/compose.py's, its web servers
serving /var/www) runs every service."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

from stackfile.build.bases import materialize_base
from stackfile.store.paths import StorePaths
from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

BENCH = Path(__file__).resolve().parents[3] / "bench" / "compose.py"
# `docker run --rm busybox cat /etc/passwd` (busybox:1.37, buildroot's skeleton)
OFFICIAL_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""


def _layer(store_root: Path) -> Path:
    paths = StorePaths(store_root)
    image = materialize_base(paths, "busybox")
    (layer,) = image.lower_dirs(paths)
    return Path(layer)


def test_the_tree_has_the_official_users_groups_homes_and_files(store_root: Path) -> None:
    root = _layer(store_root)
    assert (root / "etc/passwd").read_text() == OFFICIAL_PASSWD
    groups = {line.split(":")[0]: line for line in (root / "etc/group").read_text().splitlines()}
    for name, gid in (("root", 0), ("daemon", 1), ("bin", 2), ("sys", 3), ("mail", 8), ("www-data", 33),
                      ("operator", 37), ("staff", 50), ("users", 100), ("nogroup", 65534)):
        assert groups[name] == f"{name}:x:{gid}:", groups
    assert groups["wheel"] == "wheel:x:10:root"
    shadow = (root / "etc/shadow").read_text().splitlines()
    assert shadow[0].startswith("root:*:")  # locked, as the official image (CVE-2019-5021)
    assert os.stat(root / "etc/shadow").st_mode & 0o777 == 0o600
    for line in OFFICIAL_PASSWD.splitlines():
        home = line.split(":")[5]
        assert (root / home.lstrip("/")).is_dir(), home
    owners = {d: (os.stat(root / d).st_uid, os.stat(root / d).st_gid)
              for d in ("home", "var/spool/mail", "usr/sbin", "var/www", "root")}
    assert owners == {"home": (65534, 65534), "var/spool/mail": (8, 8), "usr/sbin": (1, 1),
                      "var/www": (0, 0), "root": (0, 0)}
    assert (root / "etc/localtime").read_bytes().startswith(b"TZif")
    assert (root / "etc/localtime").read_bytes().endswith(b"\nUTC0\n")
    assert os.readlink(root / "usr/bin/env") == "/bin/busybox"
    assert os.readlink(root / "bin/httpd") == "/bin/busybox"  # `busybox --install /bin`
    assert os.readlink(root / "usr/sbin/httpd") == "/bin/busybox"  # and the --list-full paths


def test_a_container_sees_utc_env_and_the_users(store_root: Path, tmp_path: Path) -> None:
    proj = Project(store_root, tmp_path, "bbcheck")
    out = proj.sf("container", "run", "--rm", "busybox", "/usr/bin/env", "sh", "-c",
                  "date +%Z; id www-data; id nobody; cd ~mail 2>/dev/null; "
                  "su -s /bin/sh www-data -c 'echo $HOME'", file=False).stdout
    assert out.splitlines() == ["UTC", "uid=33(www-data) gid=33(www-data) groups=33(www-data)",
                                "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)", "/var/www"]


def test_the_20_service_docker_busybox_stack_runs_every_service(store_root: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_compose", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # as written for Docker's busybox: the web servers serve /var/www, which exists there
    text = bench.stack_yaml(20, "busybox").replace('"-p", "80"]', '"-p", "8080", "-h", "/var/www"]')
    assert text.count("/var/www") == 10
    workdir = tmp_path / "proj"
    workdir.mkdir()
    proj = Project(store_root, workdir, "bb20")
    proj.write(text)
    try:
        proj.sf("up", "-d")
        time.sleep(1.0)  # a server that cannot chdir to its -h dir exits at once
        rows = proj.ps()
        assert len(rows) == 20
        assert {name: row["State"] for name, row in rows.items()} == {name: "running" for name in rows}
    finally:
        proj.sf("down", "-v", "-t", "1", check=False)

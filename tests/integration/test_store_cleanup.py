"""The test cleanup of a store root (tests/support/cleanup.py, used by the ``store_root`` fixture) stops
what a test left running and removes its kernel objects: a detached container (shim, PID 1, cgroups),
a network (bridge, nft table, DNS server) and a sandbox with a published port (veth, DNAT table, proxy)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stackfile.network import Attachment, NetworkConfig, NetworkManager, PortBinding
from stackfile.network.links import link_exists
from stackfile.network.names import nft_table, ports_table
from stackfile.store.paths import StorePaths
from tests.conftest import needs_root
from tests.support.cleanup import cgroup_dirs, clean_store_root, store_processes

pytestmark = needs_root


def _tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def test_clean_store_root_leaves_nothing_running_or_in_the_kernel() -> None:
    root = Path(tempfile.mkdtemp(prefix="stackfile-clean-", dir="/var/tmp"))
    try:
        argv = ["--root", str(root), "container", "run", "-d", "busybox", "sleep", "1000"]
        run = subprocess.run([sys.executable, "-m", "stackfile", *argv], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        assert run.returncode == 0, run.stderr
        cid = run.stdout.strip()
        nm = NetworkManager(StorePaths.at(root).ensure())
        rec = nm.ensure_network(NetworkConfig("c_net", "c"))
        sb = nm.create_sandbox("c" * 64, [Attachment("c_net", ("c",))], ports=[PortBinding(80)])
        veth = sb.endpoints[0].host_ifname
        nm.conn.close()
        pids = store_processes(root)
        deadline = time.monotonic() + 10  # the proxy loads the DNAT table once it runs
        while ports_table(nm.paths, sb.id) not in _tables() and time.monotonic() < deadline:
            time.sleep(0.05)
        tables = _tables()
        # what the cleanup must remove is really there (so the checks below can fail)
        assert cgroup_dirs(cid) and len(pids) >= 4, pids  # shim, sleep, DNS server, proxy
        assert link_exists(rec.bridge) and link_exists(veth)
        assert nft_table(rec.bridge) in tables and ports_table(nm.paths, sb.id) in tables
    finally:
        clean_store_root(root)
    assert not root.exists()
    assert [p for p in pids if os.path.exists(f"/proc/{p}")] == []
    assert cgroup_dirs(cid) == []
    assert not link_exists(rec.bridge) and not link_exists(veth)
    tables = _tables()
    assert nft_table(rec.bridge) not in tables and ports_table(nm.paths, sb.id) not in tables

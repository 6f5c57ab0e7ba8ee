"""The Docker host case, reproduced in a private network namespace so it runs on any host: iptables
FORWARD policy DROP with br_netfilter on. Containers on one network must still talk to each other,
and our ACCEPT rules must go with the network."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.conftest import _unmount_below, needs_root

pytestmark = needs_root
BR_NETFILTER = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")

SCRIPT = textwrap.dedent("""
    import subprocess, sys, time
    from pathlib import Path
    from stackfile.network import Attachment, NetworkConfig, NetworkManager
    from stackfile.store.paths import StorePaths

    root = Path(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["iptables", "-w", "-P", "FORWARD", "DROP"], check=True)
    nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if nf.exists():
        nf.write_text("1")  # per namespace: bridged frames go through FORWARD, as on a Docker host
    print("br_netfilter", nf.read_text().strip() if nf.exists() else "absent")
    nm = NetworkManager(StorePaths.at(root).ensure())
    rec = nm.ensure_network(NetworkConfig("d_net", "d"))
    a = nm.create_sandbox("a", [Attachment("d_net", ("a",))])
    b = nm.create_sandbox("b", [Attachment("d_net", ("b",))])
    www = root / "www"; www.mkdir(); (www / "index.html").write_text("through\\n")
    httpd = subprocess.Popen(["nsenter", f"--net={a.netns_path}", "busybox", "httpd", "-f", "-p", "80",
                              "-h", str(www)])
    try:
        rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
        print("rules", rules.count(f"stackfile:{rec.bridge}"))
        got = ""
        for _ in range(50):
            got = subprocess.run(["timeout", "3", "nsenter", f"--net={b.netns_path}", "busybox", "wget",
                                  "-qO-", f"http://{a.endpoints[0].address}/"],
                                 capture_output=True, text=True).stdout
            if got:
                break
            time.sleep(0.1)
        print("got", got.strip())
    finally:
        httpd.kill(); httpd.wait()
        nm.destroy_sandbox("a"); nm.destroy_sandbox("b"); nm.remove_network("d_net")
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    print("left", rules.count("stackfile:"))
""")


def test_forward_drop_host_still_connects_containers() -> None:
    if shutil.which("iptables") is None:
        pytest.skip("iptables is not installed")
    if not BR_NETFILTER.exists():  # without it bridged frames skip FORWARD and any rules "get through"
        subprocess.run(["modprobe", "br_netfilter"], capture_output=True, check=False)
    if not BR_NETFILTER.exists():
        pytest.skip("br_netfilter is not available (modprobe br_netfilter failed): "
                    "the DROP case cannot occur")
    root = Path(tempfile.mkdtemp(prefix="stackfile-dockerfw-", dir="/var/tmp"))
    try:
        proc = subprocess.run(["unshare", "--net", sys.executable, "-c", SCRIPT, str(root)],
                              capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3])
        lines = dict(ln.split(" ", 1) for ln in proc.stdout.splitlines() if " " in ln)
        assert proc.returncode == 0, proc.stderr
        assert lines == {"br_netfilter": "1", "rules": "4", "got": "through", "left": "0"}
    finally:
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)


IDEMPOTENT = textwrap.dedent("""
    import subprocess
    from ipaddress import IPv4Network
    from stackfile.network import firewall

    def rules():
        out = subprocess.run(["nft", "list", "table", "ip", "stackfile_sfidem"],
                             capture_output=True, text=True)
        return sorted(ln.strip() for ln in out.stdout.splitlines() if "drop" in ln or "masquerade" in ln)

    net = IPv4Network("10.89.251.0/24")
    firewall.install("sfidem", net, False)
    first = rules()
    firewall.install("sfidem", net, False)
    print("same", rules() == first, len(first))
    firewall.install("sfidem", net, True)
    print("internal", len(rules()), any("masquerade" in r for r in rules()))
    firewall.remove("sfidem")
    print("gone", subprocess.run(["nft", "list", "table", "ip", "stackfile_sfidem"],
                                 capture_output=True).returncode != 0)
""")


def test_firewall_install_is_idempotent_and_switches_modes() -> None:
    """Re-installing (an ``up`` repairing a network) gives the same rules, never duplicates."""
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed")
    proc = subprocess.run(["unshare", "--net", sys.executable, "-c", IDEMPOTENT], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parents[3])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["same True 2", "internal 3 False", "gone True"]

"""Names as Compose gives them: a ``links`` alias resolves (for the linking container), a
``network_mode: service:`` container shares the other's hostname, hosts and resolver,
``host-gateway`` is the network's gateway, ``domainname`` makes ``hostname -f`` a FQDN, and a
service's ``hostname`` is a name in the network's DNS."""

from __future__ import annotations

import re

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  main:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    hostname: myhost
    domainname: example.test
    extra_hosts: ["gw.local:host-gateway", "fixed.local=10.1.2.3"]
  other:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    links: ["main:linked-main"]
  side:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    network_mode: service:main
"""


def _sh(p: Project, service: str, script: str, check: bool = True) -> str:
    return p.sf("exec", "-T", service, "sh", "-c", script, check=check).stdout


def _resolve(p: Project, service: str, name: str) -> list[str]:
    """The addresses the container's resolver (our DNS) gives for ``name``."""
    out = _sh(p, service, f"nslookup {name} || true")
    answer = out.split("Name:", 1)[1] if "Name:" in out else ""
    return re.findall(r"Address:\s*([0-9.]+)\s*$", answer, re.M)


def test_links_hostname_domainname_host_gateway_and_shared_network(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d")
    main_ip = _resolve(p, "other", "main")
    assert len(main_ip) == 1 and main_ip[0].startswith("10.89.")
    assert _resolve(p, "other", "linked-main") == main_ip
    assert _resolve(p, "main", "linked-main") == []  # the alias is the linking container's alone
    assert _resolve(p, "other", "myhost") == main_ip  # a service's hostname is a DNS name

    assert _sh(p, "main", "hostname").strip() == "myhost"
    assert _sh(p, "main", "hostname -f").strip() == "myhost.example.test"
    hosts = _sh(p, "main", "cat /etc/hosts")
    assert f"{main_ip[0]}\tmyhost.example.test myhost\n" in hosts
    gateway = _sh(p, "main", "ip route").split("default via ", 1)[1].split()[0]
    assert f"{gateway}\tgw.local\n" in hosts and "host-gateway" not in hosts
    assert "10.1.2.3\tfixed.local\n" in hosts
    assert _resolve(p, "other", "gw.local") == []  # main's extra_hosts are main's
    assert _resolve(p, "main", "gw.local") == [gateway]

    # network_mode: service:main shares main's names and resolver (Docker's rule)
    assert _sh(p, "side", "hostname").strip() == "myhost"
    assert _sh(p, "side", "hostname -f").strip() == "myhost.example.test"
    assert _sh(p, "side", "cat /etc/hosts") == hosts
    assert _sh(p, "side", "cat /etc/resolv.conf") == _sh(p, "main", "cat /etc/resolv.conf")
    assert _resolve(p, "side", "other") == _resolve(p, "main", "other") != []


def test_hostname_with_network_mode_service_is_refused(project: Project) -> None:
    p = project
    p.write(STACK.replace("    network_mode: service:main\n", "    network_mode: service:main\n"
                                                               "    hostname: mine\n"))
    out = p.sf("up", "-d", check=False)
    assert out.returncode != 0
    assert "conflicting options: hostname and the network mode" in out.stderr
    assert "services.side.hostname" in out.stderr and "Traceback" not in out.stderr

"""Real runtime containers joined to sandboxes: names resolve through the container's own
/etc/resolv.conf, a service is reached by name, and its published port answers on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from stackfile.network import Attachment, NetworkConfig, NetworkManager, PortBinding, Sandbox
from stackfile.runtime.api import ContainerSpec, NetworkAttachment, Process
from tests.conftest import needs_root
from tests.support.busybox import make_busybox_layer

pytestmark = needs_root


def spec(name: str, layer: Path, sb: Sandbox, script: str) -> ContainerSpec:
    return ContainerSpec(name=name, layers=(str(layer),), process=Process(argv=("sh", "-c", script)),
                         hostname=name, network=NetworkAttachment(mode="path", netns_path=sb.netns_path),
                         etc_hosts=sb.etc_hosts, resolv_conf=sb.resolv_conf)


def test_containers_talk_by_name_and_publish(nm: NetworkManager) -> None:
    from stackfile.runtime.linux.runtime import LinuxRuntime

    layer = make_busybox_layer(nm.paths.root / "busybox")
    rt = LinuxRuntime(nm.paths)
    nm.ensure_network(NetworkConfig("r_default", "r"))
    web = nm.create_sandbox("r-web-1", [Attachment("r_default", ("web", "r-web-1"))], hostname="web",
                            ports=[PortBinding(80, "")])
    cli = nm.create_sandbox("r-cli-1", [Attachment("r_default", ("cli",))], hostname="cli")
    ids = []
    try:
        ids.append(rt.create(spec("r-web-1", layer, web, "exec httpd -f -p 80 -h /var/www")))
        rt.start(ids[0])
        ids.append(rt.create(spec("r-cli-1", layer, cli, "for i in 1 2 3 4 5 6 7 8 9 10; do "
                                  "wget -qO- http://web/ && exit 0; sleep 0.2; done; exit 1")))
        rt.start(ids[1])
        assert rt.wait(ids[1], timeout=20) == 0
        assert [line.text for line in rt.logs(ids[1])] == ["hello from busybox"]
        url = f"http://127.0.0.1:{nm.ports(web.id, 80)[0].host_port}/"
        for _ in range(20):
            out = subprocess.run(["busybox", "wget", "-qO-", url], capture_output=True, text=True).stdout
            if out:
                break
            time.sleep(0.1)
        assert out == "hello from busybox\n"
    finally:
        for cid in ids:
            rt.remove(cid, force=True)
        nm.destroy_sandbox(web.id)
        nm.destroy_sandbox(cli.id)
        nm.remove_network("r_default")

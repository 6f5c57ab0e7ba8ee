"""``system info``: the store, the runtime and what the host offers it, and how many containers,
images, networks and volumes there are. A typed record that serialises to Docker's ``info`` JSON
fields (and stackfile's own, such as ``Networks``, ``Volumes`` and ``Features``)."""

from __future__ import annotations

import os
import platform
import shutil

from stackfile.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from stackfile.store.paths import StorePaths

__all__ = ["SystemInfo", "system_info"]


class SystemInfo(Record):
    """What ``system info`` reports."""

    root: str
    runtime: str
    server_version: str
    containers: int
    running: int
    paused: int
    stopped: int
    images: int
    networks: int
    volumes: int
    kernel: str
    operating_system: str
    architecture: str
    cpus: int
    memory: int
    name: str
    cgroup_version: int
    cgroup_driver: str
    features: Mapping[str, Any]

    def to_docker(self) -> dict[str, Any]:
        """Docker's ``info`` field names, and stackfile's additions."""
        f = self.features
        security = [*(["name=seccomp,profile=builtin"] if f.get("seccomp") else []), "name=cgroupns"]
        return {
            "ID": "", "Name": self.name, "ServerVersion": self.server_version, "DockerRootDir": self.root,
            "Containers": self.containers, "ContainersRunning": self.running,
            "ContainersPaused": self.paused, "ContainersStopped": self.stopped, "Images": self.images,
            "Networks": self.networks, "Volumes": self.volumes,
            "Driver": "overlay" if f.get("overlay") else "",
            "DefaultRuntime": self.runtime, "KernelVersion": self.kernel,
            "OperatingSystem": self.operating_system, "OSType": "linux", "Architecture": self.architecture,
            "NCPU": self.cpus, "MemTotal": self.memory,
            "CgroupDriver": self.cgroup_driver, "CgroupVersion": str(self.cgroup_version),
            "MemoryLimit": "memory" in f.get("cgroup_controllers", ()),
            "PidsLimit": "pids" in f.get("cgroup_controllers", ()),
            "CpuCfsQuota": "cpu" in f.get("cgroup_controllers", ()),
            "SecurityOptions": security, "Features": dict(f),
        }

    def to_json(self) -> dict[str, Any]:
        return self.to_docker()


def _os_name() -> str:
    for line in _lines("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return platform.system()


def _lines(path: str) -> list[str]:
    try:
        with open(path) as fh:
            return fh.read().splitlines()
    except OSError:
        return []


def _memory() -> int:
    for line in _lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _counts(paths: StorePaths) -> tuple[int, int, int]:
    """Images, networks and volumes (none before the store has a database: none is made here)."""
    if not os.path.exists(paths.db_str):
        return 0, 0, 0
    from stackfile.network.manager import NetworkManager
    from stackfile.store.images import ImageStore
    from stackfile.volumes import VolumeManager

    return (len(ImageStore(paths).all()), len(NetworkManager(paths).list_networks()),
            len(VolumeManager(paths).list_volumes()))


def system_info(paths: StorePaths) -> SystemInfo:
    """The figures of the store at ``paths`` and of this host."""
    from stackfile import __version__
    from stackfile.runtime import get_runtime
    from stackfile.runtime.api import ContainerState
    from stackfile.runtime.linux.features import host_features

    statuses = get_runtime(paths).list(all=True)
    states = [s.state for s in statuses]
    running = sum(s in (ContainerState.RUNNING, ContainerState.RESTARTING) for s in states)
    paused = sum(s is ContainerState.PAUSED for s in states)
    images, networks, volumes = _counts(paths)
    features = host_features()
    features.update({"nftables": shutil.which("nft") is not None,
                     "iptables": shutil.which("iptables") is not None})
    return SystemInfo(
        root=paths.root_str, runtime="stackfile-linux", server_version=__version__,
        containers=len(statuses), running=running, paused=paused, stopped=len(statuses) - running - paused,
        images=images, networks=networks, volumes=volumes, kernel=str(features["kernel"]),
        operating_system=_os_name(), architecture=platform.machine(), cpus=os.cpu_count() or 1,
        memory=_memory(), name=platform.node(), cgroup_version=int(str(features["cgroup_version"])),
        cgroup_driver="cgroupfs", features=features)

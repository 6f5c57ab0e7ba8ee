"""Use cases that change a container that exists: ``container create|update|rename`` and
``network connect|disconnect``.

Plain typed functions over a store root (no click, nothing printed): requests and results are
records that :func:`~stackfile.runtime.api.to_plain` turns into JSON, so a daemon can serve them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from stackfile.engine.container_options import RunOptions, RunResult
from stackfile.engine.containers import runtime
from stackfile.errors import InvalidSpec, Location
from stackfile.record import Record
from stackfile.runtime.api import NetworkAttachment, Resources
from stackfile.store.paths import StorePaths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stackfile.events import EventSink

__all__ = ["ConnectRequest", "Renamed", "UpdateRequest", "Updated", "connect", "create", "disconnect",
           "network_settings", "rename", "update"]

_MIN_MEMORY = 6 * 1024 * 1024  # Docker's minimum


class UpdateRequest(Record):
    """``container update`` flags as given; None leaves a limit as it is. ``memory_swap`` ``-1``
    is unlimited swap; ``cpus``/``cpu_shares`` 0 and ``pids_limit`` 0 or -1 remove that limit."""

    memory: str | None = None
    memory_swap: str | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    memory_reservation: str | None = None
    restart: str | None = None  # no | always | on-failure[:N] | unless-stopped


class Updated(Record):
    """A container's limits after ``update`` (``resources``: the runtime's Resources, as a dict)."""

    id: str
    name: str
    resources: Mapping[str, Any]


class Renamed(Record):
    id: str
    old_name: str
    name: str


class ConnectRequest(Record):
    """``network connect`` flags: extra DNS names and a fixed address on that network."""

    network: str
    container: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None


def _size(value: str, flag: str) -> int:
    from stackfile.spec.units import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise InvalidSpec(str(exc), location=Location(key_path=flag)) from None


def merge_resources(old: Resources, req: UpdateRequest) -> Resources:
    """``old`` with the request's changes, checked as Docker checks them."""
    changes: dict[str, Any] = {}
    if req.memory is not None:
        memory = _size(req.memory, "--memory")
        if 0 < memory < _MIN_MEMORY:
            raise InvalidSpec("minimum memory limit allowed is 6MB", location=Location(key_path="--memory"))
        changes["memory"] = memory or None
    if req.memory_swap is not None:
        changes["memory_swap"] = -1 if req.memory_swap == "-1" else _size(req.memory_swap, "--memory-swap")
    if req.cpus is not None:
        ncpu = os.cpu_count() or 1
        if req.cpus < 0 or (req.cpus and not 0.01 <= req.cpus <= ncpu):
            raise InvalidSpec(f"range of CPUs is from 0.01 to {ncpu:.2f}, as there are only {ncpu} CPUs "
                              "available", location=Location(key_path="--cpus"))
        changes["cpus"] = req.cpus or None
    if req.cpu_shares is not None:
        if req.cpu_shares < 0:
            raise InvalidSpec("--cpu-shares must be 0 (the default weight) or more",
                              location=Location(key_path="--cpu-shares"))
        changes["cpu_shares"] = req.cpu_shares or None
    if req.pids_limit is not None:
        changes["pids_limit"] = req.pids_limit if req.pids_limit > 0 else None
    if req.memory_reservation is not None:
        changes["memory_reservation"] = _size(req.memory_reservation, "--memory-reservation") or None
    if not changes and req.restart is None:
        raise InvalidSpec("you must provide one or more flags when using this command",
                          hint="--memory, --memory-swap, --memory-reservation, --cpus, --cpu-shares, "
                               "--pids-limit or --restart")
    new = old._replace(**changes)
    swap = new.memory_swap
    if swap is not None and swap != -1:
        if new.memory is None:
            raise InvalidSpec("you should always set the memory limit when using the memoryswap limit",
                              location=Location(key_path="--memory-swap"), hint="add --memory")
        if swap < new.memory:
            where = "--memory-swap" if req.memory_swap is not None else "--memory"
            also = "" if req.memory_swap is not None else " set; update the memoryswap at the same time"
            raise InvalidSpec("minimum memoryswap limit should be larger than the memory limit" + also,
                location=Location(key_path=where))
    return new


def update(paths: StorePaths, ref: str, req: UpdateRequest) -> Updated:
    """``container update``: new limits for a container, applied to its cgroup at once when it
    runs, and kept for every later start."""
    from stackfile.engine.containers import parse_restart
    from stackfile.runtime.api import to_plain

    rt = runtime(paths)
    status = rt.inspect(ref)
    spec = rt.spec_of(status.id)
    limits_given = req._replace(restart=None) != UpdateRequest()
    new = merge_resources(spec.resources, req) if limits_given or req.restart is None else spec.resources
    policy = parse_restart(req.restart) if req.restart is not None else None
    if policy is not None and policy.name != "no" and spec.auto_remove:
        from stackfile.errors import Conflict

        raise Conflict("cannot update the restart policy of a container with --rm (auto-remove)",
                       location=Location(key_path="--restart"))
    rt.update(status.id, new, policy)
    return Updated(status.id, status.name, to_plain(new))


def create(paths: StorePaths, opts: RunOptions, environ: Mapping[str, str],
           sink: EventSink | None = None) -> RunResult:
    """``container create``: what ``container run -d`` makes, not started (``container start``
    starts it)."""
    from stackfile.engine.containers import _run_image, build_spec

    if opts.rm and opts.restart != "no":
        raise InvalidSpec("--rm and --restart cannot be combined", location=Location(key_path="--restart"))
    config, layers = _run_image(paths, opts.image, sink)
    spec = build_spec(config, layers, opts._replace(detach=True), environ)
    return RunResult(runtime(paths).create(spec, image=opts.image))


def rename(paths: StorePaths, ref: str, name: str) -> Renamed:
    """``container rename``: the name index, and what is keyed by the name: the container's network
    sandbox (the DNS now answers for the new name, no longer the old one), its published-port
    release hook and its volume references."""
    rt = runtime(paths)
    status = rt.inspect(ref)
    old = status.name
    spec = rt.spec_of(status.id)
    network, on_exit, nm = None, None, None
    if spec.network.mode == "path":
        from stackfile.network.manager import NetworkManager

        nm = NetworkManager(paths)
        if nm.conn.execute("SELECT 1 FROM sandboxes WHERE id = ?", (old,)).fetchone() is not None:
            network = NetworkAttachment(mode="path", netns_path=str(nm.netns_path(name)))
        else:
            nm = None
    if spec.on_exit and old in spec.on_exit:
        on_exit = tuple(name if a == old else a for a in spec.on_exit)
    rt.rename(status.id, name, network=network, on_exit=on_exit)
    if nm is not None:
        try:
            nm.rename_sandbox(old, name, who=name)
        except BaseException:
            rt.rename(status.id, old, network=spec.network, on_exit=spec.on_exit)
            raise
    from stackfile.volumes import VolumeManager

    VolumeManager(paths).rename_user(old, name)
    return Renamed(status.id, old, name)


def _sandbox_of(paths: StorePaths, ref: str) -> tuple[Any, Any]:
    """(status, network manager) of a container that lives in a sandbox of its own."""
    from stackfile.errors import Conflict
    from stackfile.network.manager import NetworkManager

    rt = runtime(paths)
    status = rt.inspect(ref)
    mode = rt.spec_of(status.id).network.mode
    if mode != "path":
        raise Conflict(f"container {status.name!r} uses network mode {mode!r}: it cannot be connected to or "
                       "disconnected from networks", hint="only containers on bridge networks can be")
    return status, NetworkManager(paths)


def connect(paths: StorePaths, req: ConnectRequest) -> dict[str, Any]:
    """``network connect``: a veth into the container's namespace now, an address from the
    network's IPAM, and its names (container name, short id, aliases) in the network's DNS.
    Returns the endpoint as ``network inspect`` shows it."""
    from stackfile.network.model import Attachment

    status, nm = _sandbox_of(paths, req.container)
    names = {status.name, status.id[:12], *req.aliases}
    ep = nm.connect(status.name, Attachment(req.network, tuple(sorted(names)), req.ipv4_address),
                    who=status.name)
    _refresh_hosts(paths, status.id, nm.sandbox(status.name))
    return {"Network": ep.network, "IPv4Address": f"{ep.address}/{ep.prefixlen}", "Interface": ep.ifname,
            "HostInterface": ep.host_ifname, "Aliases": list(ep.aliases), "MacAddress": ep.mac}


def disconnect(paths: StorePaths, network: str, container: str, *, force: bool = False) -> None:
    """``network disconnect``: the container's veth on ``network`` goes, and its names there.
    ``force`` also removes the record of a container that no longer exists."""
    from stackfile.errors import NotFound

    try:
        status, nm = _sandbox_of(paths, container)
        sandbox = status.name
    except NotFound:
        if not force:
            raise
        from stackfile.network.manager import NetworkManager

        nm, sandbox = NetworkManager(paths), container
        nm.disconnect(sandbox, network, who=container)
        return
    nm.disconnect(sandbox, network, who=container)
    _refresh_hosts(paths, status.id, nm.sandbox(sandbox))


def _refresh_hosts(paths: StorePaths, container_id: str, sandbox: Any) -> None:
    """The container's ``/etc/hosts`` lists its addresses on every network it is on now (Docker
    rewrites it on connect and disconnect)."""
    runtime(paths).set_etc_hosts(container_id, sandbox.etc_hosts)


def network_settings(paths: StorePaths, ref: str) -> dict[str, Any]:
    """Docker's ``NetworkSettings`` of ``inspect``: the networks the container is on now (those
    ``network connect`` added included), keyed by network name."""
    rt = runtime(paths)
    status = rt.inspect(ref)
    mode = rt.spec_of(status.id).network.mode
    if mode != "path":
        return {"Networks": {mode: {}} if mode in ("host", "none") else {}}
    from stackfile.errors import NotFound
    from stackfile.network.manager import NetworkManager

    try:
        endpoints = NetworkManager(paths).sandbox(status.name).endpoints
    except NotFound:
        endpoints = ()
    return {"Networks": {e.network: {"IPAddress": e.address, "IPPrefixLen": e.prefixlen, "Gateway": e.gateway,
                                     "MacAddress": e.mac, "Aliases": list(e.aliases), "Interface": e.ifname}
                         for e in endpoints}}

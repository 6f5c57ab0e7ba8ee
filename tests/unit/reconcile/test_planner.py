"""Golden-plan tests: the planner on a typed stack and hand-built observed state. No engine."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stackfile.errors import NotFound
from stackfile.reconcile import labels as L
from stackfile.reconcile.desired import desired_services
from stackfile.reconcile.hash import encode_fields
from stackfile.reconcile.observed import ObservedContainer, ObservedState
from stackfile.reconcile.planner import PlanOptions, plan, plan_down
from stackfile.spec.model import build_stack

BASE: dict[str, Any] = {
    "name": "demo",
    "services": {
        "db": {"image": "busybox", "command": ["httpd", "-f"],
               "healthcheck": {"test": ["CMD", "true"], "interval": "1s"},
               "volumes": [{"type": "volume", "source": "data", "target": "/data"}],
               "networks": {"default": None}},
        "web": {"image": "busybox", "environment": {"FOO": "1", "BAR": "x"},
                "depends_on": {"db": {"condition": "service_healthy", "required": True}},
                "ports": [{"target": 80, "published": "8080", "protocol": "tcp", "mode": "ingress"}],
                "networks": {"default": None}},
        "worker": {"image": "busybox", "command": ["sleep", "1000"],
                   "depends_on": {"db": {"condition": "service_started"}},
                   "networks": {"default": None}},
    },
    "networks": {"default": {"name": "demo_default"}},
    "volumes": {"data": {"name": "demo_data"}},
}


def stack(edit: Any = None) -> Any:
    config = copy.deepcopy(BASE)
    if edit:
        edit(config)
    return build_stack(config)


def running(config_stack: Any, **states: str) -> ObservedState:
    """Observed state where every service of ``config_stack`` runs as planned (one replica each)."""
    desired = desired_services(config_stack)
    containers = []
    for name, svc in desired.items():
        for n in range(1, svc.replicas + 1):
            containers.append(container(name, n, svc.hash, svc.fields, state=states.get(name, "running")))
    return ObservedState("demo", containers, networks={"demo_default": {}}, volumes={"demo_data": {}},
                         images={"busybox": "sha256:" + "b" * 64})


def container(service: str, number: int, hash_: str = "old", fields: Any = None, state: str = "running",
              health: str = "healthy") -> ObservedContainer:
    labels = {L.PROJECT: "demo", L.SERVICE: service, L.NUMBER: str(number), L.CONFIG_HASH: hash_,
              L.CONFIG_FIELDS: encode_fields(fields or {}), L.IMAGE: "sha256:" + "b" * 64}
    name = f"demo-{service}-{number}"
    return ObservedContainer(id=f"id-{name}", name=name, service=service, number=number, state=state,
                             labels=labels, health=health)


def test_fresh_up() -> None:
    got = str(plan(stack(), ObservedState("demo")))
    assert got == """\
#1 image:busybox, EnsureImage, not found
#2 network:demo_default, CreateNetwork, not found
#3 volume:demo_data, CreateVolume, not found
#4 service:db:1, CreateContainer, no existing container (after #1, #2, #3)
#5 service:web:1, CreateContainer, no existing container (after #1, #2)
#6 service:worker:1, CreateContainer, no existing container (after #1, #2)
#7 service:db:1, StartContainer, new container (after #4)
#8 service:db, WaitHealthy, web depends on it (service_healthy) (after #7)
#9 service:worker:1, StartContainer, new container (after #6, #7)
#10 service:web:1, StartContainer, new container (after #5, #7, #8)"""


def test_noop_up_is_empty() -> None:
    s = stack()
    result = plan(s, running(s))
    assert str(result) == "" and not result and result.warnings == []


def test_env_change_recreates_only_that_service_and_names_the_field() -> None:
    old = stack()
    new = stack(lambda c: c["services"]["web"]["environment"].update(FOO="2"))
    assert str(plan(new, running(old))) == """\
#1 service:web:1, RecreateContainer, config hash changed: environment.FOO
#2 service:web:1, StartContainer, recreated (after #1)"""


def test_added_and_removed_fields_are_named() -> None:
    old = stack()

    def edit(c: dict[str, Any]) -> None:
        del c["services"]["web"]["environment"]["BAR"]
        c["services"]["web"]["user"] = "nobody"

    assert str(plan(stack(edit), running(old))).splitlines()[0] == \
        "#1 service:web:1, RecreateContainer, config hash changed: environment.BAR, user"


def test_fields_outside_the_hash_do_not_recreate() -> None:
    old = stack()

    def edit(c: dict[str, Any]) -> None:
        c["services"]["web"]["depends_on"]["worker"] = {"condition": "service_started"}
        c["services"]["web"]["profiles"] = ["x"]
        c["services"]["web"]["develop"] = {"watch": [{"action": "sync", "path": "/src", "target": "/app"}]}
        c["services"]["worker"]["x-note"] = "hello"

    assert str(plan(stack(edit), running(old))) == ""


def test_scale_up_and_down() -> None:
    s = stack()
    up = plan(s, running(s), PlanOptions(scale={"worker": 3}))
    assert str(up) == """\
#1 service:worker:2, CreateContainer, no existing container
#2 service:worker:3, CreateContainer, no existing container
#3 service:worker:2, StartContainer, new container (after #1)
#4 service:worker:3, StartContainer, new container (after #2)"""
    three = stack(lambda c: c["services"]["worker"].update(scale=3))
    down = plan(s, running(three))
    assert str(down) == """\
#1 service:worker:2, RemoveContainer, scale down
#2 service:worker:3, RemoveContainer, scale down"""


def test_scale_via_deploy_replicas_does_not_change_hash() -> None:
    a = desired_services(stack())["worker"]
    b = desired_services(stack(lambda c: c["services"]["worker"].update(deploy={"replicas": 2})))["worker"]
    assert a.hash == b.hash and b.replicas == 2


def test_orphans_warned_or_removed() -> None:
    s = stack()
    observed = running(s)
    observed.containers.append(container("old", 1))
    kept = plan(s, observed)
    assert str(kept) == ""
    assert kept.warnings == ["found orphan container demo-old-1 (service 'old' is not in the stack); "
                             "run with --remove-orphans to remove it"]
    removed = plan(s, observed, PlanOptions(remove_orphans=True))
    assert str(removed) == "#1 container:demo-old-1, RemoveContainer, orphan"


def test_force_recreate_and_no_recreate() -> None:
    s = stack()
    forced = plan(s, running(s), PlanOptions(force_recreate=True))
    assert str(forced) == """\
#1 service:db:1, RecreateContainer, --force-recreate
#2 service:web:1, RecreateContainer, --force-recreate
#3 service:worker:1, RecreateContainer, --force-recreate
#4 service:db:1, StartContainer, recreated (after #1)
#5 service:db, WaitHealthy, web depends on it (service_healthy) (after #4)
#6 service:worker:1, StartContainer, recreated (after #3, #4)
#7 service:web:1, StartContainer, recreated (after #2, #4, #5)"""
    changed = stack(lambda c: c["services"]["web"]["environment"].update(FOO="2"))
    assert str(plan(changed, running(s), PlanOptions(no_recreate=True))) == ""


def test_no_recreate_still_starts_stopped_containers() -> None:
    s = stack()
    got = plan(stack(lambda c: c["services"]["web"].update(user="x")), running(s, web="exited"),
               PlanOptions(no_recreate=True))
    assert str(got) == "#1 service:web:1, StartContainer, container exited"


def test_no_deps_and_service_selection() -> None:
    s = stack()
    assert str(plan(s, ObservedState("demo", images={"busybox": "i"}), PlanOptions(services=("web",),
                                                                                   no_deps=True))) == """\
#1 network:demo_default, CreateNetwork, not found
#2 service:web:1, CreateContainer, no existing container (after #1)
#3 service:web:1, StartContainer, new container (after #2)"""
    with_deps = plan(s, ObservedState("demo", images={"busybox": "i"}), PlanOptions(services=("web",)))
    assert [(a.target, a.kind.value) for a in with_deps.for_target("service:")] == [
        ("service:db:1", "CreateContainer"), ("service:web:1", "CreateContainer"),
        ("service:db:1", "StartContainer"), ("service:db", "WaitHealthy"),
        ("service:web:1", "StartContainer")]
    with pytest.raises(NotFound, match="no such service: nope"):
        plan(s, ObservedState("demo"), PlanOptions(services=("nope",)))


def test_dependency_order_follows_depends_on() -> None:
    def chain(c: dict[str, Any]) -> None:
        c["services"] = {f"s{i}": {"image": "busybox",
                                   **({"depends_on": {f"s{i - 1}": {"condition": "service_started"}}}
                                      if i else {})} for i in range(4)}
        del c["volumes"]

    got = plan(stack(chain), ObservedState("demo", networks={"demo_default": {}}, images={"busybox": "i"}))
    assert str(got) == """\
#1 service:s0:1, CreateContainer, no existing container
#2 service:s1:1, CreateContainer, no existing container
#3 service:s2:1, CreateContainer, no existing container
#4 service:s3:1, CreateContainer, no existing container
#5 service:s0:1, StartContainer, new container (after #1)
#6 service:s1:1, StartContainer, new container (after #2, #5)
#7 service:s2:1, StartContainer, new container (after #3, #6)
#8 service:s3:1, StartContainer, new container (after #4, #7)"""
    assert [len(level) for level in got.levels()] == [4, 1, 1, 1, 1]  # creates in parallel, starts in order


def test_unhealthy_dependency_is_waited_for_even_when_untouched() -> None:
    s = stack()
    observed = running(s)
    observed.containers = [c if c.service != "db" else
                           ObservedContainer(c.id, c.name, c.service, c.number, c.state, c.labels, "starting")
                           for c in observed.containers]
    changed = stack(lambda c: c["services"]["web"]["environment"].update(FOO="2"))
    assert str(plan(changed, observed)) == """\
#1 service:db, WaitHealthy, web depends on it (service_healthy)
#2 service:web:1, RecreateContainer, config hash changed: environment.FOO
#3 service:web:1, StartContainer, recreated (after #1, #2)"""


def test_image_rebuilt_and_restart_dependents() -> None:
    s = stack(lambda c: c["services"]["web"]["depends_on"]["db"].update(restart=True))
    observed = running(s)
    observed.images["busybox"] = "sha256:" + "c" * 64
    got = str(plan(s, observed))
    assert "#1 service:db:1, RecreateContainer, image rebuilt" in got
    assert "service:web:1, RecreateContainer, image rebuilt" in got
    observed.images["busybox"] = "sha256:" + "b" * 64
    dbchanged = stack(lambda c: (c["services"]["web"]["depends_on"]["db"].update(restart=True),
                                 c["services"]["db"].update(user="1")))
    got = str(plan(dbchanged, observed))
    assert "service:db:1, RecreateContainer, config hash changed: user" in got
    assert "service:web:1, RecreateContainer, dependency recreated: db" in got
    assert "service:worker:1" not in got


def test_build_images() -> None:
    s = stack(lambda c: c["services"]["web"].update(image="demo-web", build={"context": "/src"}))
    obs = running(stack())
    got = plan(s, obs)
    assert "#1 image:demo-web, BuildImage, not found" in str(got)
    obs.images["demo-web"] = "sha256:" + "b" * 64
    assert "BuildImage, --build" in str(plan(s, obs, PlanOptions(build=True)))


def test_down_orders_dependents_first_and_removes_networks_and_volumes() -> None:
    observed = ObservedState("demo", networks={"demo_default": {}}, volumes={"demo_data": {}})
    db = container("db", 1)
    web = container("web", 1)
    web = ObservedContainer(web.id, web.name, web.service, 1, "running", {**web.labels, L.DEPENDS_ON: "db"})
    observed.containers = [db, web, container("old", 1)]
    kept = plan_down(observed, services=("db", "web"), remove_orphans=False, volumes=True)
    assert kept.warnings == ["found orphan container demo-old-1 (service 'old' is not in the stack); "
                             "run with --remove-orphans to remove it (networks in use are kept)"]
    assert str(kept) == """\
#1 container:demo-web-1, StopContainer, down
#2 container:demo-db-1, StopContainer, down (after #1)
#3 container:demo-web-1, RemoveContainer, down (after #1)
#4 container:demo-db-1, RemoveContainer, down (after #2)"""
    assert str(plan_down(observed, volumes=True)) == """\
#1 container:demo-old-1, StopContainer, down
#2 container:demo-web-1, StopContainer, down
#3 container:demo-db-1, StopContainer, down (after #2)
#4 container:demo-old-1, RemoveContainer, down (after #1)
#5 container:demo-web-1, RemoveContainer, down (after #2)
#6 container:demo-db-1, RemoveContainer, down (after #3)
#7 network:demo_default, RemoveNetwork, down (after #4, #5, #6)
#8 volume:demo_data, RemoveVolume, down -v (after #4, #5, #6)"""


def test_optional_dependency_is_a_soft_edge() -> None:
    s = stack(lambda c: c["services"]["worker"]["depends_on"]["db"].update(required=False))
    got = plan(s, ObservedState("demo", networks={"demo_default": {}}, volumes={"demo_data": {}},
                                images={"busybox": "i"}))
    assert ("service:worker:1/StartContainer", "service:db:1/StartContainer") in got.soft
    assert ("service:web:1/StartContainer", "service:db:1/StartContainer") not in got.soft


def test_no_start_creates_without_waiting_for_health() -> None:
    """``up --no-start`` runs nothing, so nothing can get healthy: no wait (it used to hang)."""
    got = str(plan(stack(), ObservedState("demo"), PlanOptions(no_start=True)))
    assert got == """\
#1 image:busybox, EnsureImage, not found
#2 network:demo_default, CreateNetwork, not found
#3 volume:demo_data, CreateVolume, not found
#4 service:db:1, CreateContainer, no existing container (after #1, #2, #3)
#5 service:web:1, CreateContainer, no existing container (after #1, #2)
#6 service:worker:1, CreateContainer, no existing container (after #1, #2)"""


def test_down_leaves_one_offs_as_compose() -> None:
    """A running one-off is never removed by down; an exited one is an orphan (``--remove-orphans``)."""
    observed = ObservedState("demo", networks={"demo_default": {}})
    web = container("web", 1)
    oneoff = {L.ONEOFF: "True"}
    running = ObservedContainer("r" * 64, "demo-web-run-1", "web", 1, "running", oneoff, oneoff=True)
    exited = ObservedContainer("e" * 64, "demo-web-run-2", "web", 1, "exited", oneoff, oneoff=True)
    observed.containers = [web, running, exited]
    plain = plan_down(observed, services=("web",), remove_orphans=False)
    assert [a.name for a in plain.actions.values()] == ["demo-web-1", "demo-web-1"]
    assert plain.warnings == [
        "one-off container demo-web-run-1 is still running: down leaves it, as Compose does "
        "(networks in use are kept); stop it, then down --remove-orphans removes it"]
    orphans = plan_down(observed, services=("web",), remove_orphans=True)
    assert str(orphans) == """\
#1 container:demo-web-1, StopContainer, down
#2 container:demo-web-run-2, RemoveContainer, orphan
#3 container:demo-web-1, RemoveContainer, down (after #1)"""


def _web_replicas(replicas: int, *numbers: int, outdated: tuple[int, ...] = ()) -> tuple[Any, ObservedState]:
    s = stack(lambda c: c["services"]["web"].update(deploy={"replicas": replicas}))
    web = desired_services(s)["web"]
    observed = running(stack())
    observed.containers = [c for c in observed.containers if c.service != "web"] + [
        container("web", n, "old" if n in outdated else web.hash, web.fields) for n in numbers]
    return s, observed


def test_a_removed_replica_is_not_refilled_as_compose() -> None:
    """web-2 removed behind Compose's back: ``up`` creates web-4 (after the highest number), not web-2."""
    s, observed = _web_replicas(3, 1, 3)
    got = str(plan(s, observed, PlanOptions(services=("web",), no_deps=True)))
    assert got == """\
#1 service:web:4, CreateContainer, no existing container
#2 service:web:4, StartContainer, new container (after #1)"""


def test_scaling_down_removes_outdated_then_the_highest_numbers() -> None:
    s, observed = _web_replicas(2, 2, 3, 4)
    got = str(plan(s, observed, PlanOptions(services=("web",), no_deps=True)))
    assert got == "#1 service:web:4, RemoveContainer, scale down"
    s, observed = _web_replicas(2, 2, 3, 4, outdated=(2,))
    got = str(plan(s, observed, PlanOptions(services=("web",), no_deps=True)))
    assert got == "#1 service:web:2, RemoveContainer, scale down"

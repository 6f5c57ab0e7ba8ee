"""The typed model: canonical Compose dicts in, frozen models with engine helpers out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackfile.errors import InvalidSpec, NotFound
from stackfile.spec.model import build_stack, parse_duration, parse_size

CANONICAL = {
    "name": "demo",
    "services": {
        "web": {
            "image": "busybox",
            "command": ["httpd", "-f"],
            "environment": {"A": "1", "B": None},
            "ports": [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"},
                      {"mode": "ingress", "target": 90, "published": "9000-9002", "protocol": "udp",
                       "host_ip": "127.0.0.1"}],
            "volumes": [{"type": "bind", "source": "/src", "target": "/app", "read_only": True,
                         "bind": {"create_host_path": True}},
                        {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": True}},
                        {"type": "tmpfs", "target": "/t", "tmpfs": {"size": "64m"}}],
            "depends_on": {"db": {"condition": "service_healthy", "required": True, "restart": False}},
            "networks": {"default": None, "back": {"aliases": ["w"], "priority": 5}},
            "healthcheck": {"test": ["CMD", "true"], "interval": "1m30s", "timeout": "500ms",
                            "retries": 3},
            "deploy": {"replicas": 2, "resources": {"limits": {"memory": "64m", "cpus": "0.5", "pids": 50}},
                       "restart_policy": {"condition": "on-failure", "max_attempts": 3}},
            "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 65535},
            "extra_hosts": ["example.com=1.2.3.4", "v6:::1"],
            "develop": {"watch": [{"action": "sync", "path": "/p/src", "target": "/app/src",
                                   "ignore": ["*.pyc"]},
                                  {"action": "sync+exec", "path": "/p", "target": "/app",
                                   "exec": {"command": ["kill", "-HUP", "1"]}}]},
            "stop_grace_period": "1m",
            "x-custom": {"a": 1},
            "secrets": [{"source": "s1", "target": "/run/secrets/s1", "mode": "0400"}],
        },
        "db": {"image": "busybox", "restart": "on-failure:5", "mem_limit": "1g", "scale": 3},
    },
    "networks": {"default": {"name": "demo_default"},
                 "back": {"name": "demo_back", "internal": True,
                          "ipam": {"config": [{"subnet": "10.89.5.0/24"}]}}},
    "volumes": {"data": {"name": "demo_data"}},
    "secrets": {"s1": {"name": "demo_s1", "file": "/p/s1.txt"}},
    "images": {"app": {"from": "busybox", "steps": [{"run": "echo hi"}]}},
}


def test_canonical_dict_is_typed() -> None:
    stack = build_stack(CANONICAL)
    web = stack.services["web"]
    assert web.name == "web"
    assert web.command == ("httpd", "-f")
    assert web.environment == {"A": "1", "B": None}
    assert [p.published_range() for p in web.ports] == [(8080, 8080), (9000, 9002)]
    assert web.ports[1].host_ip == "127.0.0.1"
    assert web.volumes[0].bind is not None and web.volumes[0].bind.create_host_path
    assert web.volumes[2].tmpfs is not None and web.volumes[2].tmpfs.size_bytes() == 64 << 20
    assert web.depends_on["db"].condition == "service_healthy"
    assert web.network_names() == ["back", "default"]
    assert web.healthcheck is not None and web.healthcheck.interval_seconds == 90.0
    assert web.healthcheck.timeout_seconds == 0.5
    assert web.effective_replicas == 2
    assert web.memory_limit_bytes == 64 << 20
    assert web.cpus_limit == 0.5
    assert web.pids == 50
    assert web.restart_policy == ("on-failure", 3)
    assert web.ulimit_pairs() == {"nofile": (1024, 2048), "nproc": (65535, 65535)}
    assert web.extra_host_pairs() == [("example.com", "1.2.3.4"), ("v6", "::1")]
    assert web.develop is not None and web.develop.watch[0].ignore == ("*.pyc",)
    hook = web.develop.watch[1].exec
    assert hook is not None and hook.command == ("kill", "-HUP", "1")
    assert web.stop_grace_seconds == 60.0
    assert web.extension("x-custom") == {"a": 1}
    assert web.secrets[0].mode_bits() == 0o400
    db = stack.services["db"]
    assert db.restart_policy == ("on-failure", 5)
    assert db.effective_replicas == 3
    assert db.memory_limit_bytes == 1 << 30
    assert db.stop_grace_seconds == 10.0
    assert stack.networks["back"].internal
    assert stack.networks["back"].ipam is not None
    assert stack.networks["back"].ipam.config[0].subnet == "10.89.5.0/24"
    assert stack.images["app"].from_ == "busybox"
    assert stack.service_names() == ["db", "web"]


def test_models_are_frozen() -> None:
    stack = build_stack(CANONICAL)
    with pytest.raises(AttributeError):  # frozen
        stack.services["web"].image = "other"  # type: ignore[misc]


def test_lenient_short_forms() -> None:
    stack = build_stack({"name": "p", "services": {"s": {
        "image": "x", "command": "sh -c 'echo hi'", "environment": ["A=1", "B"],
        "depends_on": ["db"], "networks": ["n"], "secrets": ["k"], "labels": {"n": 1, "b": True},
        "healthcheck": {"test": "curl x", "interval": 5}, "expose": [80, "53/udp"], "tmpfs": "/run"}}})
    svc = stack.services["s"]
    assert svc.command == ("sh", "-c", "echo hi")
    assert svc.environment == {"A": "1", "B": None}
    assert svc.depends_on["db"].condition == "service_started"
    assert svc.networks == {"n": None}
    assert svc.secrets[0].source == "k"
    assert svc.labels == {"n": "1", "b": "true"}
    assert svc.healthcheck is not None and svc.healthcheck.test == ("CMD-SHELL", "curl x")
    assert svc.healthcheck.interval_seconds == 5.0
    assert svc.expose == ("80", "53/udp")
    assert svc.tmpfs == ("/run",)
    assert svc.restart_policy == ("no", None)
    assert svc.effective_replicas == 1


def test_deploy_restart_policy_any_means_always() -> None:
    stack = build_stack({"name": "p", "services": {"s": {"image": "x", "deploy": {
        "restart_policy": {"condition": "any"}}}}})
    assert stack.services["s"].restart_policy == ("always", None)


def test_disabled_healthcheck() -> None:
    stack = build_stack({"name": "p", "services": {"a": {"image": "x", "healthcheck": {"test": ["NONE"]}},
                                                    "b": {"image": "x", "healthcheck": {"disable": True}}}})
    assert stack.services["a"].healthcheck is not None and stack.services["a"].healthcheck.disabled
    assert stack.services["b"].healthcheck is not None and stack.services["b"].healthcheck.disabled


def test_bad_value_names_key_path() -> None:
    with pytest.raises(InvalidSpec) as info:
        build_stack({"name": "p", "services": {"web": {"image": "x", "ports": [{"target": "eighty"}]}}})
    assert info.value.location is not None
    assert info.value.location.key_path == "services.web.ports[0].target"
    with pytest.raises(InvalidSpec) as info:
        build_stack({"name": "p", "services": {"web": {"depends_on": {"db": {"condition": "ready"}}}}})
    assert info.value.location is not None
    assert info.value.location.key_path == "services.web.depends_on.db.condition"


def test_bad_size_in_helper_is_invalid_spec() -> None:
    stack = build_stack({"name": "p", "services": {"web": {"image": "x", "mem_limit": "lots"}}})
    with pytest.raises(InvalidSpec) as info:
        _ = stack.services["web"].memory_limit_bytes
    assert "services.web.mem_limit" in str(info.value)


def test_unknown_service_lists_valid_ones() -> None:
    stack = build_stack(CANONICAL)
    with pytest.raises(NotFound) as info:
        stack.service("nope")
    assert info.value.hint == "services are: db, web"


@pytest.mark.parametrize(("text", "seconds"), [
    ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("1h2m3s", 3723.0), ("10", 10.0), (3, 3.0),
    ("1.5s", 1.5), ("100us", 1e-4), ("0s", 0.0)])
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1x", "m", "1m30", "abc", "1 m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidSpec):
        parse_duration(text, key_path="services.a.healthcheck.interval")


@pytest.mark.parametrize(("text", "size"), [
    ("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10), ("512kb", 512 << 10), ("1.5GiB", 3 << 29),
    ("100", 100), (4096, 4096), ("10b", 10), ("2M", 2 << 20)])
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "m", "12q", "-1g", "1..5m"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(InvalidSpec):
        parse_size(text)


@pytest.mark.ground_truth("corpus")
def test_every_conformance_expectation_builds(pytestconfig: pytest.Config) -> None:
    """What Compose v2 printed for each valid case of the corpus (--corpus) builds a typed model."""
    corpus = Path(pytestconfig.getoption("corpus"))
    files = sorted(corpus.glob("valid/*/expected/docker-compose-v2.*.yaml"))
    assert len(files) > 100, f"corpus looks incomplete: {len(files)} expectations under {corpus}/valid"
    for path in files:
        with open(path) as fh:
            build_stack(yaml.safe_load(fh))

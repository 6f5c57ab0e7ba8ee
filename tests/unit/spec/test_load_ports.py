"""services.*.ports: short syntax → long form (Compose's normal form)."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec


def ports_of(service, spec: str) -> list[dict]:
    return service(f"services:\n  web:\n    image: nginx\n    ports: {spec}\n")["ports"]


def test_container_port_only(service) -> None:
    assert ports_of(service, "[80]") == [{"mode": "ingress", "target": 80, "protocol": "tcp"}]


def test_published_is_a_string_and_ip_kept(service) -> None:
    assert ports_of(service, "['127.0.0.1:8001:8000/udp']") == [
        {"mode": "ingress", "host_ip": "127.0.0.1", "target": 8000, "published": "8001", "protocol": "udp"}
    ]


def test_unquoted_colon_pair_is_not_a_sexagesimal_number(service) -> None:
    assert ports_of(service, "[22:22]")[0]["published"] == "22"


def test_equal_ranges_expand_pairwise(service) -> None:
    got = ports_of(service, "['8000-8002:9000-9002']")
    assert [(p["published"], p["target"]) for p in got] == [("8000", 9000), ("8001", 9001), ("8002", 9002)]


def test_host_range_to_one_container_port_stays_one_entry(service) -> None:
    assert ports_of(service, "['6005-6015:80']") == [
        {"mode": "ingress", "target": 80, "published": "6005-6015", "protocol": "tcp"}
    ]


def test_ipv6_host_ip(service) -> None:
    assert ports_of(service, "['[::1]:80:80']")[0]["host_ip"] == "::1"


def test_long_syntax_gets_defaults(service) -> None:
    assert ports_of(service, "[{target: 80, published: 8080}]") == [
        {"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}
    ]


def test_override_file_redefinition_replaces_entry(load) -> None:
    project = load(
        "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n",
        extra={"over.yaml": "services:\n  web:\n    ports: ['8080:80', '9090:90']\n"},
        files=["compose.yaml", "over.yaml"],
    )
    assert [p["published"] for p in project.config["services"]["web"]["ports"]] == ["8080", "9090"]


@pytest.mark.parametrize("bad", ["['70000:80']", "['80-70:80']", "['1-3:4-5']", "['abc']"])
def test_bad_ports_are_rejected_with_the_key_path(service, bad: str) -> None:
    with pytest.raises(InvalidSpec) as exc:
        ports_of(service, bad)
    assert "services.web.ports" in str(exc.value)

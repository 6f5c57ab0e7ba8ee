"""References are normalised by Docker's rules (docker.io, library/, :latest, digests)."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec
from stackfile.registry.reference import Reference, parse_reference
from stackfile.store.refs import normalize_name, split_reference

HEX = "a" * 64


@pytest.mark.parametrize(
    "text",
    [
        "docker.io/library/busybox:latest",
        "library/busybox",
        "busybox",
        "busybox:latest",
        "index.docker.io/library/busybox",
        "registry-1.docker.io/busybox",
        "docker://busybox",
    ],
)
def test_docker_hub_spellings_are_one_image(text: str) -> None:
    assert normalize_name(text) == "busybox:latest"
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag) == ("docker.io", "library/busybox", "latest")
    assert ref.host == "registry-1.docker.io"
    assert ref.auth_key == "https://index.docker.io/v1/"


def test_user_repositories_on_docker_hub_keep_their_namespace() -> None:
    assert normalize_name("docker.io/bitnami/redis:7") == "bitnami/redis:7"
    assert parse_reference("bitnami/redis:7").path == "bitnami/redis"


@pytest.mark.parametrize(
    ("text", "domain", "path", "name"),
    [
        ("localhost:5000/team/app", "localhost:5000", "team/app", "localhost:5000/team/app:latest"),
        ("localhost/app:1", "localhost", "app", "localhost/app:1"),
        ("ghcr.io/owner/tool:v1.2", "ghcr.io", "owner/tool", "ghcr.io/owner/tool:v1.2"),
        ("127.0.0.1:443/x", "127.0.0.1:443", "x", "127.0.0.1:443/x:latest"),
    ],
)
def test_a_first_component_with_a_dot_port_or_localhost_is_a_registry(
    text: str, domain: str, path: str, name: str
) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path) == (domain, path)
    assert ref.host == domain and ref.auth_key == domain
    assert ref.name == name == normalize_name(text)


def test_digest_references_keep_the_digest_and_default_no_tag() -> None:
    ref = parse_reference(f"busybox@sha256:{HEX}")
    assert (ref.tag, ref.digest, ref.target) == ("", f"sha256:{HEX}", f"sha256:{HEX}")
    assert ref.name == "busybox:latest"
    both = parse_reference(f"localhost:5000/app:1@sha256:{HEX}")
    assert (both.tag, both.target, str(both)) == ("1", f"sha256:{HEX}", f"localhost:5000/app:1@sha256:{HEX}")
    assert isinstance(both, Reference)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Bad Name", "name"),
        ("team/UPPER", "name"),
        ("app:bad tag", "tag"),
        ("app@sha256:xyz", "digest"),
        ("a//b", "name"),
        ("-lead", "name"),
    ],
)
def test_malformed_references_say_what_is_wrong(text: str, problem: str) -> None:
    assert split_reference(text) == problem
    with pytest.raises(InvalidSpec) as info:
        parse_reference(text)
    assert text in str(info.value)

"""The client's pure parts: options from the environment, loopback, auth challenges, platforms."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec, NotFound
from stackfile.registry.login import registry_key
from stackfile.registry.manifest import Platform, choose, parse_platform
from stackfile.registry.options import from_environ
from stackfile.registry.session import is_loopback, parse_challenge


def test_options_follow_docker_s_variables() -> None:
    opts = from_environ(
        {"HOME": "/home/u", "STACKFILE_INSECURE_REGISTRIES": "a:5000, b", "STACKFILE_CERTS_D": "/x:/y"}
    )
    assert opts.config_file == "/home/u/.docker/config.json"
    assert opts.insecure == frozenset({"a:5000", "b"})
    assert opts.certs_dirs[:3] == ("/x", "/y", "/etc/docker/certs.d")
    assert from_environ({"HOME": "/h", "DOCKER_CONFIG": "/cfg"}).config_file == "/cfg/config.json"
    assert from_environ({}).config_file is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost:5000", True),
        ("127.0.0.1:443", True),
        ("127.9.9.9", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("registry.localhost", True),
        ("10.0.0.1:5000", False),
        ("example.com", False),
    ],
)
def test_plain_http_is_for_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_bearer_challenges_are_parsed() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull",
    }
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


def test_login_keys_are_docker_s() -> None:
    assert registry_key(None) == ("registry-1.docker.io", "https://index.docker.io/v1/")
    assert registry_key("docker.io") == registry_key(None)
    assert registry_key("https://reg.example:5000/") == ("reg.example:5000", "reg.example:5000")


INDEX = {
    "manifests": [
        {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:v7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:arm64", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
    ]
}


def test_the_index_entry_for_a_platform() -> None:
    assert choose(INDEX, Platform("linux", "amd64"), "x")["digest"] == "sha256:amd"
    assert choose(INDEX, parse_platform("linux/arm64"), "x")["digest"] == "sha256:arm64"
    assert choose(INDEX, parse_platform("linux/aarch64/v8"), "x")["digest"] == "sha256:arm64"
    assert choose(INDEX, parse_platform("linux/arm/v7"), "x")["digest"] == "sha256:v7"
    with pytest.raises(NotFound) as info:
        choose(INDEX, parse_platform("linux/arm/v6"), "app:1")
    assert (
        info.value.args[0] == "app:1 has no image for linux/arm/v6; it has: linux/amd64, linux/arm/v7, "
        "linux/arm64/v8"
    )
    with pytest.raises(InvalidSpec, match="os/arch"):
        parse_platform("amd64")

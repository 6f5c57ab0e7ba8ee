"""services.*.volumes: short syntax → long form; bind sources absolute; named volumes prefixed."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec


def test_relative_bind_is_absolute_and_creates_host_path(load, project_dir) -> None:
    svc = load("services:\n  a:\n    image: x\n    volumes: ['./data:/data:ro']\n").config["services"]["a"]
    assert svc["volumes"] == [
        {
            "type": "bind",
            "source": str(project_dir / "data"),
            "target": "/data",
            "read_only": True,
            "bind": {"create_host_path": True},
        }
    ]


def test_home_expansion_uses_the_given_environment(service) -> None:
    vol = service("services:\n  a:\n    image: x\n    volumes: ['~/cfg:/cfg']\n")["volumes"][0]
    assert vol["source"] == "/home/u/cfg"


def test_named_and_anonymous_volumes(load) -> None:
    config = load("""\
        services:
          a:
            image: x
            volumes: ['cache:/cache:nocopy', '/anon']
        volumes:
          cache: {}
        """).config
    assert config["services"]["a"]["volumes"] == [
        {"type": "volume", "source": "cache", "target": "/cache", "volume": {"nocopy": True}},
        {"type": "volume", "target": "/anon", "volume": {}},
    ]
    assert config["volumes"] == {"cache": {"name": "test_cache"}}


def test_external_volume_keeps_its_name_and_unused_volumes_are_dropped(load) -> None:
    config = load("""\
        services:
          a: {image: x, volumes: ['ext:/e']}
        volumes:
          ext: {external: true}
          unused: {}
        """).config
    assert config["volumes"] == {"ext": {"name": "ext", "external": True}}


def test_undefined_named_volume_is_an_error(load) -> None:
    with pytest.raises(InvalidSpec, match="undefined volume nope"):
        load("services:\n  a:\n    image: x\n    volumes: ['nope:/n']\n")


def test_override_replaces_the_mount_with_the_same_target(load, project_dir) -> None:
    config = load(
        "services:\n  a:\n    image: x\n    volumes: ['./one:/data']\n",
        extra={"b.yaml": "services:\n  a:\n    volumes: ['./two:/data']\n"},
        files=["compose.yaml", "b.yaml"],
    ).config
    assert [v["source"] for v in config["services"]["a"]["volumes"]] == [str(project_dir / "two")]


def test_bind_without_source_is_rejected(load) -> None:
    with pytest.raises(InvalidSpec, match="source"):
        load("services:\n  a:\n    image: x\n    volumes: [{type: bind, target: /app}]\n")


def test_short_syntax_paths_are_cleaned_as_compose_cleans_them(service, project_dir) -> None:
    """awesome-compose's ``./app:/var/www/html/``: Compose's config gives target /var/www/html."""
    vols = service("services:\n  a:\n    image: x\n    volumes:\n"
                   "      ['./app/:/var/www/html/', '~/c/:/c//d/./e/../f/:ro', '/anon/']\n")["volumes"]
    assert [(v.get("source"), v["target"]) for v in vols] == [
        (str(project_dir / "app"), "/var/www/html"), ("/home/u/c", "/c/d/f"), (None, "/anon")]

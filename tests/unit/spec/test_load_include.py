"""include: other projects with their own directory and .env, cycles and conflicts."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec


def test_included_services_use_their_own_dir_and_env(load, project_dir) -> None:
    config = load(
        "include: [lib/compose.yaml]\nservices:\n  app: {image: app, depends_on: [db]}\n",
        extra={
            "lib/compose.yaml": "services:\n  db:\n    image: ${DB_IMAGE}\n    volumes: ['./d:/d']\n",
            "lib/.env": "DB_IMAGE=postgres:16\n",
        },
    ).config
    db = config["services"]["db"]
    assert db["image"] == "postgres:16"
    assert db["volumes"][0]["source"] == str(project_dir / "lib" / "d")
    assert config["services"]["app"]["depends_on"]["db"]["condition"] == "service_started"


def test_include_cycle_is_an_error(load) -> None:
    with pytest.raises(InvalidSpec, match="include cycle"):
        load(
            "include: [a.yaml]\nservices: {}\n",
            extra={"a.yaml": "include: [compose.yaml]\nservices:\n  a: {image: a}\n"},
        )


def test_conflicting_imported_resource_is_an_error(load) -> None:
    with pytest.raises(InvalidSpec, match="conflicts with imported resource"):
        load(
            "include: [a.yaml]\nservices:\n  a: {image: b}\n",
            extra={"a.yaml": "services:\n  a: {image: a}\n"},
        )

"""environments: extraction, shape checks with key paths, selection with suggestions."""

from __future__ import annotations

from typing import Any

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.environments import extract, select


def test_extract_splits_and_keeps_rest() -> None:
    doc = {"name": "p", "services": {"web": {"image": "x"}},
           "environments": {"prod": {"services": {"web": {"deploy": {"replicas": 3}}}},
                            "dev": {"services": {"web": {"ports": ["8000:8000"]}}, "x-note": 1},
                            "test": None}}
    rest, envs = extract(doc)
    assert rest == {"name": "p", "services": {"web": {"image": "x"}}}
    assert list(envs) == ["dev", "prod", "test"]
    assert envs["prod"] == {"services": {"web": {"deploy": {"replicas": 3}}}}
    assert envs["test"] == {}
    assert "environments" in doc  # input not mutated


def test_no_environments() -> None:
    assert extract({"services": {}}) == ({"services": {}}, {})


@pytest.mark.parametrize(("environments", "key_path", "needle"), [
    ([1, 2], "environments", "mapping"),
    ({"dev": "x"}, "environments.dev", "mapping"),
    ({"dev": {"servces": {}}}, "environments.dev.servces", "did you mean 'services'"),
    ({"dev": {"name": "other"}}, "environments.dev.name", "valid keys"),
    ({"dev": {"services": ["web"]}}, "environments.dev.services", "mapping"),
    ({"dev": {"services": {"web": "busybox"}}}, "environments.dev.services.web", "mapping"),
    ({"bad name!": {}}, "environments.bad name!", "letters"),
])
def test_bad_shapes_name_key_path(environments: Any, key_path: str, needle: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        extract({"environments": environments})
    assert info.value.location is not None and info.value.location.key_path == key_path
    assert needle in str(info.value)


def test_select_unknown_lists_valid() -> None:
    _, envs = extract({"environments": {"dev": {}, "prod": {}}})
    assert select(envs, "dev") == {}
    with pytest.raises(InvalidSpec) as info:
        select(envs, "prd")
    assert info.value.hint == "did you mean 'prod'? environments are: dev, prod"

"""Property: whatever the input, the loader either returns a Project or raises a StackfileError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackfile.errors import StackfileError
from stackfile.spec.loader import LoadOptions, load_project

KEYS = [
    "services",
    "image",
    "build",
    "context",
    "ports",
    "volumes",
    "networks",
    "depends_on",
    "condition",
    "environment",
    "env_file",
    "healthcheck",
    "test",
    "interval",
    "command",
    "entrypoint",
    "extends",
    "service",
    "file",
    "include",
    "path",
    "profiles",
    "secrets",
    "configs",
    "external",
    "name",
    "target",
    "source",
    "type",
    "labels",
    "deploy",
    "resources",
    "limits",
    "ulimits",
    "develop",
    "watch",
    "action",
    "x-ext",
    "images",
    "environments",
    "web",
    "db",
    "default",
    "required",
    "logging",
    "driver",
]
SEED = """\
services:
  web:
    image: ${IMG:-nginx}
    build: {context: ., args: [A=1]}
    ports: ["8080:80", {target: 443, published: 8443}]
    volumes: ["./d:/d:ro", "cache:/c"]
    depends_on: {db: {condition: service_healthy}}
    environment: [A=1, B]
    healthcheck: {test: "true", interval: 1m30s}
    networks: [front]
    extends: {service: base}
  base: {image: base, command: run -x}
  db: {image: postgres, profiles: [db], labels: {a: b}}
networks: {front: {}}
volumes: {cache: {}}
x-common: &common {restart: always}
"""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(KEYS),
    st.sampled_from(["80:80", "./x:/y", "1m", "$A", "${B:-c}", "${X?}", "a=b"]),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=40,
)
documents = st.dictionaries(st.sampled_from(KEYS), trees, max_size=5)


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "compose.yaml").write_text(text)
        try:
            load_project(
                LoadOptions(
                    files=["compose.yaml"], cwd=tmp, project_name="fuzz", environ={"HOME": tmp, "A": "1"}
                )
            )
        except StackfileError:
            pass


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _load(text)


@SETTINGS
@given(documents)
def test_random_structures(doc: dict) -> None:
    _load(yaml.safe_dump(doc))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(SEED)), st.integers(0, 3), st.text(max_size=3)), max_size=6))
def test_mutated_valid_file(edits: list[tuple[int, int, str]]) -> None:
    text = SEED
    for pos, cut, insert in edits:
        text = text[:pos] + insert + text[pos + cut :]
    _load(text)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["web", "db", "base"]),
        st.dictionaries(st.sampled_from(KEYS), trees, max_size=6),
        max_size=3,
    )
)
def test_random_services(services: dict) -> None:
    _load(yaml.safe_dump({"services": services}))

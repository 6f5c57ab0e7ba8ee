"""Differential test over the real stack model: every ``spec.model`` class is rebuilt on pydantic v2
(the library ``spec/typed.py`` replaced for its import cost) and both are fed the same canonical
configs, those of the examples, the project templates, the loader's own fixtures and, with
``--corpus``, every valid case of the external corpus, plus fuzzed values. Both accept with equal
values, or both refuse naming the same fields.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackfile.errors import StackfileError
from stackfile.spec import model as spec_model
from stackfile.spec import typed
from stackfile.spec.loader import LoadOptions, load_project

REPO = Path(__file__).resolve().parents[3]
CONFIG = pydantic.ConfigDict(frozen=True, extra="allow", populate_by_name=True)
_TWINS: dict[type, type[pydantic.BaseModel]] = {}


def _twin_type(tp: Any) -> Any:
    """``tp`` with every FrozenModel class replaced by its pydantic twin."""
    if isinstance(tp, type) and issubclass(tp, typed.FrozenModel):
        return twin(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        meta = [pydantic.BeforeValidator(m.func) if isinstance(m, typed.BeforeValidator) else m
                for m in tp.__metadata__]
        return Annotated[(_twin_type(args[0]), *meta)]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_twin_type(a) for a in args)]  # noqa: UP007 - built from a tuple
    if origin is tuple:
        return tuple[(*(_twin_type(a) if a is not Ellipsis else a for a in args),)]
    if origin is dict:
        return dict[args[0], _twin_type(args[1])]  # type: ignore[valid-type]
    return tp


def twin(cls: type[typed.FrozenModel]) -> type[pydantic.BaseModel]:
    """The pydantic model declaring what ``cls`` declares: fields, aliases, defaults, validators."""
    if cls in _TWINS:
        return _TWINS[cls]
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: dict[str, Any] = {}
    for name, (alias, default, factory) in cls.__fields__.items():
        if factory is not None:
            info = pydantic.Field(default_factory=factory, alias=alias)
        elif default is typed._MISSING:
            info = pydantic.Field(alias=alias)
        else:
            info = pydantic.Field(default=default, alias=alias)
        fields[name] = (Any, info)  # typed below, once the twin exists (models may refer to themselves)
    validators = {}
    for name, funcs in cls.__validators__.items():
        def run(v: Any, _funcs: tuple[Any, ...] = tuple(funcs)) -> Any:
            try:
                for fn in _funcs:
                    v = fn(v)
            except TypeError as exc:  # typed.py reports a validator's TypeError as a bad value, as
                raise ValueError(str(exc)) from None  # pydantic does its ValueError
            return v
        validators[f"_before_{name}"] = pydantic.field_validator(name, mode="before")(
            classmethod(lambda c, v, _run=run: _run(v)))
    model = pydantic.create_model(f"P{cls.__name__}", __config__=CONFIG, __validators__=validators, **fields)
    _TWINS[cls] = model
    for name in cls.__fields__:
        model.model_fields[name].annotation = _twin_type(hints[name])
    model.model_rebuild(force=True)
    return model


def _outcome(data: dict[str, Any], oracle: bool, depth: int = 99) -> tuple[str, Any]:
    prepared = spec_model._prepare(data)
    try:
        if oracle:
            return "ok", twin(spec_model.Stack).model_validate(prepared).model_dump()
        return "ok", spec_model.Stack.model_validate(prepared).model_dump()
    except pydantic.ValidationError as exc:
        return "error", sorted({repr(_field(e["loc"])[:depth]) for e in exc.errors()})
    except typed.ModelError as exc:
        return "error", sorted({repr(_field(loc)[:depth]) for loc, _, _ in exc.errors})


def _field(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A location down to its field, as a user is shown it: pydantic adds union members and the
    names of tagged types after the field, and names an aliased field by the key it was given."""
    out = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in ("function-before", "function-after")
                                      or part[:1].isupper() or part in ("str", "int", "float", "bool",
                                                                        "none", "tuple", "dict")):
            break
        out.append(part)
    return tuple(out)


def _configs() -> list[tuple[str, dict[str, Any]]]:
    out = []
    stacks = [*REPO.glob("examples/*/stack.yaml"), *REPO.glob("examples/*/stack.yaml.j2"),
              *REPO.glob("tests/unit/export/golden/stack.yaml")]
    for stack in sorted(stacks):
        opts = LoadOptions(files=[str(stack)], cwd=str(stack.parent), environ={"HOME": "/tmp"})
        project = load_project(opts)
        out.append((str(stack.relative_to(REPO)), project.config))
    return out


CONFIGS = _configs()


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=[n for n, _ in CONFIGS])
def test_the_examples_type_the_same(name: str, config: dict[str, Any]) -> None:
    ours, oracle = _outcome(config, False), _outcome(config, True)
    assert ours[0] == "ok"
    assert ours == oracle


@pytest.mark.parametrize("template", sorted(p.name for p in (REPO / "stackfile" / "templates").iterdir()
                                            if (p / "template.json").is_file()))
def test_the_templates_type_the_same(template: str, tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "stackfile", "init", "--template", template, str(tmp_path)],
                   check=True, capture_output=True)
    (stack,) = [p for p in tmp_path.iterdir() if p.name.startswith("stack.yaml")]
    config = load_project(LoadOptions(files=[str(stack)], cwd=str(tmp_path), environ={"HOME": "/tmp"})).config
    assert _outcome(config, False) == _outcome(config, True)


@pytest.mark.ground_truth("corpus")
def test_every_valid_corpus_case_types_the_same(pytestconfig: pytest.Config) -> None:
    corpus = Path(pytestconfig.getoption("corpus"))
    compared = 0
    for case in sorted((corpus / "valid").iterdir()):
        try:
            config = load_project(LoadOptions(files=["compose.yaml"], project_name="corpus", cwd=str(case),
                                              environ={"HOME": "/tmp"})).config
        except (StackfileError, OSError):
            continue  # cases that need flags or files of their own; the corpus run scores those
        assert _outcome(config, False) == _outcome(config, True), case.name
        compared += 1
    assert compared > 100, f"only {compared} corpus cases loaded"


# Fuzzed values: a base service, one of its typed keys replaced by an arbitrary YAML-ish value.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.sampled_from([0.5, 1.0, 2.5, -1.0]),
    st.sampled_from(["", "7", "0.5", "yes", "no", "true", "1m30s", "10s", "64M", "a", "x:y", "8080:80",
                     "always", "service_healthy", "CMD", "/data", "ro"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["target", "published", "soft", "hard", "condition", "test", "interval",
                                     "source", "type", "aliases", "limits", "memory", "cpus", "x"]),
                    inner, max_size=3)), max_leaves=6)
KEYS = ["ports", "healthcheck", "ulimits", "depends_on", "deploy", "environment", "command", "expose",
        "networks", "volumes", "secrets", "restart", "scale", "init", "read_only", "stop_grace_period",
        "extra_hosts", "cap_add", "labels", "user", "tmpfs", "mem_limit", "cpus", "x-custom"]
BASE = {"name": "f", "services": {"web": {"image": "busybox", "networks": {"default": None}}},
        "networks": {"default": {"name": "f_default"}}}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(KEYS), VALUES)
def test_fuzzed_service_values_type_the_same(key: str, value: Any) -> None:
    data = copy.deepcopy(BASE)
    data["services"]["web"][key] = value
    # both accept with equal values, or both refuse the same service keys (how deep inside a value
    # each points differs for non-string mapping keys; tests/unit/spec/test_typed_vs_pydantic.py
    # compares locations exactly on the types themselves)
    ours, oracle = _outcome(data, False, depth=3), _outcome(data, True, depth=3)
    assert ours == oracle, (key, value, ours, oracle)

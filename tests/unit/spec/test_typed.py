"""The typed-model base: pydantic v2's lax conversions for the types the stack model uses."""

from __future__ import annotations

import pickle
from typing import Annotated, Any, Literal

import pytest

from stackfile.spec.typed import BeforeValidator, Field, FrozenModel, ModelError, field_validator


class Inner(FrozenModel):
    soft: int
    hard: int = 0


class Rec(FrozenModel):
    name: str = ""
    count: int | None = None
    ratio: float | str | None = None
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    items: tuple[str, ...] = ()
    limits: dict[str, int | Inner] = Field(default_factory=dict)
    inner: Inner | None = None
    upper: Annotated[str | None, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)] = None
    from_: str | None = Field(default=None, alias="from")
    anything: Any = None

    @field_validator("items", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return tuple(v.split(",")) if isinstance(v, str) else v


def test_lax_scalar_conversions_match_pydantic() -> None:
    r = Rec.model_validate({"count": "7", "flag": "yes", "ratio": 2, "items": "a,b"})
    assert (r.count, r.flag, r.ratio, r.items) == (7, True, 2.0, ("a", "b"))
    assert Rec.model_validate({"count": 3.0, "flag": 0}).count == 3
    assert Rec.model_validate({"ratio": "0.5"}).ratio == "0.5"  # an exact str beats a conversion


def test_unions_nested_models_aliases_and_before_validators() -> None:
    r = Rec.model_validate({"limits": {"nofile": {"soft": 1, "hard": 2}, "nproc": 5},
                            "inner": {"soft": "3"}, "upper": "x", "from": "busybox"})
    assert r.limits == {"nofile": Inner(soft=1, hard=2), "nproc": 5}
    assert r.inner == Inner(soft=3) and r.upper == "X" and r.from_ == "busybox"
    assert Rec.model_validate({"from_": "scratch"}).from_ == "scratch"  # populate by name too


def test_errors_are_collected_with_their_locations() -> None:
    with pytest.raises(ModelError) as info:
        Rec.model_validate({"name": 5, "mode": "c", "items": ["ok", 1.5], "inner": {"hard": 1},
                            "limits": {"x": "many"}})
    locs = {loc: msg for loc, msg, _ in info.value.errors}
    assert locs[("name",)] == "Input should be a valid string"
    assert locs[("mode",)] == "Input should be 'a' or 'b'"
    assert ("items", 1) in locs and ("inner", "soft") in locs and locs[("inner", "soft")] == "Field required"
    assert locs[("limits", "x")].startswith("Input should be a valid integer")


def test_a_validator_that_raises_is_an_error_not_a_traceback() -> None:
    with pytest.raises(ModelError) as info:
        Rec.model_validate({"items": 5})  # the validator iterates an int
    assert info.value.errors[0][0] == ("items",)


def test_frozen_extras_copy_dump_and_pickle() -> None:
    r = Rec.model_validate({"name": "n", "x-extra": {"k": 1}, "items": ["a"]})
    with pytest.raises(AttributeError):
        r.name = "m"  # type: ignore[misc]
    assert r.model_extra == {"x-extra": {"k": 1}} and getattr(r, "x-extra") == {"k": 1}
    copy = r.model_copy(update={"name": "m", "x-new": 1})
    assert (copy.name, r.name, copy.model_extra["x-new"]) == ("m", "n", 1)
    dumped = r.model_dump(mode="json", by_alias=True)
    assert dumped["from"] is None and dumped["items"] == ["a"] and dumped["x-extra"] == {"k": 1}
    assert r.model_dump()["items"] == ("a",)
    assert pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(AttributeError):
        _ = r.no_such_field

"""Differential test: ``spec/typed.py`` converts as pydantic v2 does, pydantic as the oracle.

``typed.py`` replaced pydantic in the stack model for a measured reason (its import and class
building cost ~110 ms per command). Here the same models are declared on both bases and fed the
same generated inputs: both accept with equal values, or both refuse at the same locations.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from hypothesis import given, settings
from hypothesis import strategies as st

from stackfile.spec import typed


def _upper(v: Any) -> Any:
    return v.upper() if isinstance(v, str) else v


# FrozenModel's behaviour: immutable, unknown keys kept, an aliased field settable by its name too
CONFIG = pydantic.ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class PInner(pydantic.BaseModel):
    model_config = CONFIG
    soft: int
    hard: int = 0


class PRec(pydantic.BaseModel):
    model_config = CONFIG
    name: str = ""
    count: int | None = None
    ratio: float | str | None = None
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    items: tuple[str, ...] = ()
    limits: dict[str, int | PInner] = pydantic.Field(default_factory=dict)
    inner: PInner | None = None
    upper: Annotated[str | None, pydantic.BeforeValidator(_upper)] = None
    from_: str | None = pydantic.Field(default=None, alias="from")


class TInner(typed.FrozenModel):
    soft: int
    hard: int = 0


class TRec(typed.FrozenModel):
    name: str = ""
    count: int | None = None
    ratio: float | str | None = None
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    items: tuple[str, ...] = ()
    limits: dict[str, int | TInner] = typed.Field(default_factory=dict)
    inner: TInner | None = None
    upper: Annotated[str | None, typed.BeforeValidator(_upper)] = None
    from_: str | None = typed.Field(default=None, alias="from")


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.5, -1.0, 3.0]),
    st.sampled_from(["", "7", "-2", "0.5", "1e2", "yes", "no", "true", "off", "on", "a", "b", "x", " 3 "]),
    st.sampled_from(["1_0"]),
)
KEYS = st.sampled_from(["soft", "hard", "k"])
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(KEYS, SCALARS, max_size=3))
FIELDS = ["name", "count", "ratio", "flag", "mode", "items", "limits", "inner", "upper", "from", "from_",
          "extra"]
INPUTS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6)


def _outcome(model: Any, data: dict[str, Any], error: type[Exception]) -> tuple[str, Any]:
    try:
        return "ok", model.model_validate(data).model_dump()
    except error as exc:
        errors = exc.errors() if isinstance(exc, pydantic.ValidationError) else exc.errors
        return "error", sorted({_field(e["loc"] if isinstance(e, dict) else e[0]) for e in errors})


def _field(loc: tuple[Any, ...]) -> str:
    """The field a location names: pydantic adds union members to it and names an aliased field by
    the key it was given (``from_``), typed.py by its alias; the field is what a user is shown."""
    field = str(loc[0]) if loc else ""
    return "from" if field == "from_" else field


@settings(max_examples=600, deadline=None)
@given(INPUTS)
def test_conversion_matches_pydantic(data: dict[str, Any]) -> None:
    ours = _outcome(TRec, data, typed.ModelError)
    oracle = _outcome(PRec, data, pydantic.ValidationError)
    assert ours == oracle, (data, ours, oracle)

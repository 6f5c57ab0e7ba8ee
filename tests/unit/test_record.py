"""stackfile.record.Record and errors.Location: the NamedTuple API their callers use, without typing."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from stackfile.errors import Location
from stackfile.record import Record


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class Point3(Point):
    z: int = 0


class Other(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_fields_defaults_and_construction() -> None:
    assert Point._fields == ("x", "y", "tags")
    assert Point._field_defaults == {"y": 0, "tags": ()}
    assert Point(1) == Point(1, 0, ()) == Point(x=1) == Point(1, tags=())
    assert Point(1, 2).norm1() == 3
    assert Point3._fields == ("x", "y", "tags", "z")
    assert Point3(1, z=5).z == 5
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((), {}, "missing 1 required argument: 'x'"),
    ((1, 2, (), 4), {}, "takes 3 positional arguments but 4 were given"),
    ((1,), {"x": 2}, "multiple values for argument 'x'"),
    ((1,), {"w": 2}, "unexpected keyword argument 'w'"),
])
def test_bad_construction_is_a_type_error(args: tuple[Any, ...], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        Point(*args, **kwargs)


def test_immutable_replace_asdict_iter() -> None:
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x
    q = p._replace(y=5)
    assert (p.y, q.y, type(q)) == (2, 5, Point)
    with pytest.raises(ValueError, match="unexpected field names"):
        p._replace(w=1)
    assert p._asdict() == {"x": 1, "y": 2, "tags": ()}
    x, y, tags = p
    assert (x, y, tags) == (1, 2, ())


def test_equality_and_hash_by_value_and_class() -> None:
    assert Point(1, 2) == Point(1, 2) and hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2) != Other(1, 2)
    assert Point(1, 2) != (1, 2, ())
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_pickle_and_copy_round_trip() -> None:
    p = Point3(1, 2, ("a",), 4)
    assert pickle.loads(pickle.dumps(p)) == p
    assert copy.copy(p) == p and copy.deepcopy(p) == p


def test_location_keeps_its_value_api() -> None:
    loc = Location("f.yml", 3, key_path="services.web")
    assert loc == Location(file="f.yml", line=3, column=None, key_path="services.web")
    assert hash(loc) == hash(Location("f.yml", 3, None, "services.web"))
    assert str(loc) == "f.yml:3 (services.web)"
    assert loc._replace(column=7) == Location("f.yml", 3, 7, "services.web")
    assert loc._asdict() == {"file": "f.yml", "line": 3, "column": None, "key_path": "services.web"}
    assert tuple(loc) == ("f.yml", 3, None, "services.web")
    assert Location._fields == ("file", "line", "column", "key_path")
    assert pickle.loads(pickle.dumps(loc)) == loc
    with pytest.raises(AttributeError):
        loc.line = 4
    with pytest.raises(ValueError, match="unexpected field names"):
        loc._replace(row=1)


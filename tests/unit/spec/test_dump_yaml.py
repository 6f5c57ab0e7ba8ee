"""The config YAML emitter: output parses back to exactly the input (PyYAML, YAML 1.1 rules)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stackfile.spec.dump import dump_yaml

TRICKY = [
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "null",
    "~",
    "true",
    "1",
    "0x1f",
    "0o7",
    "010",
    "1e3",
    "1_000",
    "1:20",
    "2020-01-01",
    ".inf",
    "-.inf",
    ".nan",
    "-",
    "- x",
    "a: b",
    "a #b",
    "#c",
    "&a",
    "*a",
    "!t",
    "%x",
    "@x",
    "`x",
    "'q'",
    '"q"',
    "[x]",
    "{x}",
    "x,y",
    "?",
    ":",
    "",
    " lead",
    "trail ",
    "tab\tin",
    "multi\nline",
    "end\n",
    "two\n\n",
    "\nlead",
    "crlf\r\n",
    "ünï",
    "😀",
    "\x7f",
    "\x00",
    "$$HOME",
    "${A:-b}",
    "8.8.8.8",
    "http://x/y?z=1",
    "/abs/path",
    "./rel",
    "CMD-SHELL",
    "--flag=1",
    "a=b",
    "k: v\nk2: v2",
]

keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=8))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False),
    st.sampled_from(TRICKY),
    st.text(max_size=12),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=30,
)


def test_tricky_strings_round_trip() -> None:
    data = {
        "strings": TRICKY,
        "map": {t: t for t in TRICKY},
        "nested": [[], {}, [[1, "x"]], [{"a": [{"b": None}]}]],
    }
    assert yaml.safe_load(dump_yaml(data)) == data


def test_compose_like_layout() -> None:
    text = dump_yaml(
        {
            "services": {
                "web": {
                    "ports": [{"target": 80, "published": "8080"}],
                    "command": ["a", "b"],
                    "build": {"dockerfile_inline": "FROM x\nRUN y\n"},
                }
            }
        }
    )
    assert text == (
        'services:\n  web:\n    ports:\n      - target: 80\n        published: "8080"\n'
        "    command:\n      - a\n      - b\n    build:\n      dockerfile_inline: |\n"
        "        FROM x\n        RUN y\n"
    )


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, trees, max_size=5))
def test_any_document_round_trips(data: dict) -> None:
    assert yaml.safe_load(dump_yaml(data)) == data

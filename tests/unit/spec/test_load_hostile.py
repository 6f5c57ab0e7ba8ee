"""Hostile stack files: each gives a located StackfileError, never a crash (issue 12.5).

The named cases are the shapes the fuzzer is built around; ``test_mutated_corpus_slice`` runs a
bounded, reproducible slice of the fuzzer (``bench/fuzz_loader.py`` runs as many as wanted).
"""

from __future__ import annotations

import random
import re

import pytest

from tests.support.loader_fuzz import Case, mutate, run_case, seed_files


def _rchain(n: int) -> bytes:
    lines = (
        ["services:"] + [f"  s{k}: {{extends: s{k - 1}}}" for k in range(n - 1, 0, -1)] + ["  s0: {image: x}"]
    )
    return "\n".join(lines).encode()


def _file_chain(n: int, kind: str) -> Case:
    case: Case = {}
    for k in range(n):
        name = f"f{k}.yaml" if k else "compose.yaml"
        nxt = f"f{k + 1}.yaml"
        if kind == "include":
            body = (f"include: [{nxt}]\n" if k < n - 1 else "") + f"services: {{s{k}: {{image: x}}}}\n"
        else:
            body = (
                f"services: {{s: {{extends: {{file: {nxt}, service: s}}}}}}\n"
                if k < n - 1
                else "services: {s: {image: x}}\n"
            )
        case[name] = body.encode()
    return case


def _bomb() -> bytes:
    lines = [b"x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [b"x-a%d: &a%d [%s]" % (k, k, b", ".join([b"*a%d" % (k - 1)] * 9)) for k in range(1, 12)]
    return b"\n".join([*lines, b"services: {web: {image: x, command: *a11}}", b""])


HOSTILE: dict[str, tuple[Case, str]] = {
    "deep flow sequence": (
        {"compose.yaml": b"services: " + b"[" * 100_000 + b"]" * 100_000},
        "nested deeper",
    ),
    "deep flow mapping": (
        {"compose.yaml": b"services: " + b"{a: " * 5000 + b"1" + b"}" * 5000},
        "nested deeper",
    ),
    "deep block mapping": (
        {
            "compose.yaml": b"x-a:\n"
            + b"".join(b" " * (k + 1) + b"a:\n" for k in range(3000))
            + b" " * 3002
            + b"1\n"
        },
        "nested deeper",
    ),
    "alias bomb": ({"compose.yaml": _bomb()}, "alias bomb"),
    "extends chain": ({"compose.yaml": _rchain(2000)}, "extends chain is longer than 100"),
    "extends loop across files": (
        {
            "compose.yaml": b"services:\n  a:\n    extends: {file: other.yaml, service: b}\n",
            "other.yaml": b"services:\n  b:\n    extends: {file: compose.yaml, service: a}\n",
        },
        "extends cycle",
    ),
    "extends through 300 files": (_file_chain(300, "extends"), "more than 32 files"),
    "include loop": (
        {
            "compose.yaml": b"include: [other.yaml]\nservices: {a: {image: x}}\n",
            "other.yaml": b"include: [compose.yaml]\n",
        },
        "include cycle",
    ),
    "include through 300 files": (_file_chain(300, "include"), "deeper than 32 files"),
    "missing included file": (
        {"compose.yaml": b"include: [nothere.yaml]\nservices: {a: {image: x}}\n"},
        "not found",
    ),
    "missing extended file": (
        {"compose.yaml": b"services: {a: {extends: {file: nothere.yaml, service: b}}}\n"},
        "not found",
    ),
    "huge integer": (
        {"compose.yaml": b"services: {web: {image: x, scale: " + b"9" * 5000 + b"}}"},
        "too large",
    ),
    "huge integer in a list": (
        {"compose.yaml": b"services:\n  web:\n    command: [-" + b"9" * 9000 + b"]\n"},
        "too large",
    ),
    "include tagged !reset": ({"compose.yaml": b"include: !reset [a.yaml]\nservices: {a: {image: x}}\n"}, ""),
    "include a mapping": ({"compose.yaml": b"include: {a: b}\nservices: {a: {image: x}}\n"}, "include"),
    "invalid UTF-8": ({"compose.yaml": b"services:\n  web:\n    image: \xff\n"}, "not UTF-8"),
    "a NUL byte": ({"compose.yaml": b"services:\n  web:\n    image: a\x00b\n"}, "control characters"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_gives_a_located_error(name: str) -> None:
    case, words = HOSTILE[name]
    outcome = run_case(case)
    if not words:  # a file that loads
        assert outcome.kind == "ok", outcome
        return
    assert outcome.kind == "error", outcome
    assert words in outcome.detail
    assert re.match(r"[\w.]+\.yaml[:( ]", outcome.detail), outcome.detail  # starts with the file


def test_invalid_utf8_names_line_and_column() -> None:
    outcome = run_case({"compose.yaml": b"services:\n  web:\n    image: \xc3\xa9\xff\n"})
    assert outcome.detail.startswith("compose.yaml:3:13: "), outcome.detail


@pytest.fixture(scope="module")
def seeds() -> list[bytes]:
    return seed_files()


def test_mutated_corpus_slice(seeds: list[bytes]) -> None:
    """400 mutated files (reproducible): every one loads or gives a located error."""
    assert len(seeds) > 50
    bad = []
    for i in range(400):
        outcome = run_case(mutate(random.Random(12_000_000 + i), seeds), time_limit=10.0)
        if outcome.kind not in ("ok", "error"):
            bad.append((i, outcome))
    assert not bad, bad[:3]

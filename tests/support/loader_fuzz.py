"""Mutate compose files and check that the loader answers each with a project or a located error.

Shared by the bounded test slice (``tests/unit/spec/test_load_fuzz_corpus.py``) and the long run
(``bench/fuzz_loader.py``). A case is one project directory: ``compose.yaml`` plus, for the
cross-file mutations, ``other.yaml``. Running a case loads it the way ``stackfile config`` does
(load, then render YAML and JSON); a :class:`~stackfile.errors.StackfileError` is a fine answer,
anything else (or a case slower than its time limit) is an internal error.
"""

from __future__ import annotations

import ast
import os
import random
import re
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from stackfile.errors import StackfileError

__all__ = ["Case", "Outcome", "mutate", "run_case", "seed_files"]

ROOT = Path(__file__).resolve().parents[2]

Case = dict[str, bytes]  # file name in the project directory → content


class Outcome:
    """How the loader answered one case."""

    __slots__ = ("detail", "kind")

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = kind  # "ok", "error" (located StackfileError), "unlocated", "internal", "timeout"
        self.detail = detail

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, {self.detail[:200]!r})"


def _yaml_strings(source: str) -> Iterator[str]:
    """String literals in a test module that look like stack files."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if "\n" in text and re.search(r"^\s*(services|networks|volumes|include|images):", text, re.M):
                yield text


def seed_files(extra_dirs: tuple[str, ...] = ()) -> list[bytes]:
    """Seeds: the examples' stack files and the stack files written inline in the loader's tests."""
    import textwrap

    seeds: list[bytes] = []
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.suffix in (".yaml", ".yml") or path.name.endswith((".yaml.j2", ".yml.j2")):
            seeds.append(path.read_bytes())
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for text in _yaml_strings(path.read_text(encoding="utf-8")):
            seeds.append(textwrap.dedent(text).encode())
    for d in extra_dirs:
        for path in sorted(Path(d).rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file() and path.stat().st_size < 200_000:
                seeds.append(path.read_bytes())
    return sorted(set(seeds))


TOKENS = [
    b"&a ",
    b"*a",
    b"<<: *a",
    b"!reset ",
    b"!override ",
    b"!!int ",
    b"!!float ",
    b"!!binary ",
    b"!!python/object ",
    b"${",
    b"${A:-",
    b"${A?err}",
    b"$$",
    b"}",
    b"{",
    b"[",
    b"]",
    b": ",
    b"- ",
    b"---\n",
    b"...\n",
    b"\t",
    b"99999999999999999999999999999999999999",
    b"1e999",
    b"-1",
    b"0x",
    b"0o777",
    b".inf",
    b"~",
    b"null",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\x00",
    b"\xe2\x82",
    b"\r",
    b"'",
    b'"',
    b"|",
    b">",
    b"? ",
    b"#",
    b"extends: x",
    b"extends: {file: other.yaml, service: a}",
    b"include: [compose.yaml]",
    b"include: [other.yaml]",
    b"depends_on: [a]",
    b"ports: ['99999:80']",
    b"mem_limit: 99999999999999999999g",
    b"cpus: 1e308",
    b"scale: -5",
    b"healthcheck: {interval: 9999999999999h}",
    b"ulimits: {nofile: -1}",
]
KEYS = [
    b"services",
    b"image",
    b"build",
    b"ports",
    b"volumes",
    b"networks",
    b"depends_on",
    b"extends",
    b"include",
    b"environment",
    b"healthcheck",
    b"deploy",
    b"profiles",
    b"secrets",
    b"configs",
    b"command",
    b"x-a",
    b"images",
    b"environments",
    b"develop",
    b"watch",
    b"ulimits",
    b"logging",
    b"labels",
    b"env_file",
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _m_byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    i = rng.randrange(len(data))
    op = rng.randrange(3)
    if op == 0:
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
    if op == 1:
        return data[:i] + data[i + rng.randint(1, 8) :]
    return data[:i] + bytes([rng.randrange(32, 127)]) + data[i:]


def _m_token(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(TOKENS + KEYS) + data[i:]


def _m_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(5)
    if op == 0:
        lines.insert(j, lines[i])
    elif op == 1 and len(lines) > 1:
        del lines[i]
    elif op == 2:
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 3:
        lines[i] = b" " * rng.choice((1, 2, 4)) + lines[i]
    else:
        lines[i] = lines[i].lstrip(b" ")
    return b"\n".join(lines)


def _m_splice(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    other = _lines(rng.choice(seeds))
    lines = _lines(data)
    a = rng.randrange(len(other))
    chunk = other[a : a + rng.randint(1, 6)]
    i = rng.randrange(len(lines) + 1)
    return b"\n".join(lines[:i] + chunk + lines[i:])


def _m_deep(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice((50, 101, 500, 5000, 100_000))
    style = rng.randrange(3)
    if style == 0:
        nest = b"[" * depth + b"]" * depth
    elif style == 1:
        nest = b"{a: " * depth + b"1" + b"}" * depth
    else:
        nest = (
            b"\n" + b"".join(b" " * (k + 4) + b"a:\n" for k in range(min(depth, 3000))) + b" " * 3004 + b"1"
        )
    lines = _lines(data)
    i = rng.randrange(len(lines))
    return b"\n".join([*lines[:i], lines[i].rstrip() + (b" " if style < 2 else b"") + nest, *lines[i + 1 :]])


def _m_bomb(rng: random.Random, data: bytes) -> bytes:
    levels = rng.randint(3, 12)
    out = [b"x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, levels):
        refs = b", ".join(b"*a%d" % (k - 1) for _ in range(9))
        out.append(b"x-a%d: &a%d [%s]" % (k, k, refs))
    use = rng.choice((b"x-use: *a%d", b"services: {web: {image: x, command: *a%d}}"))
    out.append(use % (levels - 1))
    return data + b"\n" + b"\n".join(out) + b"\n"


def _m_number(rng: random.Random, data: bytes) -> bytes:
    numbers = [
        b"9" * rng.choice((20, 400, 5000)),
        b"1e99999",
        b"-" + b"9" * 30,
        b"0x" + b"f" * 40,
        b"0o" + b"7" * 40,
    ]
    hits = [m.start() for m in re.finditer(rb"\b\d+\b", data)]
    if not hits:
        return _m_token(rng, data)
    i = rng.choice(hits)
    end = i
    while end < len(data) and data[end : end + 1].isdigit():
        end += 1
    return data[:i] + rng.choice(numbers) + data[end:]


def _m_utf8(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return (
        data[:i]
        + rng.choice((b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf"))
        + data[i:]
    )


def _cross_file(rng: random.Random, data: bytes) -> Case:
    """Recursion through extends/include between compose.yaml and other.yaml."""
    kind = rng.randrange(5)
    if kind == 0:  # extends across files in a loop
        main = b"services:\n  a:\n    extends: {file: other.yaml, service: b}\n"
        other = b"services:\n  b:\n    extends: {file: compose.yaml, service: a}\n"
    elif kind == 1:  # include in a loop
        main = data + b"\ninclude: [other.yaml]\n"
        other = b"include: [compose.yaml]\nservices: {z: {image: z}}\n"
    elif kind == 2:  # a long extends chain
        n = rng.choice((50, 200, 2000))
        body = [b"services:", b"  s0: {image: x}"] + [
            b"  s%d: {extends: s%d}" % (k, k - 1) for k in range(1, n)
        ]
        main, other = b"\n".join(body) + b"\n", b""
    elif kind == 3:  # extends itself
        main = b"services:\n  a:\n    image: x\n    extends: a\n"
        other = data
    else:  # the other file is a mutated seed, extended from the main one
        main = b"services:\n  a:\n    extends: {file: other.yaml, service: web}\n"
        other = data
    return {"compose.yaml": main, "other.yaml": other}


def mutate(rng: random.Random, seeds: list[bytes]) -> Case:
    """One random case derived from the seeds."""
    data = rng.choice(seeds)
    if rng.random() < 0.06:
        return _cross_file(rng, data)
    simple: list[Callable[[random.Random, bytes], bytes]] = [
        _m_byte,
        _m_token,
        _m_line,
        _m_number,
        _m_utf8,
        _m_deep,
        _m_bomb,
    ]
    weights = [30, 30, 20, 5, 4, 2, 2]
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        if rng.random() < 0.1:
            data = _m_splice(rng, data, seeds)
        else:
            data = rng.choices(simple, weights)[0](rng, data)
    return {"compose.yaml": data}


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _config(project_dir: str) -> None:
    from stackfile.engine.render import config_text
    from stackfile.spec.loader import LoadOptions, load_project

    env = {"HOME": project_dir, "A": "1", "PATH": "/usr/bin"}
    project = load_project(
        LoadOptions(files=["compose.yaml"], cwd=project_dir, project_name="fuzz", environ=env)
    )
    config_text(project.config, "yaml")
    config_text(project.config, "json")


def run_case(case: Case, *, time_limit: float = 10.0) -> Outcome:
    """Load ``case`` as ``stackfile config`` would; classify the answer."""
    with tempfile.TemporaryDirectory(prefix="sf-fuzz-") as tmp:
        for name, body in case.items():
            Path(tmp, name).write_bytes(body)
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        try:
            _config(tmp)
        except StackfileError as exc:
            loc = exc.location
            if loc is None or not (loc.file or loc.key_path):
                return Outcome("unlocated", exc.render().replace(tmp + os.sep, ""))
            return Outcome("error", exc.render().replace(tmp + os.sep, ""))
        except _Timeout:
            return Outcome("timeout", f"slower than {time_limit}s")
        except Exception:
            return Outcome("internal", traceback.format_exc(limit=-8).replace(tmp + os.sep, ""))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return Outcome("ok")

"""Dockerfile → :class:`~stackfile.spec.recipe.Recipe` (the IR shared with ``images:`` recipes).

Three small passes, as in moby/buildkit's frontend: :func:`_logical_lines` (parser directives,
comments, line continuations, heredocs) → :func:`_instructions` (keyword, flags, arguments, line)
→ :class:`_StageBuilder` (variable substitution with ARG/ENV scoping, one IR step per instruction).
Substitution follows BuildKit's shell lexer (quotes, escapes, ``$VAR``, ``${VAR:-x}``, ``${VAR:+x}``,
``${VAR:?msg}``) and is applied only where Docker applies it (not to RUN/CMD/ENTRYPOINT text).
Errors are :class:`~stackfile.errors.InvalidSpec` naming the file, line and instruction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from stackfile.errors import InvalidSpec, Location
from stackfile.spec.recipe import (
    Arg,
    CacheMount,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Recipe,
    Run,
    Shell,
    Source,
    Stage,
    Step,
    StopSignal,
    User,
    Volume,
    Workdir,
)

__all__ = ["DEFAULT_PATH", "INSTRUCTIONS", "expand_ports", "expand_word", "parse_dockerfile",
           "parse_duration_text", "platform_args", "split_raw_words"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")
_FLAGS = {
    "FROM": ("platform",),
    "RUN": ("mount", "network", "security"),
    "COPY": ("from", "chown", "chmod", "link", "exclude"),
    "ADD": ("chown", "chmod", "link", "exclude", "checksum"),
    "HEALTHCHECK": ("interval", "timeout", "start-period", "start-interval", "retries"),
}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_PORT = re.compile(r"^\d+(-\d+)?(/(tcp|udp|sctp))?$", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


# ------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class _Where:
    path: str
    line: int
    keyword: str = ""

    def error(self, message: str, hint: str | None = None) -> InvalidSpec:
        prefix = f"{self.keyword}: " if self.keyword else ""
        return InvalidSpec(f"{prefix}{message}", location=Location(file=self.path, line=self.line),
                           hint=hint)


# ------------------------------------------------------------------------------------------- lexing


@dataclass
class _Line:
    text: str
    line: int
    heredocs: list[tuple[str, str]] = field(default_factory=list)  # (name, content)


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    """Parser directives at the very top (``# escape=`` ...); returns them and the first other line."""
    found: dict[str, str] = {}
    for index, raw in enumerate(lines):
        match = _DIRECTIVE.match(raw.strip()) if raw.strip().startswith("#") else None
        if match is None or match.group(1).lower() in found:
            return found, index
        found[match.group(1).lower()] = match.group(2)
    return found, len(lines)


def _logical_lines(text: str, path: str) -> tuple[list[_Line], str]:
    """Join continuations, drop comments/blank lines, collect heredoc bodies. Returns (lines, escape)."""
    lines = text.removeprefix("\ufeff").splitlines()
    directives, start = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise _Where(path, 1).error(f"invalid escape token {escape!r}", "use # escape=\\ or # escape=`")
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    out: list[_Line] = []
    i = start
    while i < len(lines):
        raw = lines[i]
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        first, parts = i, [raw.lstrip()]
        while continuation.search(parts[-1]):
            parts[-1] = continuation.sub("", parts[-1])
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            if i >= len(lines):
                break
            parts.append(lines[i])
            i += 1
        logical = _Line("".join(parts), first)
        i = _read_heredocs(logical, lines, i, path)
        out.append(logical)
    return out, escape


def _read_heredocs(logical: _Line, lines: list[str], i: int, path: str) -> int:
    keyword = logical.text.split(None, 1)[0].upper() if logical.text.split() else ""
    if keyword not in ("RUN", "COPY", "ADD"):
        return i
    for match in _HEREDOC.finditer(logical.text):
        strip_tabs, name = match.group(1) == "-", match.group(3)
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise _Where(path, logical.line, keyword).error(
                    f"heredoc <<{name} is not terminated", f"end it with a line containing only {name}")
            line = lines[i]
            i += 1
            candidate = line.lstrip("\t") if strip_tabs else line
            if candidate == name:
                break
            body.append(candidate)
        logical.heredocs.append((name, "".join(b + "\n" for b in body)))
    return i


@dataclass(frozen=True)
class _Instruction:
    keyword: str
    flags: tuple[tuple[str, str | None], ...]
    args: str
    line: int
    heredocs: tuple[tuple[str, str], ...] = ()


def _instructions(lines: list[_Line], path: str) -> Iterator[_Instruction]:
    for logical in lines:
        keyword, rest = _split_first(logical.text.strip())
        yield _parse_instruction(keyword.upper(), rest, logical, path)


def _split_first(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else (text, "")


def _parse_instruction(keyword: str, rest: str, logical: _Line, path: str) -> _Instruction:
    where = _Where(path, logical.line, keyword)
    if keyword not in INSTRUCTIONS:
        import difflib

        close = difflib.get_close_matches(keyword, INSTRUCTIONS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"valid instructions: {', '.join(INSTRUCTIONS)}"
        raise _Where(path, logical.line).error(f"unknown instruction: {keyword}", hint)
    flags: list[tuple[str, str | None]] = []
    while rest.startswith("--"):
        word, rest = _split_first(rest)
        name, sep, value = word[2:].partition("=")
        allowed = _FLAGS.get(keyword, ())
        if name not in allowed:
            valid = ", ".join(f"--{a}" for a in allowed) or "none"
            raise where.error(f"unknown flag: --{name}", f"flags of {keyword}: {valid}")
        flags.append((name, value if sep else None))
    return _Instruction(keyword, tuple(flags), rest, logical.line, tuple(logical.heredocs))


def _json_array(text: str) -> list[str] | None:
    """Exec form: a JSON array of strings, else None (Docker then falls back to shell form)."""
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


# ------------------------------------------------------------------------------------------- words


class _Lexer:
    """BuildKit's shell-word processing: quote removal, escapes and ``$`` substitution."""

    MAX_NESTING = 32

    def __init__(self, env: Mapping[str, str], escape: str, where: _Where) -> None:
        self.env, self.escape, self.where = env, escape, where
        self.depth = 0

    def words(self, text: str) -> list[str]:
        """Split on unquoted whitespace, then process each word."""
        return [self.word(w) for w in split_raw_words(text, self.escape)]

    def word(self, text: str) -> str:
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch == "'":
                end = text.find("'", i + 1)
                if end < 0:
                    raise self.where.error(f"unterminated single quote in {text!r}")
                out.append(text[i + 1:end])
                i = end + 1
            elif ch == '"':
                i = self._double(text, i + 1, out)
            elif ch == "$":
                i = self._dollar(text, i + 1, out)
            elif ch == self.escape and i + 1 < n:
                out.append(text[i + 1])
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def _double(self, text: str, i: int, out: list[str]) -> int:
        while i < len(text):
            ch = text[i]
            if ch == '"':
                return i + 1
            if ch == "$":
                i = self._dollar(text, i + 1, out)
                continue
            if ch == self.escape and i + 1 < len(text) and text[i + 1] in ('"', "$", self.escape):
                out.append(text[i + 1])
                i += 2
                continue
            out.append(ch)
            i += 1
        raise self.where.error(f"unterminated double quote in {text!r}")

    def _dollar(self, text: str, i: int, out: list[str]) -> int:
        if i < len(text) and text[i] == "{":
            return self._braced(text, i + 1, out)
        match = _VAR_NAME.match(text, i)
        if match is None:
            out.append("$")
            return i
        out.append(self.env.get(match.group(0), ""))
        return match.end()

    def _braced(self, text: str, i: int, out: list[str]) -> int:
        match = _VAR_NAME.match(text, i)
        if match is None:
            raise self.where.error(f"bad substitution in {text!r}",
                                   "use ${NAME}, ${NAME:-default}, ${NAME:+alt}")
        name, i = match.group(0), match.end()
        end = _closing_brace(text, i)
        if end < 0:
            raise self.where.error(f"missing '}}' in {text!r}")
        self.depth += 1
        try:
            out.append(self._apply(name, self.env.get(name), text[i:end]))
        finally:
            self.depth -= 1
        return end + 1

    def _apply(self, name: str, value: str | None, op_text: str) -> str:
        if self.depth > self.MAX_NESTING:
            raise self.where.error(f"substitutions nested deeper than {self.MAX_NESTING} levels")
        if not op_text:
            return value or ""
        colon = op_text.startswith(":")
        op, word = (op_text[1:2], op_text[2:]) if colon else (op_text[:1], op_text[1:])
        unset = value is None or (colon and value == "")
        if op == "-":
            return self.word(word) if unset else value or ""
        if op == "+":
            return "" if unset else self.word(word)
        if op == "?":
            if unset:
                raise self.where.error(f"{name}: {self.word(word) or 'is not set'}")
            return value or ""
        raise self.where.error(f"unsupported substitution ${{{name}{op_text}}}",
                               "use ${NAME}, ${NAME:-default}, ${NAME:+alt} or ${NAME:?error}")


def _closing_brace(text: str, i: int) -> int:
    depth = 1
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def split_raw_words(text: str, escape: str = "\\") -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes (Docker's ``parseWords``)."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and i + 1 < len(text) and quote != "'":
            current.append(text[i:i + 2])
            i += 2
            continue
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch.isspace():
            if current:
                words.append("".join(current))
                current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    if current:
        words.append("".join(current))
    return words


def expand_word(text: str, env: Mapping[str, str], *, escape: str = "\\") -> str:
    """Substitute variables in one Dockerfile word (quotes removed), as BuildKit does."""
    return _Lexer(env, escape, _Where("<word>", 0)).word(text)


def expand_ports(ports: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate EXPOSE ports and expand ranges as Docker does (``8000-8001/udp`` → two entries)."""
    out: list[str] = []
    for port in ports:
        if not _PORT.match(port):
            raise ValueError(f"invalid port {port!r}")
        numbers, _, proto = port.partition("/")
        first, _, last = numbers.partition("-")
        low, high = int(first), int(last or first)
        if not 0 < low <= high <= 65535:
            raise ValueError(f"invalid port range {port!r}")
        suffix = f"/{proto.lower()}" if proto else ""
        out += [f"{n}{suffix}" for n in range(low, high + 1)]
    return tuple(out)


def parse_duration_text(text: str) -> float:
    """Go ``time.ParseDuration`` text → seconds (``ValueError`` when invalid)."""
    body = text.strip()
    if body == "0":
        return 0.0
    parts = _DURATION_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


# ------------------------------------------------------------------------------------------- stages

_ARCHES = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", ""), "arm64": ("arm64", ""),
           "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "i686": ("386", ""), "i386": ("386", "")}


def platform_args() -> dict[str, str]:
    """BuildKit's automatic platform ARGs (BUILDPLATFORM, TARGETARCH, ...) for this host."""
    import os

    machine = os.uname().machine
    arch, variant = _ARCHES.get(machine, (machine, ""))
    plat = f"linux/{arch}" + (f"/{variant}" if variant else "")
    out = {}
    for prefix in ("BUILD", "TARGET"):
        out.update({f"{prefix}PLATFORM": plat, f"{prefix}OS": "linux", f"{prefix}ARCH": arch,
                    f"{prefix}VARIANT": variant})
    return out



@dataclass
class _StageState:
    base: From
    name: str | None
    env: dict[str, str]  # ENV values (inherited from an earlier stage when based on it)
    args: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    shell: tuple[str, ...] = ("/bin/sh", "-c")

    def scope(self) -> dict[str, str]:
        return {**self.args, **self.env}


class _Builder:
    """Turns instructions into stages, applying Docker's ARG/ENV scoping."""

    def __init__(self, path: str, escape: str, build_args: Mapping[str, str],
                 base_env: Callable[[str], Mapping[str, str] | None]) -> None:
        self.path, self.escape, self.build_args, self.base_env = path, escape, build_args, base_env
        self.global_args: list[Arg] = []
        self.global_scope: dict[str, str] = platform_args()
        self.stages: list[Stage] = []
        self.stage_env: dict[str, dict[str, str]] = {}
        self.current: _StageState | None = None

    def lexer(self, where: _Where, scope: Mapping[str, str]) -> _Lexer:
        return _Lexer(scope, self.escape, where)

    def feed(self, ins: _Instruction) -> None:
        where = _Where(self.path, ins.line, ins.keyword)
        if ins.keyword == "FROM":
            self._from(ins, where)
            return
        if self.current is None:
            if ins.keyword != "ARG":
                raise where.error("instruction before the first FROM",
                                  "only ARG may come before FROM; start the build stage with FROM <image>")
            for arg in self._args(ins, where, self.global_scope):
                self.global_args.append(arg)
                value = self.build_args.get(arg.name, arg.default)
                if value is not None:
                    self.global_scope[arg.name] = value
            return
        if not ins.args and not ins.heredocs:
            raise where.error("requires at least one argument")
        handler = getattr(self, "_" + ins.keyword.lower())
        step = handler(ins, where, self.current)
        if step is not None:
            self.current.steps.append(step)

    def finish(self) -> None:
        if self.current is None:
            return
        state = self.current
        stage = Stage(base=state.base, steps=tuple(state.steps), name=state.name,
                      global_args=tuple(self.global_args))
        self.stages.append(stage)
        if state.name:
            self.stage_env[state.name] = dict(state.env)
        self.current = None

    # ---- instructions

    def _from(self, ins: _Instruction, where: _Where) -> None:
        self.finish()
        words = split_raw_words(ins.args, self.escape)
        lexer = self.lexer(where, self.global_scope)
        if len(words) == 3 and words[1].upper() == "AS":
            name = lexer.word(words[2]).lower()
            if not _STAGE_NAME.match(name):
                raise where.error(f"invalid stage name {name!r}",
                                  "stage names start with a letter and use a-z, 0-9, '-', '_', '.'")
            if any(s.name == name for s in self.stages):
                raise where.error(f"duplicate stage name {name!r}", "give every stage a different AS name")
        elif len(words) == 1:
            name = None
        else:
            raise where.error(f"expected FROM <image> [AS <name>], got {ins.args!r}")
        ref = lexer.word(words[0])
        if not ref:
            raise where.error(f"base image {words[0]!r} expands to nothing",
                              "declare the ARG before FROM with a default or pass it with --build-arg")
        stage_ref = ref.lower() if ref.lower() in self.stage_env else None
        platform = _flag(ins, "platform")
        base = From(ref=stage_ref or ref, platform=lexer.word(platform) if platform else None,
                    source=Source(self.path, ins.line))
        env = dict(self.stage_env[stage_ref]) if stage_ref else {"PATH": DEFAULT_PATH,
                                                                 **(self.base_env(ref) or {})}
        self.current = _StageState(base=base, name=name, env=env)

    def _args(self, ins: _Instruction, where: _Where, scope: Mapping[str, str]) -> list[Arg]:
        out = []
        lexer = self.lexer(where, scope)
        for word in split_raw_words(ins.args, self.escape):
            name, sep, default = word.partition("=")
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise where.error(f"invalid ARG name {name!r}", "ARG NAME or ARG NAME=default")
            out.append(Arg(name=name, default=lexer.word(default) if sep else None,
                           source=Source(self.path, ins.line)))
        return out

    def _arg(self, ins: _Instruction, where: _Where, state: _StageState) -> Step | None:
        args = self._args(ins, where, state.scope())
        for arg in args:
            value = self.build_args.get(arg.name, arg.default)
            if value is None:
                value = self.global_scope.get(arg.name)
            if value is not None:
                state.args[arg.name] = value
            arg = replace(arg, default=arg.default if arg.default is not None
                          else self.global_scope.get(arg.name))
            state.steps.append(arg)
        return None

    def _env(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        pairs = self._pairs(ins, where, state.scope(), legacy=True)
        state.env.update(pairs)
        return Env(values=tuple(pairs), source=Source(self.path, ins.line))

    def _label(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        return Label(values=tuple(self._pairs(ins, where, state.scope(), legacy=True)),
                     source=Source(self.path, ins.line))

    def _maintainer(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        return Label(values=(("maintainer", ins.args),), source=Source(self.path, ins.line))

    def _pairs(self, ins: _Instruction, where: _Where, scope: Mapping[str, str],
               legacy: bool) -> list[tuple[str, str]]:
        lexer = self.lexer(where, scope)
        words = split_raw_words(ins.args, self.escape)
        if legacy and "=" not in words[0]:
            name, value = _split_first(ins.args)
            if not value:
                raise where.error(f"{name} needs a value", f"{ins.keyword} {name}=value")
            return [(name, lexer.word(value.strip()))]
        pairs = []
        for word in words:
            name, sep, value = word.partition("=")
            if not sep or not name:
                raise where.error(f"expected NAME=value, got {word!r}",
                                  f"{ins.keyword} KEY=value [KEY2=value2 ...]")
            pairs.append((lexer.word(name), lexer.word(value)))
        return pairs

    def _workdir(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        path = self.lexer(where, state.scope()).word(ins.args)
        return Workdir(path=path, source=Source(self.path, ins.line))

    def _user(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        return User(user=self.lexer(where, state.scope()).word(ins.args), source=Source(self.path, ins.line))

    def _stopsignal(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        return StopSignal(signal=self.lexer(where, state.scope()).word(ins.args),
                          source=Source(self.path, ins.line))

    def _expose(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        try:
            ports = expand_ports(self.lexer(where, state.scope()).words(ins.args))
        except ValueError as exc:
            raise where.error(str(exc), "EXPOSE 80, 53/udp or 8000-8010/tcp") from None
        return Expose(ports=ports, source=Source(self.path, ins.line))

    def _volume(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        lexer = self.lexer(where, state.scope())
        array = _json_array(ins.args)
        paths = [lexer.word(p) for p in array] if array is not None else lexer.words(ins.args)
        if not paths or any(not p for p in paths):
            raise where.error("VOLUME needs non-empty paths")
        return Volume(paths=tuple(paths), source=Source(self.path, ins.line))

    def _shell(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        array = _json_array(ins.args)
        if not array:
            raise where.error("SHELL requires the arguments in JSON form", 'SHELL ["/bin/bash", "-c"]')
        state.shell = tuple(array)
        return Shell(command=tuple(array), source=Source(self.path, ins.line))

    def _cmd(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        command, shell_form = _command(ins.args)
        return Cmd(command=command, shell_form=shell_form, source=Source(self.path, ins.line))

    def _entrypoint(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        command, shell_form = _command(ins.args)
        return Entrypoint(command=command, shell_form=shell_form, source=Source(self.path, ins.line))

    def _run(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        lexer = self.lexer(where, state.scope())
        mounts = tuple(_cache_mount(lexer.word(v or ""), where) for n, v in ins.flags if n == "mount")
        network = lexer.word(_flag(ins, "network") or "default")
        if network not in ("default", "none", "host"):
            raise where.error(f"invalid --network={network}", "use --network=default, none or host")
        security = _flag(ins, "security")
        if security not in (None, "sandbox"):
            raise where.error(f"--security={security} is not supported", "stackfile runs RUN sandboxed")
        command, shell_form = _run_command(ins, where)
        return Run(command=command, shell_form=shell_form, cache_mounts=mounts,
                   network=network,  # type: ignore[arg-type]
                   source=Source(self.path, ins.line))

    def _copy(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        return self._copy_or_add(ins, where, state, add=False)

    def _add(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        return self._copy_or_add(ins, where, state, add=True)

    def _copy_or_add(self, ins: _Instruction, where: _Where, state: _StageState, add: bool) -> Step:
        if ins.heredocs:
            raise where.error("heredocs in COPY/ADD are not supported yet",
                              "write the file into the context and COPY it, or use RUN <<EOF")
        lexer = self.lexer(where, state.scope())
        array = _json_array(ins.args)
        words = [lexer.word(w) for w in array] if array is not None else lexer.words(ins.args)
        if len(words) < 2:
            raise where.error(f"{ins.keyword} needs at least one source and a destination",
                              f"{ins.keyword} <src>... <dest>")
        chmod = _flag(ins, "chmod")
        if chmod is not None and not re.match(r"^[0-7]{3,4}$", lexer.word(chmod)):
            raise where.error(f"invalid --chmod={chmod}", "use octal permissions, e.g. --chmod=755")
        if _flag(ins, "checksum") is not None and not all(w.startswith(("http://", "https://"))
                                                           for w in words[:-1]):
            raise where.error("--checksum works only with URL sources")
        from_ = lexer.word(_flag(ins, "from") or "") or None
        chown = _flag(ins, "chown")
        if from_ and from_.lower() in self.stage_env:
            from_ = from_.lower()
        elif from_ and from_.isdigit() and int(from_) >= len(self.stages):
            raise where.error(f"--from={from_} names a stage that does not exist yet",
                              "refer to an earlier stage by name or index")
        return Copy(
            sources=tuple(words[:-1]), dest=words[-1], from_=from_,
            chown=lexer.word(chown) if chown else None, chmod=lexer.word(chmod) if chmod else None,
            add=add, link=_flag_bool(ins, "link", where),
            exclude=tuple(lexer.word(v or "") for n, v in ins.flags if n == "exclude"),
            source=Source(self.path, ins.line),
        )

    def _healthcheck(self, ins: _Instruction, where: _Where, state: _StageState) -> Step:
        kind, rest = _split_first(ins.args)
        src = Source(self.path, ins.line)
        if kind.upper() == "NONE":
            if rest.strip() or ins.flags:
                raise where.error("HEALTHCHECK NONE takes no arguments or options")
            return Healthcheck(test=("NONE",), disable=True, source=src)
        if kind.upper() != "CMD" or not rest.strip():
            raise where.error(f"expected CMD or NONE, got {kind!r}", "HEALTHCHECK [OPTIONS] CMD <command>")
        command, shell_form = _command(rest.strip())
        test = ("CMD-SHELL", *command) if shell_form else ("CMD", *command)
        retries = _flag(ins, "retries")
        if retries is not None and not retries.isdigit():
            raise where.error(f"invalid --retries={retries}", "a whole number, e.g. --retries=3")
        if retries is not None and int(retries) < 1:
            raise where.error(f"--retries must be at least 1 (not {int(retries)})")
        return Healthcheck(
            test=test, interval=_interval_flag(ins, "interval", where),
            timeout=_interval_flag(ins, "timeout", where),
            start_period=_interval_flag(ins, "start-period", where),
            start_interval=_interval_flag(ins, "start-interval", where),
            retries=int(retries) if retries is not None else None, source=src,
        )

    def _onbuild(self, ins: _Instruction, where: _Where, state: _StageState) -> Step | None:
        inner = ins.args.split(None, 1)[0].upper() if ins.args.split() else ""
        if inner in ("ONBUILD", "FROM", "MAINTAINER"):
            raise where.error(f"{inner} is not allowed as an ONBUILD trigger")
        if inner not in INSTRUCTIONS:
            raise where.error(f"unknown ONBUILD instruction {inner!r}")
        return None  # triggers run when another build uses this image as a base; not recorded


def _flag(ins: _Instruction, name: str) -> str | None:
    value = None
    for flag, given in ins.flags:
        if flag == name:
            value = given if given is not None else ""
    return value


def _flag_bool(ins: _Instruction, name: str, where: _Where) -> bool:
    value = _flag(ins, name)
    if value is None:
        return False
    if value.lower() in ("", "true"):
        return True
    if value.lower() == "false":
        return False
    raise where.error(f"invalid --{name}={value}", f"--{name} or --{name}=false")


def _duration_flag(ins: _Instruction, name: str, where: _Where) -> float | None:
    value = _flag(ins, name)
    if value is None:
        return None
    try:
        return parse_duration_text(value)
    except ValueError:
        raise where.error(f"invalid --{name}={value}", "a Go duration such as 30s, 1m30s or 500ms") from None


def _interval_flag(ins: _Instruction, name: str, where: _Where) -> float | None:
    """A HEALTHCHECK duration; as Docker's builder, one under 1ms (0s included) is refused."""
    value = _duration_flag(ins, name, where)
    if value is not None and value < 0.001:
        raise where.error(f'Interval "{name}" cannot be less than 1ms',
                          "leave the option out for its default, or give at least 1ms")
    return value


def _command(text: str) -> tuple[tuple[str, ...], bool]:
    array = _json_array(text)
    return (tuple(array), False) if array is not None else ((text,), True)


def _run_command(ins: _Instruction, where: _Where) -> tuple[tuple[str, ...], bool]:
    if not ins.heredocs:
        return _command(ins.args)
    if _HEREDOC.fullmatch(ins.args.strip()) and len(ins.heredocs) == 1:
        return (ins.heredocs[0][1],), True  # RUN <<EOF: the body is the script
    # RUN cmd <<EOF ...: hand the shell the whole text, heredocs included
    text = ins.args + "\n" + "".join(f"{body}{name}\n" for name, body in ins.heredocs)
    return (re.sub(r"<<-", "<<", text).rstrip("\n"),), True


def _cache_mount(spec: str, where: _Where) -> CacheMount:
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        fields[key.strip().lower()] = value.strip() if sep else "true"
    kind = fields.pop("type", "bind")
    if kind != "cache":
        raise where.error(f"--mount=type={kind} is not supported",
                          "stackfile supports --mount=type=cache,target=<dir>[,id,sharing,mode,uid,gid]")
    target = fields.pop("target", None) or fields.pop("dst", None) or fields.pop("destination", None)
    if not target:
        raise where.error("--mount=type=cache needs target=<dir>")
    sharing = fields.pop("sharing", "shared")
    if sharing not in ("shared", "private", "locked"):
        raise where.error(f"invalid sharing={sharing}", "sharing=shared, private or locked")
    try:
        mode = int(fields.pop("mode"), 8) if "mode" in fields else None
        uid = int(fields.pop("uid")) if "uid" in fields else None
        gid = int(fields.pop("gid")) if "gid" in fields else None
    except ValueError as exc:
        raise where.error(f"invalid cache mount option: {exc}",
                          "mode is octal, uid/gid are numbers") from None
    cache_id = fields.pop("id", None)
    fields.pop("readonly", None)
    fields.pop("ro", None)
    unknown = sorted(k for k in fields if k not in ("from", "source", "src"))
    if unknown:
        raise where.error(f"unknown cache mount option {unknown[0]!r}",
                          "options: target, id, sharing, mode, uid, gid")
    return CacheMount(target=target, id=cache_id, sharing=sharing,  # type: ignore[arg-type]
                      mode=mode, uid=uid, gid=gid)


# ------------------------------------------------------------------------------------------- API


def parse_dockerfile(
    text: str,
    *,
    path: str,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    context: str | None = None,
    base_env: Callable[[str], Mapping[str, str] | None] | None = None,
) -> Recipe:
    """Parse a Dockerfile into a Recipe.

    ``build_args`` override ARG defaults; ``target`` names the stage to build (error listing the
    stages when unknown); ``base_env(ref)`` may return a base image's ENV for substitutions (else
    PATH is Docker's default). ``context`` is stored on the recipe as the build context.
    """
    lines, escape = _logical_lines(text, path)
    builder = _Builder(path, escape, dict(build_args or {}), base_env or (lambda _ref: None))
    for ins in _instructions(lines, path):
        builder.feed(ins)
    builder.finish()
    if not builder.stages:
        raise InvalidSpec("the Dockerfile has no FROM instruction", location=Location(file=path),
                          hint="start a build stage with FROM <image> (e.g. FROM busybox)")
    if target is not None and not any(s.name == target.lower() for s in builder.stages):
        names = ", ".join(sorted(s.name for s in builder.stages if s.name)) or "(no named stages)"
        raise InvalidSpec(f"target stage {target!r} not found", location=Location(file=path),
                          hint=f"stages are: {names}")
    return Recipe(stages=tuple(builder.stages), target=target.lower() if target else None, context=context,
                  args=tuple(sorted((build_args or {}).items())), source=Source(path, None))

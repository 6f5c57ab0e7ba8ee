"""The loader pipeline: discover → template → parse → interpolate → paths → include → merge →
environments → extends → profiles → validate (schema) → canonical → validate (references).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, Location, NotFound, StackfileError
from stackfile.spec import discover
from stackfile.spec.canonical import canonical
from stackfile.spec.context import Context
from stackfile.spec.interpolate import interpolate
from stackfile.spec.merge import merge_all, merge_mappings
from stackfile.spec.parse import Positions, parse_yaml
from stackfile.spec.paths import resolve_paths
from stackfile.spec.profiles import active_profiles, apply_profiles, disabled_services, enable_services
from stackfile.spec.project import Project
from stackfile.spec.tags import strip_tags

__all__ = ["LoadOptions", "load_project"]


@dataclass
class LoadOptions:
    """Everything the loader needs; the CLI fills it from flags and the environment it read."""

    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    environment_name: str | None = None
    template_vars: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None
    cwd: str | None = None
    services: list[str] = field(default_factory=list)  # named on the command line: enabled
    interpolate: bool = True


# How many files deep ``include`` and ``extends.file`` may go: each level costs a parse and a
# few dozen stack frames, and a chain this long is a mistake (or hostile input), not a project.
MAX_FILE_DEPTH = 32


class _Session:
    """One load: the environment, a cache of loaded files and the include chain."""

    def __init__(self, opts: LoadOptions, env: dict[str, str], workdir: str) -> None:
        self.opts = opts
        self.env = env
        self.ctx = Context(workdir, "", env, home=opts.environ.get("HOME", "/root"))
        self.cache: dict[str, dict[str, Any]] = {}
        self.loading: set[str] = set()
        self.warnings: list[str] = []
        self.positions: list[tuple[str, Positions]] = []
        self.other_positions: list[tuple[str, Positions]] = []  # included and extended files

    def unset(self, name: str) -> None:
        warning = f"the {name} variable is not set; defaulting to a blank string"
        if warning not in self.warnings:
            self.warnings.append(warning)

    def read(self, path: str) -> str:
        if path == "-":
            return self.opts.stdin or ""
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"file {path} not found", hint="check the path, relative to the file that names it"
            ) from None
        except OSError as exc:
            raise InvalidSpec(f"cannot read {path}: {exc.strerror or exc}", location=Location(path)) from None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, data, exc) from None

    def render(self, text: str, path: str, env: dict[str, str]) -> str:
        if not path.endswith(".j2"):
            return text
        from stackfile.spec.template import render_template, template_context

        context = template_context(env, self.opts.environment_name, self.opts.template_vars)
        return render_template(text, path=path, context=context)

    def load_doc(
        self, path: str, env: dict[str, str], base: str, chain: tuple[str, ...] = (), *, main: bool = False
    ) -> dict[str, Any]:
        """One file: parsed, interpolated, paths absolute, includes imported."""
        text = self.render(self.read(path), path, env)
        display = "<stdin>" if path == "-" else path
        data, positions = parse_yaml(text, display)
        (self.positions if main else self.other_positions).append((display, positions))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidSpec(
                "top-level object must be a mapping",
                location=Location(display, 1, 1),
                hint="a stack file starts with keys such as services:, networks:, volumes:",
            )
        from stackfile.spec.schema import validate_document

        if self.opts.interpolate:
            data = interpolate(data, env, file=display, positions=positions, on_unset=self.unset)
        if self.opts.interpolate:  # templates left in place cannot be type-checked
            validate_document(data, display, positions)
        if "version" in data:
            self.warnings.append(f"{display}: the attribute `version` is obsolete, it will be ignored")
        ctx = Context(base, "", env, home=self.ctx.home)
        data = resolve_paths(data, ctx, base, default_context=not main)
        if data.get("include"):
            data = self.apply_includes(data, env, base, ctx, (*chain, path))
        data.pop("include", None)
        # extends is resolved per file, before merging (as Compose does)
        return _extends(data, lambda p: self.load_services(p, env))

    def apply_includes(
        self, data: dict[str, Any], env: dict[str, str], base: str, ctx: Context, chain: tuple[str, ...]
    ) -> dict[str, Any]:
        from stackfile.spec.include import import_resources, include_specs

        for spec in include_specs(data, base, ctx.abspath):
            data = import_resources(data, self.load_included(spec, env, chain), spec.files[0])
        return data

    def load_included(self, spec: Any, env: dict[str, str], chain: tuple[str, ...]) -> dict[str, Any]:
        if len(chain) >= MAX_FILE_DEPTH:
            raise InvalidSpec(
                f"includes are nested deeper than {MAX_FILE_DEPTH} files: "
                + " -> ".join(chain[:3])
                + " -> ...",
                location=Location(chain[-1], key_path="include"),
                hint="include the files from fewer levels",
            )
        for f in spec.files:
            if f in chain:
                raise InvalidSpec(
                    "include cycle detected: " + " -> ".join([*chain, f]),
                    location=Location(chain[-1] if chain else f, key_path="include"),
                    hint="remove the include that points back to an including file",
                )
        sub_env = dict(env)
        env_files = spec.env_files
        if env_files is None:
            default = os.path.join(spec.project_directory, ".env")
            env_files = [default] if os.path.isfile(default) else []
        if env_files:
            sub_env.update(discover.load_environment(env_files, spec.project_directory, "/", {}))
        try:
            return merge_all([self.load_doc(f, sub_env, spec.project_directory, chain) for f in spec.files])
        except NotFound as exc:  # an included file that does not exist: say where it was included
            if exc.location is None and chain:
                exc.location = Location(chain[-1], key_path="include")
            raise

    def load_services(self, path: str, env: dict[str, str]) -> dict[str, Any]:
        """Services of a file named by ``extends.file`` (loaded once; a file cycle is an error)."""
        if path not in self.cache:
            if path in self.loading:
                raise InvalidSpec(
                    f"extends cycle through {path}",
                    location=Location(path, key_path="services"),
                    hint="files extending each other must not form a loop",
                )
            if len(self.loading) >= MAX_FILE_DEPTH:
                raise InvalidSpec(
                    f"extends goes through more than {MAX_FILE_DEPTH} files",
                    location=Location(path, key_path="services"),
                    hint="extend services from fewer levels of files",
                )
            self.loading.add(path)
            try:
                doc = self.load_doc(path, env, os.path.dirname(path))
            finally:
                self.loading.discard(path)
            self.cache[path] = doc.get("services") or {}
        return self.cache[path]


def _not_utf8(path: str, data: bytes, exc: UnicodeDecodeError) -> InvalidSpec:
    """A located error for bytes that are not UTF-8 (line and column of the first bad byte)."""
    start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    return InvalidSpec(
        f"{path} is not UTF-8 text: byte 0x{data[start]:02x} ({exc.reason})",
        location=Location(path, line, column),
        hint="save the file as UTF-8",
    )


def _extends(doc: dict[str, Any], load_services: Any) -> dict[str, Any]:
    services = doc.get("services")
    if not isinstance(services, dict) or not any(
        isinstance(s, dict) and "extends" in s for s in services.values()
    ):
        return doc
    from stackfile.spec.extends import resolve_extends

    return resolve_extends(doc, load_services)


def _project_name(opts: LoadOptions, env: dict[str, str], doc: dict[str, Any], workdir: str) -> str:
    if opts.project_name:
        return discover.valid_name(opts.project_name, "-p")
    if env.get("COMPOSE_PROJECT_NAME"):
        return discover.valid_name(env["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    if isinstance(doc.get("name"), str) and doc["name"]:
        return discover.valid_name(doc["name"], "the top-level name:")
    name = discover.normalize_name(os.path.basename(workdir.rstrip("/")))
    if not name:
        raise InvalidSpec(
            "project name must not be empty", hint="pass -p NAME or set name: in the stack file"
        )
    return name


def _apply_environment(doc: dict[str, Any], name: str | None) -> dict[str, Any]:
    if "environments" not in doc and not name:
        return doc
    from stackfile.spec.environments import extract, select

    rest, overlays = extract(doc)
    if not name:
        return rest
    overlay = select(overlays, name)
    from stackfile.spec.schema import validate_document

    validate_document(overlay, None, None, prefix=("environments", name))
    return merge_mappings(rest, overlay, ())


def _key_tuple(key_path: str) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for part in key_path.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        elif part:
            out.append(part)
    return tuple(out)


# Where the keys of the files this process loaded last are written: errors raised after loading
# (a build context that does not exist, a port taken) know only their key path; the CLI's error
# boundary gives them file:line:col from here (:func:`locate`).
_last_positions: list[tuple[str, Positions]] = []


def locate(exc: StackfileError) -> StackfileError:
    """``exc`` with the file:line:col of its key path in the project loaded last (if it has one)."""
    return _locate_in(exc, _last_positions)


def _locate_in(
    exc: StackfileError,
    positions_by_file: list[tuple[str, Positions]],
    included: list[tuple[str, Positions]] = [],  # noqa: B006 - read only
) -> StackfileError:
    """Give an error that only knows its key path the file:line:col where that key is written.

    A key path without a file is looked up in the main files (the last one that has it wins, as
    in the merge); one that names its file, in that file, which may be an included one.
    """
    loc = exc.location
    if loc is None or loc.line is not None or not loc.key_path:
        return exc
    path = _key_tuple(loc.key_path)
    searched = positions_by_file if loc.file is None else [*included, *positions_by_file]
    files = [(f, p) for f, p in reversed(searched) if loc.file in (None, f)]
    while path:
        for file, positions in files:
            if path in positions:
                line, col = positions[path]
                exc.location = Location(file, line, col, loc.key_path)
                return exc
        path = path[:-1]
    return exc


def load_project(opts: LoadOptions) -> Project:
    """Run the whole pipeline and return the :class:`Project` (raises ``StackfileError``)."""
    cwd = opts.cwd or os.getcwd()
    files = discover.find_files(opts.files, cwd) if opts.files or opts.stdin is None else ["-"]
    workdir = discover.project_dir(files, opts.project_directory, cwd)
    env = discover.load_environment(opts.env_files, workdir, cwd, opts.environ)
    session = _Session(opts, env, workdir)
    try:
        project = _run(opts, session, files, workdir, env)
    except StackfileError as exc:
        raise _locate_in(exc, session.positions, session.other_positions) from None
    except RecursionError:  # a backstop: each known deep input has its own limit and message
        raise InvalidSpec(
            "stack file is nested too deeply to load",
            location=Location(files[0]),
            hint="flatten the structure",
        ) from None
    _last_positions[:] = session.positions
    return project


def _run(
    opts: LoadOptions, session: _Session, files: list[str], workdir: str, env: dict[str, str]
) -> Project:
    docs = [session.load_doc(f, env, workdir, main=True) for f in files]
    if all(not d for d in docs):
        raise InvalidSpec(
            "empty stack file", location=Location(files[0], 1, 1), hint="add at least a services: section"
        )
    merged = merge_all(docs)
    merged = _apply_environment(merged, opts.environment_name)
    merged = _extends(merged, lambda p: session.load_services(p, env))  # extends added by an overlay
    merged = strip_tags(merged)
    profiles = enable_services(merged, active_profiles(opts.profiles, env), opts.services)
    defined = set(merged.get("services") or {}) if isinstance(merged.get("services"), dict) else set()
    disabled = disabled_services(merged, profiles)
    merged = apply_profiles(merged, profiles)
    name = _project_name(opts, env, merged, workdir)
    ctx = Context(workdir, name, env, home=session.ctx.home)
    config = canonical(merged, ctx, raw=not opts.interpolate)
    from stackfile.spec.validate import validate_project

    if opts.interpolate:
        validate_project(config, defined)
    project = Project(
        name=name,
        working_dir=workdir,
        files=files,
        environment=env,
        config=config,
        profiles=profiles,
        warnings=session.warnings,
        disabled_services=disabled,
    )
    if opts.interpolate:
        project.model  # noqa: B018 - typed now (~5 ms), so a bad value fails here, with its file and line
    return project

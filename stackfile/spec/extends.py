"""Resolve ``services.*.extends`` (same file or another file), recursively, with cycle detection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackfile.errors import InvalidSpec, Location, StackfileError
from stackfile.spec.merge import merge

__all__ = ["FileLoader", "resolve_extends"]

# path of a file → its services (interpolated, paths resolved, includes applied)
FileLoader = Callable[[str], dict[str, Any]]

# A chain of services extending each other longer than this is refused (it is resolved recursively).
MAX_CHAIN = 100


def _target(name: str, ext: Any, current_file: str | None) -> tuple[str | None, str]:
    if isinstance(ext, str):
        return current_file, ext
    if not isinstance(ext, dict) or not ext.get("service"):
        raise InvalidSpec(
            f"extends.{name}.service is required",
            location=Location(key_path=f"services.{name}.extends"),
            hint="write extends: {service: NAME} or extends: {file: FILE, service: NAME}",
        )
    return (ext.get("file") or current_file), str(ext["service"])


class _Resolver:
    def __init__(self, load_file: FileLoader) -> None:
        self.load_file = load_file
        self.done: dict[tuple[str | None, str], dict[str, Any]] = {}

    def services_of(self, file: str | None, local: dict[str, Any], at: Location) -> dict[str, Any]:
        if file is None:
            return local
        try:
            return self.load_file(file)
        except StackfileError as exc:  # a missing or unreadable file: say which extends named it
            if exc.location is None:
                exc.location = at
            raise

    def resolve(
        self, file: str | None, name: str, services: dict[str, Any], chain: tuple[tuple[str | None, str], ...]
    ) -> dict[str, Any]:
        key = (file, name)
        if key in self.done:
            return self.done[key]
        if key in chain:
            cycle = " -> ".join(n for _, n in (*chain, key))
            raise InvalidSpec(
                f"extends cycle: {cycle}",
                location=Location(file, key_path=f"services.{name}"),
                hint="a service cannot extend itself, directly or indirectly",
            )
        if name not in services:
            # the error is the referrer's: locate its extends, not the missing name
            where_file, where = chain[-1] if chain else (file, name)
            raise InvalidSpec(
                f"cannot extend service {name!r}: no such service" + (f" in {file}" if file else ""),
                location=Location(where_file, key_path=f"services.{where}.extends.service"),
                hint="valid services: " + ", ".join(sorted(services)),
            )
        if len(chain) >= MAX_CHAIN:
            raise InvalidSpec(
                f"extends chain is longer than {MAX_CHAIN} services: "
                + " -> ".join(n for _, n in chain[:3])
                + " -> ...",
                location=Location(chain[0][0], key_path=f"services.{chain[0][1]}.extends"),
                hint="extend from fewer levels of services",
            )
        service = services[name] or {}
        if not isinstance(service, dict) or "extends" not in service:
            self.done[key] = service
            return service
        base_file, base_name = _target(name, service["extends"], file)
        at = Location(file, key_path=f"services.{name}.extends")
        base_services = services if base_file == file else self.services_of(base_file, services, at)
        base = self.resolve(base_file, base_name, base_services, (*chain, key))
        own = {k: v for k, v in service.items() if k != "extends"}
        merged = merge({"services": {name: dict(base)}}, {"services": {name: own}})["services"][name]
        self.done[key] = merged
        return merged


def resolve_extends(doc: dict[str, Any], load_file: FileLoader) -> dict[str, Any]:
    """Return ``doc`` with every service's ``extends`` merged in and removed."""
    services = doc.get("services")
    if not isinstance(services, dict) or not any(
        isinstance(s, dict) and "extends" in s for s in services.values()
    ):
        return doc
    resolver = _Resolver(load_file)
    out = {name: resolver.resolve(None, name, services, ()) for name in services}
    return {**doc, "services": out}

"""The image config while a stage is built, and how metadata steps change it (no layer, no container)."""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from stackfile.spec import recipe as ir

__all__ = ["ImageConfig", "apply_metadata", "is_metadata"]

DEFAULT_SHELL = ("/bin/sh", "-c")
_NS = 1_000_000_000


class ImageConfig:
    """Mutable OCI ``config`` section plus build-only state (shell, ARG values in scope)."""

    __slots__ = ("args", "cmd_set", "doc")

    def __init__(self, doc: dict[str, Any] | None = None, args: dict[str, str] | None = None,
                 cmd_set: bool = False) -> None:
        self.doc: dict[str, Any] = doc if doc is not None else {}
        self.args: dict[str, str] = args if args is not None else {}
        self.cmd_set = cmd_set  # CMD given in this stage (then ENTRYPOINT keeps it)

    @classmethod
    def from_oci(cls, doc: Mapping[str, Any]) -> ImageConfig:
        return cls(copy.deepcopy(dict(doc)))

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.doc.get("Env") or ():
            key, _, value = item.partition("=")
            out[key] = value
        return out

    def set_env(self, key: str, value: str) -> None:
        env = self.env()
        env[key] = value
        self.doc["Env"] = [f"{k}={v}" for k, v in env.items()]

    def scope(self) -> dict[str, str]:
        """Variables for substitution: ARGs, overridden by ENV (Docker's rule)."""
        return {**self.args, **self.env()}

    @property
    def workdir(self) -> str:
        return str(self.doc.get("WorkingDir") or "/")

    @property
    def user(self) -> str:
        return str(self.doc.get("User") or "")

    @property
    def shell(self) -> tuple[str, ...]:
        return tuple(self.doc.get("Shell") or DEFAULT_SHELL)

    def oci(self) -> dict[str, Any]:
        """The OCI config section (empty keys dropped, build-only ``Shell`` kept like Docker does)."""
        return {k: v for k, v in self.doc.items() if v not in (None, [], {}, "")}


def is_metadata(step: object) -> bool:
    return type(step) in _APPLY


def apply_metadata(cfg: ImageConfig, step: object, build_args: Mapping[str, str]) -> None:
    """Change ``cfg`` as the metadata ``step`` says (substituting variables first)."""
    _APPLY[type(step)](cfg, step, build_args)


def _x(cfg: ImageConfig, text: str) -> str:
    """Words arrive substituted (the Dockerfile parser applies ARG/ENV scoping); kept verbatim."""
    return text


def _env(cfg: ImageConfig, step: ir.Env, _: Mapping[str, str]) -> None:
    for key, value in step.values:
        cfg.set_env(_x(cfg, key), _x(cfg, value))


def _arg(cfg: ImageConfig, step: ir.Arg, build_args: Mapping[str, str]) -> None:
    if step.name in build_args:
        cfg.args[step.name] = build_args[step.name]
    elif step.default is not None:
        cfg.args[step.name] = step.default
    else:
        cfg.args.setdefault(step.name, "")


def _workdir(cfg: ImageConfig, step: ir.Workdir, _: Mapping[str, str]) -> None:
    cfg.doc["WorkingDir"] = posixpath.normpath(posixpath.join(cfg.workdir, _x(cfg, step.path)))


def _user(cfg: ImageConfig, step: ir.User, _: Mapping[str, str]) -> None:
    cfg.doc["User"] = _x(cfg, step.user)


def _command(key: str) -> Callable[[ImageConfig, Any, Mapping[str, str]], None]:
    def apply(cfg: ImageConfig, step: ir.Cmd | ir.Entrypoint, _: Mapping[str, str]) -> None:
        argv = list(step.command)
        if step.shell_form:
            argv = [*cfg.shell, " ".join(step.command)]
        cfg.doc[key] = argv
        if key == "Entrypoint" and not cfg.cmd_set:
            cfg.doc.pop("Cmd", None)  # ENTRYPOINT resets an inherited CMD (Docker's rule)
        if key == "Cmd":
            cfg.cmd_set = True
    return apply


def _expose(cfg: ImageConfig, step: ir.Expose, _: Mapping[str, str]) -> None:
    ports = dict(cfg.doc.get("ExposedPorts") or {})
    for port in step.ports:
        text = _x(cfg, port)
        ports[text if "/" in text else f"{text}/tcp"] = {}
    cfg.doc["ExposedPorts"] = dict(sorted(ports.items()))


def _label(cfg: ImageConfig, step: ir.Label, _: Mapping[str, str]) -> None:
    labels = dict(cfg.doc.get("Labels") or {})
    for key, value in step.values:
        labels[_x(cfg, key)] = _x(cfg, value)
    cfg.doc["Labels"] = dict(sorted(labels.items()))


def _healthcheck(cfg: ImageConfig, step: ir.Healthcheck, _: Mapping[str, str]) -> None:
    if step.disable or step.test[:1] == ("NONE",):
        cfg.doc["Healthcheck"] = {"Test": ["NONE"]}
        return
    hc: dict[str, Any] = {"Test": list(step.test)}
    for key, value in (("Interval", step.interval), ("Timeout", step.timeout),
                       ("StartPeriod", step.start_period), ("StartInterval", step.start_interval)):
        if value is not None:
            hc[key] = int(value * _NS)
    if step.retries is not None:
        hc["Retries"] = step.retries
    cfg.doc["Healthcheck"] = hc


def _shell(cfg: ImageConfig, step: ir.Shell, _: Mapping[str, str]) -> None:
    cfg.doc["Shell"] = list(step.command)


def _stopsignal(cfg: ImageConfig, step: ir.StopSignal, _: Mapping[str, str]) -> None:
    cfg.doc["StopSignal"] = _x(cfg, step.signal)


def _volume(cfg: ImageConfig, step: ir.Volume, _: Mapping[str, str]) -> None:
    vols = dict(cfg.doc.get("Volumes") or {})
    for path in step.paths:
        vols[_x(cfg, path)] = {}
    cfg.doc["Volumes"] = dict(sorted(vols.items()))


_APPLY: dict[type, Callable[[ImageConfig, Any, Mapping[str, str]], None]] = {
    ir.Env: _env,
    ir.Arg: _arg,
    ir.Workdir: _workdir,
    ir.User: _user,
    ir.Cmd: _command("Cmd"),
    ir.Entrypoint: _command("Entrypoint"),
    ir.Expose: _expose,
    ir.Label: _label,
    ir.Healthcheck: _healthcheck,
    ir.Shell: _shell,
    ir.StopSignal: _stopsignal,
    ir.Volume: _volume,
}

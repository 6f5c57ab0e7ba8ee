"""Differential test: our Dockerfile IR, folded into an image config, equals what Docker builds.

Uses Docker's classic builder on the local ``busybox`` image (no registry, no RUN steps, ~1-2 s per
build) and compares Env, Labels, WorkingDir, User, ExposedPorts, Volumes, StopSignal, Cmd,
Entrypoint and Healthcheck. Runs where Docker and its busybox image are installed (the run's
summary counts it otherwise).
"""

from __future__ import annotations

import json
import posixpath
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from stackfile.spec.dockerfile import DEFAULT_PATH, parse_dockerfile
from stackfile.spec.recipe import (
    Cmd,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Label,
    Recipe,
    Shell,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)
from tests.support.ground_truth import docker_cli

pytestmark = pytest.mark.ground_truth("docker")  # deselected, and counted, without a Docker daemon
DOCKER = docker_cli() or "docker"


def _busybox_config() -> dict[str, Any]:
    out = subprocess.run([DOCKER, "image", "inspect", "busybox", "--format", "{{json .Config}}"],
                         check=True, capture_output=True, text=True)
    raw = json.loads(out.stdout)
    env = dict(e.split("=", 1) for e in raw.get("Env") or [])
    env.setdefault("PATH", DEFAULT_PATH)  # Docker adds it when the base image has none
    return {"Env": env, "Labels": raw.get("Labels") or {},
            "WorkingDir": raw.get("WorkingDir") or "", "User": raw.get("User") or "", "ExposedPorts": [],
            "Volumes": [], "StopSignal": None, "Cmd": raw.get("Cmd"), "Entrypoint": raw.get("Entrypoint"),
            "Healthcheck": None, "Shell": ["/bin/sh", "-c"]}


def _fold(recipe: Recipe, stage: Stage | None = None) -> dict[str, Any]:
    """The image config the steps of ``stage`` (and the stages it is based on) produce."""
    stage = stage or recipe.target_stage()
    parent = next((s for s in recipe.stages if s.name == stage.base.ref), None)
    cfg: dict[str, Any] = _fold(recipe, parent) if parent else _busybox_config()
    cfg = json.loads(json.dumps(cfg))
    for step in stage.steps:
        if isinstance(step, Env):
            cfg["Env"].update(step.values)
        elif isinstance(step, Label):
            cfg["Labels"].update(step.values)
        elif isinstance(step, Workdir):
            cfg["WorkingDir"] = posixpath.join(cfg["WorkingDir"] or "/", step.path)
        elif isinstance(step, User):
            cfg["User"] = step.user
        elif isinstance(step, Expose):
            cfg["ExposedPorts"] += [p if "/" in p else p + "/tcp" for p in step.ports]
        elif isinstance(step, Volume):
            cfg["Volumes"] += list(step.paths)
        elif isinstance(step, StopSignal):
            cfg["StopSignal"] = step.signal
        elif isinstance(step, Shell):
            cfg["Shell"] = list(step.command)
        elif isinstance(step, Cmd | Entrypoint):
            key = "Cmd" if isinstance(step, Cmd) else "Entrypoint"
            cfg[key] = [*cfg["Shell"], *step.command] if step.shell_form else list(step.command)
            if key == "Entrypoint":
                cfg["Cmd"] = None
        elif isinstance(step, Healthcheck):
            cfg["Healthcheck"] = {"Test": list(step.test), "Interval": step.interval, "Timeout": step.timeout,
                                  "Retries": step.retries}
    return cfg


def _docker_config(tmp_path: Path, text: str, build_args: dict[str, str],
                   target: str | None) -> dict[str, Any]:
    (tmp_path / "Dockerfile").write_text(text)
    tag = f"stackfile-h2-test-{uuid.uuid4().hex[:10]}"
    cmd = [DOCKER, "build", "-q", "-t", tag]
    for key, value in sorted(build_args.items()):
        cmd += ["--build-arg", f"{key}={value}"]
    if target:
        cmd += ["--target", target]
    try:
        subprocess.run([*cmd, str(tmp_path)], check=True, capture_output=True, timeout=120,
                       env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"})
        out = subprocess.run([DOCKER, "image", "inspect", tag, "--format", "{{json .Config}}"],
                             check=True, capture_output=True, text=True)
    finally:
        subprocess.run([DOCKER, "rmi", "-f", tag], capture_output=True, check=False)
    raw = json.loads(out.stdout)
    health = raw.get("Healthcheck")
    return {
        "Env": dict(e.split("=", 1) for e in raw.get("Env") or []), "Labels": raw.get("Labels") or {},
        "WorkingDir": raw.get("WorkingDir") or "", "User": raw.get("User") or "",
        "ExposedPorts": sorted(raw.get("ExposedPorts") or {}), "Volumes": sorted(raw.get("Volumes") or {}),
        "StopSignal": raw.get("StopSignal"), "Cmd": raw.get("Cmd"), "Entrypoint": raw.get("Entrypoint"),
        "Healthcheck": health and {"Test": health["Test"],
                                   "Interval": health.get("Interval", 0) / 1e9 or None,
                                   "Timeout": health.get("Timeout", 0) / 1e9 or None,
                                   "Retries": health.get("Retries") or None},
    }


CASES = {
    "substitution": ("""\
ARG BASE=busybox
FROM ${BASE}:latest AS one
ARG V=1.0
ENV A=1 B="two words" C=$A D=${UNSET:-dflt} E=${A:+alt} F='$A' G="\\$A" H=${A}x${B}
ENV PATH=/app/bin:$PATH
ENV LEGACY some "quoted" value
ENV A=2 I=$A
WORKDIR /app
WORKDIR sub/$V
LABEL version=$V "with space"="v w" empty=
USER 1000:${V}
EXPOSE 80 53/udp 8000-8001
VOLUME ["/data"]
VOLUME /logs /cache
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=1m30s --timeout=5s --retries=3 CMD wget -q http://x/ || exit 1
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/init"]
CMD serve --port 80
ENV EMPTY= A=a
ENV E3=${EMPTY:-x} E4=${EMPTY:+set} E5=${NOPE:+set} E6=${A:+set}
ENV X ${A:-a b} "and" 'more'
ENV Y=a\\ b Z="a \\"q\\" b" S='it'"'"'s' J=pre"$A"post
LABEL "k"="v" k2=v\\ 2 \\
      k3="multi \\
line"
ENV P=5353
EXPOSE ${P}/udp $P
WORKDIR /w/$A/${EMPTY}x
""", {"V": "2.0"}, None),
    "stages": ("""\
ARG TAG=latest
ARG GLOBAL=g
FROM busybox:$TAG AS base
ENV FROM_BASE=yes
LABEL g=$GLOBAL
ARG GLOBAL
LABEL g2=$GLOBAL
FROM base AS final
ENV X=${FROM_BASE}-x
ARG LATE=late-default
LABEL late=$LATE
ENTRYPOINT echo hi
FROM busybox AS unused
ENV NOPE=1
""", {"LATE": "given"}, "final"),
    "escape-directive": ("""\
# escape=`
FROM busybox
ENV A=1 `
    B=c:\\path\\$A
LABEL x="a`"b"
""", {}, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_image_config_matches_docker(tmp_path: Path, case: str) -> None:
    text, build_args, target = CASES[case]
    recipe = parse_dockerfile(text, path=str(tmp_path / "Dockerfile"), build_args=build_args, target=target)
    ours = _fold(recipe)
    ours.pop("Shell")
    ours["ExposedPorts"] = sorted(ours["ExposedPorts"])
    ours["Volumes"] = sorted(ours["Volumes"])
    theirs = _docker_config(tmp_path, text, build_args, target)
    assert ours == theirs

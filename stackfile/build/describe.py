"""One-line text of a recipe step, Dockerfile style (``RUN make``, ``COPY src /app``)."""

from __future__ import annotations

import json

from stackfile.spec import recipe as ir

__all__ = ["describe"]


def describe(step: object) -> str:
    if isinstance(step, ir.Run):
        mounts = "".join(f"--mount=type=cache,target={m.target} " for m in step.cache_mounts)
        body = " ".join(step.command) if step.shell_form else json.dumps(list(step.command))
        return f"RUN {mounts}{body}"
    if isinstance(step, ir.Copy):
        flags = "".join(f"--{k}={v} " for k, v in (("from", step.from_), ("chown", step.chown),
                                                   ("chmod", step.chmod)) if v)
        return f"{'ADD' if step.add else 'COPY'} {flags}{' '.join(step.sources)} {step.dest}"
    if isinstance(step, ir.Env | ir.Label):
        word = "ENV" if isinstance(step, ir.Env) else "LABEL"
        return f"{word} " + " ".join(f"{k}={v}" for k, v in step.values)
    if isinstance(step, ir.Arg):
        return f"ARG {step.name}" + (f"={step.default}" if step.default is not None else "")
    if isinstance(step, ir.Cmd | ir.Entrypoint | ir.Shell):
        word = type(step).__name__.upper()
        shell_form = getattr(step, "shell_form", False)
        return f"{word} " + (" ".join(step.command) if shell_form else json.dumps(list(step.command)))
    simple = {ir.Workdir: "path", ir.User: "user", ir.StopSignal: "signal"}
    for cls, attr in simple.items():
        if isinstance(step, cls):
            return f"{cls.__name__.upper()} {getattr(step, attr)}"
    if isinstance(step, ir.Expose | ir.Volume):
        items = step.ports if isinstance(step, ir.Expose) else step.paths
        return f"{type(step).__name__.upper()} {' '.join(items)}"
    if isinstance(step, ir.Healthcheck):
        return "HEALTHCHECK " + (" ".join(step.test) if not step.disable else "NONE")
    return type(step).__name__.upper()

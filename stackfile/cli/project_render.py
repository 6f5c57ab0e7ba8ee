"""Rendering of the Compose workflow's events and tables (colours only on a TTY; no click import,
so ``up -d`` can render without it)."""

from __future__ import annotations

import sys
from typing import Any

from stackfile.cli.term import echo, style

RESOURCE = {"network": "Network", "volume": "Volume", "image": "Image", "service": "Container",
            "container": "Container"}
DONE = {"CreateNetwork": "Created", "CreateVolume": "Created", "EnsureImage": "Ready", "BuildImage": "Built",
        "CreateContainer": "Created", "RecreateContainer": "Recreated", "StartContainer": "Started",
        "RestartContainer": "Restarted", "StopContainer": "Stopped", "RemoveContainer": "Removed",
        "WaitHealthy": "Healthy", "WaitCompleted": "Exited", "RemoveNetwork": "Removed",
        "RemoveVolume": "Removed", "RemoveImage": "Removed"}
COLOURS = ["cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow", "bright_green",
           "bright_magenta", "bright_blue"]


def _subject(action: Any) -> str:
    kind, _, rest = action.target.partition(":")
    if kind == "service" and action.name:
        return f"Container {action.name}"
    if kind == "service":
        return f"Service {rest}"
    return f"{RESOURCE.get(kind, kind)} {action.name or rest}"


class EventPrinter:
    """An EventSink printing Compose-like progress lines on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def __call__(self, event: Any) -> None:
        action = getattr(event, "action", None)
        if event.kind == "project.warning":
            echo(style("WARN ", fg="yellow") + event.message, err=True)
        elif event.kind == "project.waiting":
            echo(event.message, err=True)
        elif self.quiet:
            return
        elif action is not None and event.kind == "action.done":
            word = DONE.get(action.kind.value, "Done")
            echo(f" {style('✔', fg='green')} {_subject(action):<40} {word:<9} "
                       f"{event.elapsed:5.1f}s", err=True)
        elif action is not None and event.kind in ("action.failed", "action.warn"):
            # the message itself comes once, with its location and hint: as the command's error
            # (failed) or as a WARN line (a wait that is not required)
            word = "Error" if event.kind == "action.failed" else "Warning"
            echo(f" {style('✘', fg='red')} {_subject(action):<40} {word:<9} {event.elapsed:5.1f}s", err=True)
        elif event.kind.startswith("container.") and event.message:
            verb = event.kind.split(".", 1)[1]
            past = {"stop": "Stopped", "start": "Started", "restart": "Restarted", "kill": "Killed",
                    "pause": "Paused", "unpause": "Unpaused", "remove": "Removed",
                    "running": "Running"}.get(verb, verb)
            echo(f" {style('✔', fg='green')} Container {event.message:<30} {past}", err=True)
        elif event.kind.startswith("build."):  # the numbered steps with their times, as `build` prints
            from stackfile.cli.build_fast import event_line

            line = event_line(event.kind, lambda name, default: getattr(event, name, default), False)
            if line is not None:
                echo(line[0], err=True)


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    """A plain aligned table with upper-case headers (Docker's look)."""
    cells = [[str(r.get(key, "")) for key, _ in columns] for r in rows]
    widths = [max([len(title)] + [len(c[i]) for c in cells]) for i, (_, title) in enumerate(columns)]
    echo("   ".join(t.ljust(w) for (_, t), w in zip(columns, widths, strict=True)).rstrip())
    for c in cells:
        echo("   ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())


class LogPrinter:
    """Service-prefixed, coloured log lines (``web-1  | text``)."""

    def __init__(self, names: list[str], *, color: bool | None = None, prefix: bool = True,
                 timestamps: bool = False) -> None:
        self.color = sys.stdout.isatty() if color is None else color
        self.prefix = prefix
        self.timestamps = timestamps
        self.width = max([len(n) for n in names] + [1])
        self.colours = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(sorted(names))}

    def __call__(self, line: Any) -> None:
        name = getattr(line, "short_name", line.container)
        self.width = max(self.width, len(name))
        text = line.text.rstrip("\n")
        if self.timestamps:
            text = f"{line.time} {text}"
        if self.prefix:
            label = f"{name:<{self.width}} | "
            if self.color:
                colour = self.colours.setdefault(name, COLOURS[len(self.colours) % len(COLOURS)])
                label = style(label, fg=colour)
            text = label + text
        echo(text)


def _ago(stamp: str, now: float) -> str:
    from datetime import datetime

    from stackfile.engine.project_status import human_duration

    try:
        then = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return stamp
    return f"{human_duration(now - then)} ago"


def _command(text: str, width: int = 20) -> str:
    """Docker's COMMAND cell: cut to ``width`` with an ellipsis, then quoted as Go's strconv.Quote."""
    import json

    from stackfile.engine.project_status import ellipsis

    return json.dumps(ellipsis(text, width), ensure_ascii=False)


def ps_table(rows: list[dict[str, Any]]) -> None:
    """``ps``'s table: Docker's columns, quoted and shortened command, relative creation time."""
    import time

    now = time.time()
    shown = [{**r, "Command": _command(str(r["Command"])), "CreatedAt": _ago(str(r["CreatedAt"]), now)}
             for r in rows]
    table(shown, [("Name", "NAME"), ("Image", "IMAGE"), ("Command", "COMMAND"), ("Service", "SERVICE"),
                  ("CreatedAt", "CREATED"), ("Status", "STATUS"), ("Ports", "PORTS")])


PS_FIELDS = ("ID", "Name", "Names", "Image", "Command", "Project", "Service", "CreatedAt", "RunningFor",
             "State", "Status", "Health", "ExitCode", "Ports", "Publishers", "Labels")


def ps_template(fmt: str, rows: list[dict[str, Any]]) -> list[str]:
    """``ps --format`` with a Go template, over the JSON rows plus Docker's ``RunningFor``."""
    import time

    from stackfile.cli.gotemplate import render

    now = time.time()
    shown = [{**r, "RunningFor": _ago(str(r["CreatedAt"]), now)} for r in rows]
    return render(fmt, shown, sorted({*PS_FIELDS, *(k for r in rows for k in r)}))

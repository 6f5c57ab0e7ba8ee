"""engine/project_status.py and engine/render.py directly: Docker's ``ps`` status text and duration
rounding, and the ``config``/``graph`` renderings (dot, mermaid, levels, ``$`` escaping)."""

from __future__ import annotations

import json

import pytest

from stackfile.engine.project_status import _status_text, human_duration
from stackfile.engine.render import config_text, escape_dollars, graph_text
from stackfile.graph import Graph
from stackfile.runtime.api import ContainerState, ContainerStatus

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def status(state: str, **kw: object) -> ContainerStatus:
    fields = {"id": "c" * 64, "name": "p-web-1", "state": ContainerState(state), "pid": None,
              "exit_code": None, "oom_killed": False, "created_at": "2027-01-15T07:00:00Z",
              "started_at": None, "finished_at": None, "restart_count": 0, "labels": {}}
    fields.update(kw)
    return ContainerStatus(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "Less than a second"), (1, "1 second"), (59.9, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (7200, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (10 * 86400, "10 days"),
])
def test_human_duration_rounds_as_docker(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_status_text_per_state() -> None:
    up = "2027-01-15T07:56:59.500000000Z"  # 180.5 s before NOW, nanoseconds as the runtime writes
    assert _status_text(status("running", started_at=up), "", NOW) == "Up 3 minutes"
    assert _status_text(status("running", started_at=up), "healthy", NOW) == "Up 3 minutes (healthy)"
    assert _status_text(status("paused", started_at=up), "", NOW) == "Up 3 minutes (Paused)"
    assert _status_text(status("restarting", started_at=up, exit_code=1), "", NOW) == "Restarting (1)"
    assert _status_text(status("exited", exit_code=137, finished_at="2027-01-15T06:00:00Z"), "", NOW) == \
        "Exited (137) 2 hours ago"
    assert _status_text(status("created"), "", NOW) == "Created"
    assert _status_text(status("dead"), "", NOW) == "Dead"


def _graph() -> Graph[str]:
    g: Graph[str] = Graph()
    g.add_edge("service:web", "service:db")
    g.add_edge("service:web", "network:default")
    g.add_edge("service:db", "network:default")
    return g


def test_graph_renderings() -> None:
    assert graph_text(_graph(), "text").splitlines() == [
        "level 0:", "  network:default", "level 1:", "  service:db  <- network:default",
        "level 2:", "  service:web  <- network:default, service:db"]
    dot = graph_text(_graph(), "dot")
    assert dot.startswith("digraph stack {\n  rankdir=LR;\n") and dot.endswith("}\n")
    assert '  "service:web" -> "service:db";' in dot.splitlines()
    mermaid = graph_text(_graph(), "mermaid").splitlines()
    assert mermaid[0] == "flowchart LR" and "  service_web --> service_db" in mermaid
    assert '  network_default["network:default"]' in mermaid


def test_config_text_escapes_dollars_so_it_loads_back_unchanged() -> None:
    config = {"services": {"web": {"command": ["echo", "$HOME costs $$"], "labels": {"a": "$x"}}}}
    assert escape_dollars(config) == {"services": {"web": {"command": ["echo", "$$HOME costs $$$$"],
                                                           "labels": {"a": "$$x"}}}}
    assert json.loads(config_text(config, "json")) == escape_dollars(config)
    assert json.loads(config_text(config, "json", interpolated=False)) == config  # raw: as written
    assert "$$HOME costs $$$$" in config_text(config, "yaml")

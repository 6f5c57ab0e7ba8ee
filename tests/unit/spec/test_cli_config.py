"""The ``config`` and ``graph`` commands end to end (click runner, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from stackfile.cli.main import cli

STACK = """\
name: demo
images:
  app:
    from: busybox
    steps: [{run: echo hi}]
services:
  web:
    image: app
    depends_on: [db]
    ports: ["8080:80"]
    networks: [front]
    environment: {PRICE: "$$5", MODE: "${MODE:-dev}"}
  db:
    image: postgres
    volumes: ["data:/var/lib/postgresql/data"]
    profiles: [db]
networks: {front: {}}
volumes: {data: {}}
"""


def run(tmp_path: Path, *args: str, stdin: str | None = None):
    (tmp_path / "compose.yaml").write_text(STACK)
    return CliRunner().invoke(
        cli,
        [
            "--project-directory",
            str(tmp_path),
            "-f",
            str(tmp_path / "compose.yaml"),
            "--profile",
            "db",
            *args,
        ],
        input=stdin,
        catch_exceptions=False,
        env={"MODE": "prod"},
    )


def test_config_json_is_the_canonical_model(tmp_path: Path) -> None:
    result = run(tmp_path, "config", "--format", "json")
    assert result.exit_code == 0, result.output
    config = json.loads(result.output)
    assert config["name"] == "demo"
    assert config["services"]["web"]["environment"] == {"PRICE": "$$5", "MODE": "prod"}
    assert config["networks"] == {"default": {"name": "demo_default"}, "front": {"name": "demo_front"}}
    assert config["volumes"] == {"data": {"name": "demo_data"}}
    assert config["services"]["web"]["depends_on"] == {
        "db": {"condition": "service_started", "required": True}
    }


def test_config_yaml_round_trips_through_stdin(tmp_path: Path) -> None:
    first = run(tmp_path, "config")
    assert first.exit_code == 0, first.output
    assert "services:\n  db:\n" in first.output  # block style
    again = CliRunner().invoke(
        cli,
        ["--project-directory", str(tmp_path), "-f", "-", "--profile", "db", "config", "--format", "json"],
        input=first.output,
        catch_exceptions=False,
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == yaml.safe_load(first.output)


def test_listing_options(tmp_path: Path) -> None:
    assert run(tmp_path, "config", "--services").output.split() == ["db", "web"]
    assert run(tmp_path, "config", "--volumes").output.split() == ["data"]
    assert run(tmp_path, "config", "--profiles").output.split() == ["db"]
    assert run(tmp_path, "config", "-q").output == ""


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert run(tmp_path, "config", "--format", "json", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text())["name"] == "demo"


def test_graph_levels_and_formats(tmp_path: Path) -> None:
    text = run(tmp_path, "graph").output
    assert text.splitlines()[0] == "level 0:"
    levels = text.split("level ")
    assert "image:app" in levels[1] and "service:db" in levels[2] and "service:web" in levels[3]
    assert '"service:web" -> "service:db";' in run(tmp_path, "graph", "--format", "dot").output
    assert "service_web --> image_app" in run(tmp_path, "graph", "--format", "mermaid").output


def test_bad_file_exits_nonzero_with_one_located_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  web:\n    image: x\n    prots: ['80']\n")
    proc = subprocess.run(
        [sys.executable, "-m", "stackfile", "-f", str(bad), "config"],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 15
    assert "Traceback" not in proc.stderr
    assert f"{bad}:4:5 (services.web): services.web additional property 'prots' not allowed" in proc.stderr
    assert "did you mean 'ports'?" in proc.stderr


PROBE = ("import sys\nfrom stackfile.cli.project_fast import main\ntry:\n    main()\n"
         "finally:\n    sys.stderr.write('CLICK=%s' % ('click' in sys.modules))\n")
CLICK = "from stackfile.cli.main import main; main()"


Done = subprocess.CompletedProcess[str]


def _both(tmp_path: Path, text: str, *args: str, env: dict[str, str] | None = None,
          stdin: str | None = None) -> tuple[Done, Done]:
    (tmp_path / "compose.yaml").write_text(text)
    environ = {**os.environ, **(env or {})}
    fast, full = (subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                                 cwd=tmp_path, env=environ, input=stdin, timeout=60)
                  for code in (PROBE, CLICK))
    return fast, full


def test_plain_config_runs_without_click_and_prints_what_click_prints(tmp_path: Path) -> None:
    bad = "services:\n  web:\n    image: x\n    healthcheck:\n      retries: many\n"
    cases: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
        (STACK, ("--profile", "db"), ()), (STACK, ("--profile", "db"), ("--format", "json")),
        (STACK, ("-p", "other", "--profile", "db"), ("--format=yaml",)),
        (STACK, (), ()),  # an undefined service (db's profile is off): the same error and exit code
        (bad, (), ()), ("services: [\n", (), ("--format", "json"))]
    for text, globals_, args in cases:
        fast, full = _both(tmp_path, text, *globals_, "config", *args, env={"MODE": "prod"})
        assert fast.stderr.endswith("CLICK=False"), (args, fast.stderr)
        assert (fast.returncode, fast.stdout, fast.stderr[:-len("CLICK=False")]) == (
            full.returncode, full.stdout, full.stderr), (globals_, args)
    fast, full = _both(tmp_path, "", "-f", "-", "--profile", "db", "config", stdin=STACK)
    assert fast.stdout == full.stdout and "$$5" in fast.stdout and "web:" in fast.stdout

"""The errors a user meets first say it once, in the user's words, where it is in the file."""

from __future__ import annotations

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root


def test_a_missing_image_names_the_service_and_its_line_once(project: Project) -> None:
    project.write("services:\n  db:\n    image: busybox\n    command: [sleep, '100']\n"
                  "  web:\n    image: 127.0.0.1:9/nosuchimage:1.0\n    depends_on: [db]\n")
    proc = project.sf("up", "-d", check=False)
    assert proc.returncode == 17, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    # a registry on loopback that is not there: the pull is tried and fails at once, no network
    assert errors == [f"error: {project.workdir / 'stack.yaml'}:6:5 (services.web.image): service \"web\": "
                      "image '127.0.0.1:9/nosuchimage:1.0' is not in the store, and pulling it failed: "
                      "cannot reach registry 127.0.0.1:9: https: [Errno 111] Connection refused; http: "
                      "[Errno 111] Connection refused"]
    assert proc.stderr.count("nosuchimage") == 2  # the progress line names it, the error says why
    assert proc.stderr.count("hint:") == 1
    assert "image:nosuch" not in proc.stderr and "service:web" not in proc.stderr  # no internal ids


def test_run_with_a_missing_image_names_the_service_and_its_line(project: Project) -> None:
    project.write("services:\n  web:\n    image: 127.0.0.1:9/nosuchimage:1.0\n")
    proc = project.sf("run", "--rm", "web", "true", check=False)
    assert proc.returncode == 17
    where = f"error: {project.workdir / 'stack.yaml'}:3:5 (services.web.image): "
    assert proc.stderr.startswith(where + "service \"web\": image '127.0.0.1:9/nosuchimage:1.0' is not in "
                                  "the store"), proc.stderr
    assert proc.stderr.count("hint:") == 1

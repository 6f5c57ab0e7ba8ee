"""``export swarm``: a version-3 compose file with only what ``docker stack deploy`` uses."""

from __future__ import annotations

from pathlib import Path

from stackfile.engine.export import export_swarm
from stackfile.spec.loader import LoadOptions, load_project

GOLDEN = Path(__file__).resolve().parent / "golden"


def _export(images: dict[str, str] | None = None) -> tuple[dict, list[str]]:
    project = load_project(
        LoadOptions(files=[str(GOLDEN / "stack.yaml")], cwd=str(GOLDEN), environ={"HOME": "/tmp"})
    )
    result = export_swarm(project, images)
    (doc,) = result.documents
    return doc, result.warnings


def test_build_is_replaced_by_the_pushed_image_and_deploy_is_kept() -> None:
    pinned = "registry.test:5000/shop/web@sha256:" + "a" * 64
    doc, warnings = _export({"web": pinned, "cache": "busybox:1.36", "migrate": "busybox:1.36"})
    assert doc["version"] == "3.9"
    web = doc["services"]["web"]
    assert "build" not in web and web["image"] == pinned
    assert web["deploy"] == {
        "replicas": 2,
        "resources": {
            "limits": {"memory": "67108864", "cpus": "0.5"},
            "reservations": {"memory": "33554432"},
        },
    }
    assert web["ports"] == [{"mode": "ingress", "target": 8080, "published": 8080, "protocol": "tcp"}]
    assert web["secrets"] == [{"source": "api_key", "target": "/run/secrets/api_key", "mode": 0o400}]
    assert not any("pinned" in w for w in warnings)


def test_each_key_swarm_does_not_use_is_dropped_with_one_warning() -> None:
    doc, warnings = _export()
    web = doc["services"]["web"]
    assert "depends_on" not in web and "restart" not in doc["services"]["migrate"]
    assert "services.web.depends_on: not supported by Swarm; left out" in warnings
    assert "services.migrate.restart: not supported by Swarm; left out" in warnings
    assert any(
        w.startswith("services.web.image: registry.test:5000/shop/web:1.0 is not pinned") for w in warnings
    )
    assert len(warnings) == len(set(warnings))
    assert doc["secrets"]["api_key"]["file"] == str(GOLDEN / "api_key.txt")
    assert doc["volumes"] == {"cache-data": {"name": "shop_cache-data"}}
    assert doc["networks"]["back"] == {"name": "shop_back", "internal": True}


def test_dollar_signs_survive_the_second_interpolation_of_docker_stack_deploy(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "services:\n  a:\n    image: busybox\n    command: [sh, -c, 'echo $$HOSTNAME']\n"
        "    environment: {PRICE: '$$5'}\n"
    )
    project = load_project(LoadOptions(files=["stack.yaml"], cwd=str(tmp_path), environ={"HOME": "/tmp"}))
    assert project.config["services"]["a"]["command"][-1] == "echo $HOSTNAME"  # what the container must get
    (doc,) = export_swarm(project).documents
    assert doc["services"]["a"]["command"][-1] == "echo $$HOSTNAME"  # what Swarm turns back into it
    assert doc["services"]["a"]["environment"] == {"PRICE": "$$5"}

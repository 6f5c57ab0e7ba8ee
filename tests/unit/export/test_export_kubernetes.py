"""``export kubernetes``: manifests that Kubernetes' own schemas accept (kubernetes-validate --strict,
1.30 to 1.37) and that say what the stack file says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from stackfile.engine.export import export_kubernetes
from stackfile.export.kubernetes import KubeOptions
from stackfile.export.units import dns_label, k8s_cpu, k8s_memory, k8s_seconds
from stackfile.spec.dump import dump_yaml
from stackfile.spec.loader import LoadOptions, load_project

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GOLDEN = HERE / "golden"
VERSIONS = [f"1.{minor}.0" for minor in range(30, 38)]


def _export(
    stack: Path, opts: KubeOptions = KubeOptions(), env: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    project = load_project(
        LoadOptions(files=[str(stack)], cwd=str(stack.parent), environ={"HOME": "/tmp", **(env or {})})
    )
    result = export_kubernetes(project, opts)
    return result.documents, result.warnings


def _validate(docs: list[dict[str, Any]]) -> None:
    for version in VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError


def _by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_the_acceptance_stack_validates_and_says_what_the_file_says() -> None:
    docs, warnings = _export(GOLDEN / "stack.yaml")
    _validate(docs)
    objs = _by_kind(docs)
    web = objs[("Deployment", "web")]["spec"]
    assert web["replicas"] == 2
    pod = web["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.test:5000/shop/web:1.0"
    assert container["resources"] == {
        "limits": {"cpu": "500m", "memory": "64Mi"},
        "requests": {"memory": "32Mi"},
    }
    assert {"name": "GREETING", "value": "hello"} in container["env"]
    assert container["readinessProbe"] == {
        "exec": {"command": ["/bin/sh", "-c", "wget -q -O- http://localhost:8080/ || exit 1"]},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
        "initialDelaySeconds": 10,
    }
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert pod["shareProcessNamespace"] is True  # init: true
    assert objs[("Service", "web")]["spec"]["ports"] == [
        {"name": "tcp-8080", "port": 8080, "targetPort": 8080, "protocol": "TCP"}
    ]
    # the secret, mounted with its mode
    assert objs[("Secret", "secret-api-key")]["data"] == {"value": "czNjcmV0"}  # base64("s3cret")
    (secret_volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert secret_volume["secret"]["items"] == [{"key": "value", "path": "api_key", "mode": 0o400}]
    # the cache owns its named volume: a StatefulSet with a claim template, and a headless Service
    cache = objs[("StatefulSet", "cache")]["spec"]
    assert [t["metadata"]["name"] for t in cache["volumeClaimTemplates"]] == ["cache-data"]
    assert cache["serviceName"] == "cache" and objs[("Service", "cache")]["spec"]["clusterIP"] == "None"
    mounts = cache["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"mountPath": "/data", "name": "cache-data"} in mounts
    # depends_on: a wait for the cache's Service; the Job it cannot wait for is said once
    (wait,) = pod["initContainers"]
    assert "nslookup cache" in wait["command"][-1]
    assert any(w.startswith("services.web.depends_on.migrate:") for w in warnings)
    job = objs[("Job", "migrate")]["spec"]
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["template"]["metadata"]["annotations"] == {
        "com.example.description": "schema migration, runs once"
    }


def test_network_policies_let_pods_talk_only_over_a_shared_network() -> None:
    docs, _ = _export(GOLDEN / "stack.yaml")
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    deny = policies["default-deny-ingress"]
    assert deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    back = policies["network-back"]
    selector = back["podSelector"]["matchLabels"]
    assert back["ingress"] == [{"from": [{"podSelector": {"matchLabels": selector}}]}]
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    on_back = {name for name, labels in pods.items() if all(labels.get(k) == v for k, v in selector.items())}
    assert on_back == {"web", "cache", "migrate"}
    front = policies["network-front"]["podSelector"]["matchLabels"]
    assert {n for n, labels in pods.items() if all(labels.get(k) == v for k, v in front.items())} == {"web"}
    # the published port is open to all; the cache, only on the internal network, egresses only to it
    assert policies["web-published"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    egress = policies["cache-internal"]["egress"]
    assert egress[0] == {"to": [{"podSelector": {"matchLabels": selector}}]}


def test_golden_manifests() -> None:
    """The whole output, as text: a change to it is a decision, made by rewriting the golden file
    (``python -m stackfile -f tests/unit/export/golden/stack.yaml export kubernetes``)."""
    docs, warnings = _export(GOLDEN / "stack.yaml")
    text = "".join(f"---\n{dump_yaml(doc)}" for doc in docs)
    assert text == (GOLDEN / "kubernetes.yaml").read_text()
    assert warnings == (GOLDEN / "kubernetes.warnings").read_text().splitlines()


def _example_stacks() -> list[Path]:
    return sorted([*REPO.glob("examples/*/stack.yaml"), *REPO.glob("examples/*/stack.yaml.j2")])


@pytest.mark.parametrize("stack", _example_stacks(), ids=lambda p: p.parent.name)
def test_every_example_exports_valid_manifests(stack: Path) -> None:
    docs, _ = _export(stack, KubeOptions(namespace="demo", host_path=True))
    assert docs[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}
    assert all(d["metadata"].get("namespace") == "demo" for d in docs[1:])
    _validate(docs)


def _templates() -> list[str]:
    return sorted(
        p.name for p in (REPO / "stackfile" / "templates").iterdir() if (p / "template.json").is_file()
    )


@pytest.mark.parametrize("template", _templates())
def test_every_template_exports_valid_manifests(template: str, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "stackfile", "init", "--template", template, str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (stack,) = [p for p in tmp_path.iterdir() if p.name.startswith("stack.yaml")]
    docs, _ = _export(stack)
    assert any(d["kind"] in ("Deployment", "StatefulSet") for d in docs)
    _validate(docs)


def test_cli_writes_yaml_documents_and_warnings_to_stderr(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    out.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stackfile",
            "-f",
            str(GOLDEN / "stack.yaml"),
            "export",
            "kubernetes",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all((out / "shop.k8s.yaml").read_text()))
    assert docs == _export(GOLDEN / "stack.yaml")[0]
    assert "warning: services.web.depends_on.migrate:" in proc.stderr


@pytest.mark.parametrize(
    ("value", "quantity"),
    [
        ("64M", "64Mi"),
        ("67108864", "64Mi"),
        ("1.5g", "1536Mi"),
        ("1g", "1Gi"),
        (1000, "1000"),
        ("512k", "512Ki"),
    ],
)
def test_memory_is_converted_exactly(value: Any, quantity: str) -> None:
    assert k8s_memory(value) == quantity


@pytest.mark.parametrize(("value", "quantity"), [("0.5", "500m"), (2, "2"), ("1.25", "1250m"), (0.001, "1m")])
def test_cpus_become_millicores(value: Any, quantity: str) -> None:
    assert k8s_cpu(value) == quantity


@pytest.mark.parametrize("value", ["0.0005", "0", "-1", "many"])
def test_cpus_that_kubernetes_cannot_express_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        k8s_cpu(value)


def test_durations_and_names() -> None:
    assert (k8s_seconds("1m30s"), k8s_seconds("500ms"), k8s_seconds("0s", minimum=0)) == (90, 1, 0)
    assert (dns_label("my_service.v2"), dns_label("-Web-")) == ("my-service-v2", "web")


def test_kubernetes_variable_references_stay_literal(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "services:\n  a:\n    image: busybox\n    command: [sh, -c, 'echo $$(date) $$HOME']\n"
        "    environment: {X: '$$(Y)'}\n"
    )
    docs, _ = _export(tmp_path / "stack.yaml")
    (container,) = _by_kind(docs)[("Deployment", "a")]["spec"]["template"]["spec"]["containers"]
    assert container["args"][-1] == "echo $$(date) $HOME"  # Kubernetes expands $(NAME); $$ keeps it
    assert container["env"] == [{"name": "X", "value": "$$(Y)"}]

"""Kubernetes manifests from a stack's canonical config.

One workload per service: a Deployment; a Job for a one-shot service (``restart: "no"`` or
``on-failure``, or a dependency others wait to complete); a StatefulSet for a service that owns a
named volume (each replica gets its claim); a DaemonSet for ``deploy.mode: global``. Services for
its ports, a headless Service for one others reach by name (and for every StatefulSet), probes from
the healthcheck, exact resource units, Secrets and ConfigMaps, PersistentVolumeClaims, init
containers for ``depends_on``, and NetworkPolicies that let pods talk only when they share a
Compose network, as on one host. Anything else gets one warning line naming the key.
"""

from __future__ import annotations

import base64
import posixpath
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from stackfile.export import Export, untranslated_keys
from stackfile.export.units import dns_label, k8s_cpu, k8s_memory, k8s_seconds

__all__ = ["KubeOptions", "to_kubernetes"]

MANAGED_BY = "stackfile"
NAME = "app.kubernetes.io/name"
PART_OF = "app.kubernetes.io/part-of"
NETWORK_LABEL = "network.stackfile.io/"

# service keys translated below (or consumed by the loader already); any other key gets a warning
_HANDLED = frozenset(
    {
        "image",
        "build",
        "command",
        "entrypoint",
        "environment",
        "working_dir",
        "user",
        "ports",
        "expose",
        "volumes",
        "tmpfs",
        "networks",
        "depends_on",
        "healthcheck",
        "restart",
        "deploy",
        "scale",
        "cap_add",
        "cap_drop",
        "privileged",
        "read_only",
        "stop_grace_period",
        "labels",
        "secrets",
        "configs",
        "hostname",
        "mem_limit",
        "mem_reservation",
        "cpus",
        "tty",
        "stdin_open",
        "profiles",
        "network_mode",
        "links",
        "init",
    }
)
_DEPLOY_HANDLED = frozenset({"replicas", "resources", "labels", "restart_policy", "mode"})
# the order documents are written in: what others refer to first ("workload" groups every kind)
_ORDER = ("Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "workload", "NetworkPolicy")


class KubeOptions(NamedTuple):
    """How to write what Compose leaves open."""

    namespace: str | None = None  # set on every object, and a Namespace document first
    host_path: bool = False  # bind mounts become hostPath volumes (else they are left out)
    published_type: str = "ClusterIP"  # Service type for published ports: ClusterIP, NodePort, LoadBalancer
    volume_size: str = "1Gi"  # Compose volumes have no size; claims request this
    wait_image: str = "busybox:1.36"  # the init containers that wait for dependencies


def to_kubernetes(
    config: Mapping[str, Any],
    images: Mapping[str, str],
    secret_data: Mapping[str, bytes],
    config_data: Mapping[str, bytes],
    opts: KubeOptions = KubeOptions(),
) -> Export:
    """Manifests for every service of ``config`` (canonical, as ``stackfile config`` prints it).

    ``images`` names the image each service runs (the pushed reference); ``secret_data`` and
    ``config_data`` hold the content of each non-external secret and config, by name.
    """
    return _Writer(config, images, secret_data, config_data, opts).run()


class _Writer:
    def __init__(
        self,
        config: Mapping[str, Any],
        images: Mapping[str, str],
        secret_data: Mapping[str, bytes],
        config_data: Mapping[str, bytes],
        opts: KubeOptions,
    ) -> None:
        self.config = config
        self.project = str(config.get("name") or "stack")
        self.services: dict[str, dict[str, Any]] = dict(sorted((config.get("services") or {}).items()))
        self.images = images
        self.secret_data = secret_data
        self.config_data = config_data
        self.opts = opts
        self.warnings: list[str] = []
        self.docs: dict[str, list[dict[str, Any]]] = {group: [] for group in _ORDER}
        self.volume_users = _volume_users(self.services)
        self.reached = _reached_by_name(self.services)

    # -- helpers ---------------------------------------------------------------------------------

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{key}: {message}")

    def meta(
        self, name: str, labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name}
        if self.opts.namespace:
            out["namespace"] = self.opts.namespace
        out["labels"] = {
            PART_OF: dns_label(self.project),
            "app.kubernetes.io/managed-by": MANAGED_BY,
            **(labels or {}),
        }
        if annotations:
            out["annotations"] = dict(sorted(annotations.items()))
        return out

    def add(
        self,
        group: str,
        kind: str,
        api: str,
        name: str,
        spec: dict[str, Any],
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        body_key: str = "spec",
    ) -> None:
        doc = {
            "apiVersion": api,
            "kind": kind,
            "metadata": self.meta(name, labels, annotations),
            body_key: spec,
        }
        if body_key == "":
            doc = {"apiVersion": api, "kind": kind, "metadata": self.meta(name, labels, annotations), **spec}
        self.docs[group].append(doc)

    def selector(self, service: str) -> dict[str, str]:
        return {NAME: dns_label(service), PART_OF: dns_label(self.project)}

    # -- the whole stack -------------------------------------------------------------------------

    def run(self) -> Export:
        if self.opts.namespace:
            self.docs["Namespace"].append(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.opts.namespace}}
            )
        self.top_level_warnings()
        self.secrets_and_configs()
        self.shared_claims()
        for name, svc in self.services.items():
            self.service(name, svc)
        self.network_policies()
        return Export([doc for group in _ORDER for doc in self.docs[group]], self.warnings)

    def top_level_warnings(self) -> None:
        for key in untranslated_keys(self.config, also=("images",)):  # recipes become pushed images
            self.warn(key, "not translated to Kubernetes")
        for name, net in sorted((self.config.get("networks") or {}).items()):
            for key in sorted(net or {}):
                if key not in ("name", "internal", "external") and not key.startswith("x-"):
                    self.warn(f"networks.{name}.{key}", "not translated (pod networking is the cluster's)")
        for name, vol in sorted((self.config.get("volumes") or {}).items()):
            for key in sorted(vol or {}):
                if key not in ("name", "external") and not key.startswith("x-"):
                    self.warn(
                        f"volumes.{name}.{key}",
                        "not translated (claims use the cluster's default storage class)",
                    )

    # -- secrets, configs, claims ----------------------------------------------------------------

    def secrets_and_configs(self) -> None:
        for kind, data in (("secrets", self.secret_data), ("configs", self.config_data)):
            for name, decl in sorted((self.config.get(kind) or {}).items()):
                if (decl or {}).get("external"):
                    continue
                if name not in data:
                    self.warn(f"{kind}.{name}", "has no content to export; left out")
                    continue
                content = data[name]
                if kind == "secrets":
                    body = {"type": "Opaque", "data": {"value": base64.b64encode(content).decode()}}
                    self.add("Secret", "Secret", "v1", self.object_name(kind, name), body, body_key="")
                    continue
                try:
                    body = {"data": {"value": content.decode("utf-8")}}
                except UnicodeDecodeError:
                    body = {"binaryData": {"value": base64.b64encode(content).decode()}}
                self.add("ConfigMap", "ConfigMap", "v1", self.object_name(kind, name), body, body_key="")

    def object_name(self, kind: str, name: str) -> str:
        decl = (self.config.get(kind) or {}).get(name) or {}
        if decl.get("external"):
            return dns_label(str(decl.get("name") or name))
        return dns_label(f"{kind[:-1]}-{name}")

    def shared_claims(self) -> None:
        """A named volume used by more than one service is one claim every pod mounts (RWX)."""
        for volume, users in sorted(self.volume_users.items()):
            decl = (self.config.get("volumes") or {}).get(volume) or {}
            if decl.get("external") or len(users) < 2:
                continue
            self.warn(
                f"volumes.{volume}",
                f"shared by {', '.join(users)}: one ReadWriteMany claim, which "
                "needs a storage class that supports it",
            )
            self.add(
                "PersistentVolumeClaim",
                "PersistentVolumeClaim",
                "v1",
                dns_label(volume),
                self.claim_spec("ReadWriteMany"),
            )

    def claim_spec(self, mode: str) -> dict[str, Any]:
        return {"accessModes": [mode], "resources": {"requests": {"storage": self.opts.volume_size}}}

    # -- one service -----------------------------------------------------------------------------

    def service(self, name: str, svc: dict[str, Any]) -> None:
        key = f"services.{name}"
        label = dns_label(name)
        if label != name:
            self.warn(key, f"named {label!r} in Kubernetes (object names are RFC 1123 labels)")
        for k in sorted(svc):
            if k not in _HANDLED and not k.startswith("x-"):
                self.warn(f"{key}.{k}", "not translated to Kubernetes")
        deploy = svc.get("deploy") or {}
        for k in sorted(deploy):
            if k not in _DEPLOY_HANDLED:
                self.warn(f"{key}.deploy.{k}", "not translated to Kubernetes")
        kind = self.workload_kind(name, svc)
        pod, claims = self.pod(name, svc, kind)
        replicas = _replicas(svc)
        labels = {**self.selector(name), **self.network_labels(svc)}
        annotations = {**_strings(svc.get("labels")), **_strings(deploy.get("labels"))}
        template = {
            "metadata": {"labels": labels, **({"annotations": annotations} if annotations else {})},
            "spec": pod,
        }
        selector = {"matchLabels": self.selector(name)}
        self.ports_services(name, svc, kind)
        if kind == "Job":
            restart = _job_restart(svc)
            pod["restartPolicy"] = restart[0]
            spec: dict[str, Any] = {"backoffLimit": restart[1], "template": template}
            if replicas != 1:
                spec.update(parallelism=replicas, completions=replicas)
            self.add(
                "workload",
                "Job",
                "batch/v1",
                label,
                spec,
                labels=self.selector(name),
                annotations=annotations,
            )
        elif kind == "StatefulSet":
            spec = {
                "serviceName": self.headless_name(name, svc),
                "replicas": replicas,
                "selector": selector,
                "template": template,
                "volumeClaimTemplates": [
                    {"metadata": {"name": c}, "spec": self.claim_spec("ReadWriteOnce")} for c in claims
                ],
            }
            self.add(
                "workload",
                "StatefulSet",
                "apps/v1",
                label,
                spec,
                labels=self.selector(name),
                annotations=annotations,
            )
        elif kind == "DaemonSet":
            self.add(
                "workload",
                "DaemonSet",
                "apps/v1",
                label,
                {"selector": selector, "template": template},
                labels=self.selector(name),
                annotations=annotations,
            )
        else:
            spec = {"replicas": replicas, "selector": selector, "template": template}
            self.add(
                "workload",
                "Deployment",
                "apps/v1",
                label,
                spec,
                labels=self.selector(name),
                annotations=annotations,
            )

    def workload_kind(self, name: str, svc: dict[str, Any]) -> str:
        deploy = svc.get("deploy") or {}
        waited = any(
            (d or {}).get("condition") == "service_completed_successfully"
            for other in self.services.values()
            for dep, d in (other.get("depends_on") or {}).items()
            if dep == name
        )
        if waited or _one_shot(svc):
            return "Job"
        if deploy.get("mode") == "global":
            return "DaemonSet"
        if self.owned_volumes(name, svc):
            return "StatefulSet"
        return "Deployment"

    def owned_volumes(self, name: str, svc: dict[str, Any]) -> list[str]:
        declared = self.config.get("volumes") or {}
        return sorted(
            {
                m["source"]
                for m in svc.get("volumes") or []
                if m.get("type") == "volume"
                and m.get("source") in declared
                and not (declared[m["source"]] or {}).get("external")
                and self.volume_users.get(m["source"]) == [name]
            }
        )

    def network_labels(self, svc: dict[str, Any]) -> dict[str, str]:
        return {NETWORK_LABEL + dns_label(net): "true" for net in sorted(svc.get("networks") or {})}

    # -- the pod ---------------------------------------------------------------------------------

    def pod(self, name: str, svc: dict[str, Any], kind: str) -> tuple[dict[str, Any], list[str]]:
        key = f"services.{name}"
        container: dict[str, Any] = {"name": dns_label(name), "image": self.image(name, svc)}
        if svc.get("entrypoint") is not None:
            container["command"] = [_literal(a) for a in _argv(svc["entrypoint"])]
        if svc.get("command") is not None:
            container["args"] = [_literal(a) for a in _argv(svc["command"])]
        if svc.get("working_dir"):
            container["workingDir"] = svc["working_dir"]
        env = self.env(key, svc)
        if env:
            container["env"] = env
        ports = self.container_ports(svc)
        if ports:
            container["ports"] = ports
        probe = self.probe(key, svc.get("healthcheck"))
        if probe:
            container["readinessProbe"] = probe
        resources = self.resources(key, svc)
        if resources:
            container["resources"] = resources
        security = self.security(key, svc)
        if security:
            container["securityContext"] = security
        if svc.get("tty"):
            container["tty"] = True
        if svc.get("stdin_open"):
            container["stdin"] = True
        pod: dict[str, Any] = {}
        mounts, volumes, claims = self.mounts(name, svc, kind)
        if mounts:
            container["volumeMounts"] = mounts
        init = self.wait_containers(name, svc)
        if init:
            pod["initContainers"] = init
        pod["containers"] = [container]
        if volumes:
            pod["volumes"] = volumes
        if svc.get("stop_grace_period"):
            pod["terminationGracePeriodSeconds"] = k8s_seconds(svc["stop_grace_period"], minimum=0)
        if svc.get("init"):
            pod["shareProcessNamespace"] = True  # the pod's pause process is PID 1 and reaps, as init does
        if svc.get("hostname") and kind != "StatefulSet":
            pod["hostname"] = dns_label(str(svc["hostname"]).split(".")[0])
        mode = svc.get("network_mode")
        if mode == "host":
            pod["hostNetwork"] = True
            self.warn(f"{key}.network_mode", "host: the pod uses its node's network (hostNetwork)")
        elif mode:
            self.warn(
                f"{key}.network_mode",
                f"{mode}: not translated (each pod has its own network; run "
                "containers that share one as containers of one pod)",
            )
        return pod, claims

    def image(self, name: str, svc: dict[str, Any]) -> str:
        ref = self.images.get(name) or svc.get("image") or f"{self.project}-{name}"
        built = svc.get("build") is not None or svc.get("image") in (self.config.get("images") or {})
        if built and "/" not in ref.split("@")[0]:
            self.warn(
                f"services.{name}.image",
                f"{ref!r} is built locally and has no registry name a cluster "
                "can pull; set image: REGISTRY/NAME and run stackfile push",
            )
        return str(ref)

    def env(self, key: str, svc: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for var, value in sorted((svc.get("environment") or {}).items()):
            if value is None:
                self.warn(f"{key}.environment.{var}", "has no value here (unset when exported); left out")
                continue
            out.append({"name": var, "value": _literal(str(value))})
        return out

    def container_ports(self, svc: dict[str, Any]) -> list[dict[str, Any]]:
        seen: dict[tuple[int, str], None] = {}
        for port in _all_ports(svc):
            seen[(port[1], port[2])] = None
        return [{"containerPort": p, "protocol": proto} for p, proto in seen]

    def probe(self, key: str, check: Any) -> dict[str, Any] | None:
        if not check or check.get("disable"):
            return None
        test = check.get("test")
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        if not test or test[0] == "NONE":
            return None
        command = list(test[1:]) if test[0] == "CMD" else ["/bin/sh", "-c", " ".join(test[1:])]
        probe: dict[str, Any] = {
            "exec": {"command": command},
            "periodSeconds": k8s_seconds(check.get("interval") or "30s"),
            "timeoutSeconds": k8s_seconds(check.get("timeout") or "30s"),
            "failureThreshold": int(check.get("retries") or 3),
        }
        if check.get("start_period"):
            probe["initialDelaySeconds"] = k8s_seconds(check["start_period"], minimum=0)
        if check.get("start_interval"):
            self.warn(f"{key}.healthcheck.start_interval", "not translated (probes have one period)")
        return probe

    def resources(self, key: str, svc: dict[str, Any]) -> dict[str, Any]:
        res = (svc.get("deploy") or {}).get("resources") or {}
        limits = dict(res.get("limits") or {})
        requests = dict(res.get("reservations") or {})
        if svc.get("mem_limit") is not None:
            limits.setdefault("memory", svc["mem_limit"])
        if svc.get("cpus") is not None:
            limits.setdefault("cpus", svc["cpus"])
        if svc.get("mem_reservation") is not None:
            requests.setdefault("memory", svc["mem_reservation"])
        out: dict[str, Any] = {}
        for part, values, where in (("limits", limits, "limits"), ("requests", requests, "reservations")):
            got: dict[str, str] = {}
            for name, value in sorted(values.items()):
                if value is None:
                    continue
                if name == "memory":
                    got["memory"] = k8s_memory(value)
                elif name == "cpus":
                    try:
                        got["cpu"] = k8s_cpu(value)
                    except ValueError as exc:
                        self.warn(f"{key}.deploy.resources.{where}.cpus", f"{exc}; left out")
                else:
                    self.warn(f"{key}.deploy.resources.{where}.{name}", "not translated to Kubernetes")
            if got:
                out[part] = got
        return out

    def security(self, key: str, svc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        user = str(svc.get("user") or "")
        if user:
            uid, _, gid = user.partition(":")
            if uid.isdigit() and (not gid or gid.isdigit()):
                out["runAsUser"] = int(uid)
                if gid:
                    out["runAsGroup"] = int(gid)
            else:
                self.warn(f"{key}.user", f"{user!r}: Kubernetes takes numeric ids only; left out")
        caps: dict[str, Any] = {}
        if svc.get("cap_add"):
            caps["add"] = [c.removeprefix("CAP_") for c in svc["cap_add"]]
        if svc.get("cap_drop"):
            caps["drop"] = [c.removeprefix("CAP_") for c in svc["cap_drop"]]
        if caps:
            out["capabilities"] = caps
        if svc.get("privileged"):
            out["privileged"] = True
        if svc.get("read_only"):
            out["readOnlyRootFilesystem"] = True
        return out

    # -- volumes ---------------------------------------------------------------------------------

    def mounts(
        self, name: str, svc: dict[str, Any], kind: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        key = f"services.{name}"
        mounts: list[dict[str, Any]] = []
        volumes: dict[str, dict[str, Any]] = {}
        claims: list[str] = []
        declared = self.config.get("volumes") or {}
        owned = self.owned_volumes(name, svc) if kind == "StatefulSet" else []
        for i, mount in enumerate(svc.get("volumes") or []):
            where = f"{key}.volumes[{i}]"
            kind_ = mount.get("type")
            target = mount.get("target")
            entry: dict[str, Any] = {"mountPath": target}
            if mount.get("read_only"):
                entry["readOnly"] = True
            sub = (mount.get("volume") or {}).get("subpath")
            if sub:
                entry["subPath"] = sub
            if kind_ == "volume" and mount.get("source") in declared:
                source = mount["source"]
                vol_name = dns_label(source)
                entry["name"] = vol_name
                if source in owned:
                    if vol_name not in claims:
                        claims.append(vol_name)
                else:
                    decl = declared[source] or {}
                    claim = dns_label(str(decl.get("name") or source)) if decl.get("external") else vol_name
                    if not decl.get("external") and len(self.volume_users.get(source, [])) < 2:
                        self.add(
                            "PersistentVolumeClaim",
                            "PersistentVolumeClaim",
                            "v1",
                            vol_name,
                            self.claim_spec("ReadWriteOnce"),
                        )
                    volumes[vol_name] = {"name": vol_name, "persistentVolumeClaim": {"claimName": claim}}
            elif kind_ == "volume":  # anonymous
                vol_name = f"anon-{i}"
                entry["name"] = vol_name
                volumes[vol_name] = {"name": vol_name, "emptyDir": {}}
                self.warn(where, f"anonymous volume at {target}: an emptyDir, which ends with the pod")
            elif kind_ == "tmpfs":
                vol_name = f"tmpfs-{i}"
                entry["name"] = vol_name
                volumes[vol_name] = {
                    "name": vol_name,
                    "emptyDir": _memory_dir((mount.get("tmpfs") or {}).get("size")),
                }
            elif kind_ == "bind":
                source = str(mount.get("source"))
                if not self.opts.host_path:
                    self.warn(
                        where,
                        f"bind mount of {source} has no Kubernetes equivalent; left out (--host-path "
                        "mounts it from whichever node runs the pod)",
                    )
                    continue
                self.warn(
                    where,
                    f"bind mount of {source} becomes a hostPath: the file must exist on every "
                    "node that may run the pod",
                )
                vol_name = f"host-{i}"
                entry["name"] = vol_name
                volumes[vol_name] = {"name": vol_name, "hostPath": {"path": source}}
            else:
                self.warn(where, f"{kind_} mount not translated to Kubernetes")
                continue
            mounts.append(entry)
        for i, spec in enumerate(svc.get("tmpfs") or []):
            path, _, options = str(spec).partition(":")
            size = next((o[5:] for o in options.split(",") if o.startswith("size=")), None)
            vol_name = f"tmpfs-x{i}"
            mounts.append({"name": vol_name, "mountPath": path})
            volumes[vol_name] = {"name": vol_name, "emptyDir": _memory_dir(size)}
        for kind2, kind_key in (("secrets", "secret"), ("configs", "configMap")):
            for j, ref in enumerate(svc.get(kind2) or []):
                source = ref["source"]
                default = f"/run/secrets/{source}" if kind2 == "secrets" else f"/{source}"
                target = ref.get("target") or default
                if kind2 == "secrets" and not target.startswith("/"):
                    target = f"/run/secrets/{target}"
                vol_name = dns_label(f"{kind2[:-1]}-{j}-{source}")
                item: dict[str, Any] = {"key": "value", "path": posixpath.basename(target)}
                if ref.get("mode") is not None:
                    item["mode"] = _mode(ref["mode"])
                for owner in ("uid", "gid"):
                    if ref.get(owner) is not None:
                        self.warn(
                            f"{key}.{kind2}[{j}].{owner}",
                            "not translated (files of a pod volume belong to the pod's fsGroup)",
                        )
                ref_key = "secretName" if kind2 == "secrets" else "name"
                volumes[vol_name] = {
                    "name": vol_name,
                    kind_key: {ref_key: self.object_name(kind2, source), "items": [item]},
                }
                mounts.append(
                    {
                        "name": vol_name,
                        "mountPath": target,
                        "subPath": posixpath.basename(target),
                        "readOnly": True,
                    }
                )
        return mounts, list(volumes.values()), claims

    # -- dependencies ----------------------------------------------------------------------------

    def wait_containers(self, name: str, svc: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for dep, cond in sorted((svc.get("depends_on") or {}).items()):
            condition = (cond or {}).get("condition", "service_started")
            if dep not in self.services:
                continue
            if (
                condition == "service_completed_successfully"
                or self.workload_kind(dep, self.services[dep]) == "Job"
            ):
                self.warn(
                    f"services.{name}.depends_on.{dep}",
                    "waiting for a Job to complete needs the cluster's API; the pod starts without waiting",
                )
                continue
            host = self.headless_name(dep, self.services[dep])
            # a headless Service resolves only to ready pods: ready = healthy when there is a probe
            script = f"until nslookup {host} >/dev/null 2>&1; do echo waiting for {dep}; sleep 2; done"
            out.append(
                {
                    "name": dns_label(f"wait-for-{dep}"),
                    "image": self.opts.wait_image,
                    "command": ["sh", "-c", script],
                }
            )
        return out

    # -- Services --------------------------------------------------------------------------------

    def headless_name(self, name: str, svc: dict[str, Any]) -> str:
        """The headless Service of a service: its own name when it has no ports, else ``-headless``."""
        return dns_label(name) if not _all_ports(svc) else dns_label(f"{name}-headless")

    def ports_services(self, name: str, svc: dict[str, Any], kind: str) -> None:
        ports = _all_ports(svc)
        if kind == "Job" and not ports:
            return
        label = dns_label(name)
        if ports:
            published = any(p[3] for p in ports)
            spec_ports = []
            seen = set()
            for port, target, proto, _ in ports:
                if (port, proto) in seen:
                    continue
                seen.add((port, proto))
                spec_ports.append(
                    {"name": f"{proto.lower()}-{port}", "port": port, "targetPort": target, "protocol": proto}
                )
            spec: dict[str, Any] = {"selector": self.selector(name), "ports": spec_ports}
            if published and self.opts.published_type != "ClusterIP":
                spec["type"] = self.opts.published_type
            self.add("Service", "Service", "v1", label, spec, labels=self.selector(name))
        needs_headless = kind == "StatefulSet" or any(
            dep == name for other in self.services.values() for dep in (other.get("depends_on") or {})
        )
        if not ports and (needs_headless or name in self.reached):
            needs_headless = True
        if needs_headless:
            spec = {"clusterIP": "None", "selector": self.selector(name)}
            if kind == "StatefulSet" and ports:
                spec["publishNotReadyAddresses"] = False
            self.add(
                "Service", "Service", "v1", self.headless_name(name, svc), spec, labels=self.selector(name)
            )
        for net, attach in sorted((svc.get("networks") or {}).items()):
            for alias in sorted((attach or {}).get("aliases") or []):
                alias_name = dns_label(alias)
                if alias_name in {dns_label(s) for s in self.services}:
                    self.warn(
                        f"services.{name}.networks.{net}.aliases", f"{alias!r} is also a service; left out"
                    )
                    continue
                spec = {"selector": self.selector(name), "clusterIP": "None"}
                self.add("Service", "Service", "v1", alias_name, spec, labels=self.selector(name))

    # -- NetworkPolicies -------------------------------------------------------------------------

    def network_policies(self) -> None:
        """Ingress only from pods sharing a Compose network, as on one host; published ports from
        anywhere; egress of services on internal networks only to those networks (and DNS)."""
        used = sorted({n for s in self.services.values() for n in (s.get("networks") or {})})
        if not used:
            return
        project = {PART_OF: dns_label(self.project)}
        self.add(
            "NetworkPolicy",
            "NetworkPolicy",
            "networking.k8s.io/v1",
            "default-deny-ingress",
            {"podSelector": {"matchLabels": project}, "policyTypes": ["Ingress"]},
        )
        for net in used:
            sel = {"matchLabels": {**project, NETWORK_LABEL + dns_label(net): "true"}}
            self.add(
                "NetworkPolicy",
                "NetworkPolicy",
                "networking.k8s.io/v1",
                dns_label(f"network-{net}"),
                {
                    "podSelector": sel,
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": sel}]}],
                },
            )
        declared = self.config.get("networks") or {}
        for name, svc in self.services.items():
            published = sorted({(p[1], p[2]) for p in _all_ports(svc) if p[3]})
            if published:
                self.add(
                    "NetworkPolicy",
                    "NetworkPolicy",
                    "networking.k8s.io/v1",
                    dns_label(f"{name}-published"),
                    {
                        "podSelector": {"matchLabels": self.selector(name)},
                        "policyTypes": ["Ingress"],
                        "ingress": [{"ports": [{"port": t, "protocol": p} for t, p in published]}],
                    },
                )
            nets = sorted(svc.get("networks") or {})
            if nets and all((declared.get(n) or {}).get("internal") for n in nets):
                to = [
                    {"podSelector": {"matchLabels": {**project, NETWORK_LABEL + dns_label(n): "true"}}}
                    for n in nets
                ]
                dns = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
                self.add(
                    "NetworkPolicy",
                    "NetworkPolicy",
                    "networking.k8s.io/v1",
                    dns_label(f"{name}-internal"),
                    {
                        "podSelector": {"matchLabels": self.selector(name)},
                        "policyTypes": ["Egress"],
                        "egress": [{"to": to}, dns],
                    },
                )


# -- pure helpers ---------------------------------------------------------------------------------


def _strings(values: Any) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (values or {}).items()}


def _argv(value: Any) -> list[str]:
    return ["/bin/sh", "-c", value] if isinstance(value, str) else [str(v) for v in value]


def _literal(text: str) -> str:
    """``text`` as Kubernetes passes it on: it expands ``$(VAR)`` in commands, arguments and env
    values, and ``$$`` escapes it; the loader has already substituted what the stack file asked for."""
    return text.replace("$(", "$$(")


def _replicas(svc: dict[str, Any]) -> int:
    deploy = svc.get("deploy") or {}
    if deploy.get("replicas") is not None:
        return int(deploy["replicas"])
    return int(svc["scale"]) if svc.get("scale") is not None else 1


def _one_shot(svc: dict[str, Any]) -> bool:
    restart = str(svc.get("restart") or "")
    condition = ((svc.get("deploy") or {}).get("restart_policy") or {}).get("condition")
    return restart == "no" or restart.startswith("on-failure") or condition in ("none", "on-failure")


def _job_restart(svc: dict[str, Any]) -> tuple[str, int]:
    """(restartPolicy, backoffLimit) of a one-shot service."""
    restart = str(svc.get("restart") or "")
    policy = (svc.get("deploy") or {}).get("restart_policy") or {}
    if restart.startswith("on-failure") or policy.get("condition") == "on-failure":
        tries = restart.partition(":")[2] or policy.get("max_attempts") or 6
        return "OnFailure", int(tries)
    return "Never", 0


_RANGE: Any = re.compile(r"^(\d+)(?:-(\d+))?(?:/(\w+))?$")


def _all_ports(svc: dict[str, Any]) -> list[tuple[int, int, str, bool]]:
    """(service port, container port, protocol, published) of every ``ports`` and ``expose`` entry."""
    out = []
    for port in svc.get("ports") or []:
        target = int(port["target"])
        published = str(port.get("published") or "")
        number = int(published) if published.isdigit() else target
        out.append((number, target, str(port.get("protocol") or "tcp").upper(), bool(published)))
    for item in svc.get("expose") or []:
        m = _RANGE.match(str(item))
        if not m:
            continue
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        for p in range(low, min(high, low + 99) + 1):
            out.append((p, p, (m.group(3) or "tcp").upper(), False))
    return out


def _memory_dir(size: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"medium": "Memory"}
    if size not in (None, "", 0, "0"):
        out["sizeLimit"] = k8s_memory(size)
    return out


def _mode(value: Any) -> int:
    return int(value, 8) if isinstance(value, str) else int(value)


def _volume_users(services: Mapping[str, dict[str, Any]]) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for name, svc in services.items():
        for mount in svc.get("volumes") or []:
            if mount.get("type") == "volume" and mount.get("source"):
                lst = users.setdefault(mount["source"], [])
                if name not in lst:
                    lst.append(name)
    return users


def _reached_by_name(services: Mapping[str, dict[str, Any]]) -> set[str]:
    """Services another one names: in ``depends_on``, ``links``, or as a word of its environment or
    command (``DB_HOST=db``, ``wget http://api:8080``), so their DNS name must keep working."""
    out: set[str] = set()
    for name, svc in services.items():
        words = set()
        for value in list((svc.get("environment") or {}).values()) + list(_argv(svc.get("command") or [])):
            words.update(re.findall(r"[A-Za-z0-9_.-]+", str(value or "")))
        for other in services:
            if other == name:
                continue
            if (
                other in (svc.get("depends_on") or {})
                or other in words
                or any(str(link).split(":")[0] == other for link in svc.get("links") or [])
            ):
                out.add(other)
    return out

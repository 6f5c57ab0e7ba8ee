"""``stackfile export kubernetes|swarm``: the stack for an engine that spans machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def _load(obj: Any) -> Any:
    from stackfile.engine.config import load

    return load(obj)


def _write(text: str, output: str | None, name: str) -> None:
    if not output:
        click.echo(text, nl=False)
        return
    path = Path(output)
    if path.is_dir():
        path = path / name
    path.write_text(text)
    click.echo(f"wrote {path}", err=True)


def _warn(project: Any, warnings: list[str]) -> None:
    for line in [*project.warnings, *warnings]:
        click.echo(f"warning: {line}", err=True)


def _images(obj: Any, project: Any, pin: bool) -> dict[str, str] | None:
    if not pin:
        return None
    from stackfile.engine.export import pinned_images

    images, warnings = pinned_images(project, obj.root)
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    return images



class _ExportGroup(click.Group):
    """``export kubernetes|swarm``, or Compose's ``export SERVICE -o FILE`` for any other name."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            return args[0], _service_export(args[0]), args[1:]
        return super().resolve_command(ctx, args)


def _service_export(service: str) -> click.Command:
    @click.command(name=service)
    @click.option("-o", "--output", metavar="FILE", help="Write to a file instead of standard output.")
    @click.option("--index", type=int, default=1, help="Index of the container if the service has several.")
    @click.pass_obj
    def run(opts: Any, output: str | None, index: int) -> None:
        from stackfile.cli.fs_cmd import export_service

        export_service(opts, service, output, index)

    return run


@click.group(cls=_ExportGroup)
def export() -> None:
    """Write the stack for Kubernetes or Docker Swarm (export kubernetes|swarm), or a service
    container's file system as a tar (export SERVICE -o FILE)."""


@export.command()
@click.option(
    "-o", "--output", metavar="DIR|FILE", help="Write here (a directory gets NAME.yaml); default stdout."
)
@click.option(
    "-n", "--namespace", metavar="NS", help="Namespace of every object (a Namespace is written first)."
)
@click.option(
    "--host-path", is_flag=True, help="Mount bind mounts as hostPath volumes (default: leave them out)."
)
@click.option(
    "--published-type",
    type=click.Choice(["ClusterIP", "NodePort", "LoadBalancer"]),
    default="ClusterIP",
    show_default=True,
    help="Service type of services with published ports.",
)
@click.option(
    "--volume-size",
    default="1Gi",
    show_default=True,
    metavar="QUANTITY",
    help="Storage each volume claim requests (Compose volumes have no size).",
)
@click.option(
    "--wait-image",
    default="busybox:1.36",
    show_default=True,
    metavar="IMAGE",
    help="Image of the init containers that wait for dependencies.",
)
@click.option(
    "--pin-digests",
    is_flag=True,
    help="Name every image by the digest its registry gave on push (repo@sha256:...).",
)
@click.pass_obj
def kubernetes(
    obj: Any,
    output: str | None,
    namespace: str | None,
    host_path: bool,
    published_type: str,
    volume_size: str,
    wait_image: str,
    pin_digests: bool,
) -> None:
    """Kubernetes manifests: workloads, Services, probes, resources, Secrets, ConfigMaps, claims,
    NetworkPolicies (multi-document YAML; pipe it to `kubectl apply -f -`)."""
    from stackfile.engine.export import export_kubernetes
    from stackfile.export.kubernetes import KubeOptions
    from stackfile.spec.dump import dump_yaml

    project = _load(obj)
    opts = KubeOptions(
        namespace=namespace,
        host_path=host_path,
        published_type=published_type,
        volume_size=volume_size,
        wait_image=wait_image,
    )
    result = export_kubernetes(project, opts, _images(obj, project, pin_digests))
    _warn(project, result.warnings)
    text = "".join(f"---\n{dump_yaml(doc)}" for doc in result.documents)
    _write(text, output, f"{project.name}.k8s.yaml")


@export.command()
@click.option(
    "-o", "--output", metavar="DIR|FILE", help="Write here (a directory gets NAME.yaml); default stdout."
)
@click.option(
    "--pin-digests",
    is_flag=True,
    help="Name every image by the digest its registry gave on push (repo@sha256:...).",
)
@click.pass_obj
def swarm(obj: Any, output: str | None, pin_digests: bool) -> None:
    """A compose file for `docker stack deploy -c - NAME`."""
    from stackfile.engine.export import export_swarm
    from stackfile.spec.dump import dump_yaml

    project = _load(obj)
    result = export_swarm(project, _images(obj, project, pin_digests))
    _warn(project, result.warnings)
    _write(dump_yaml(result.documents[0]), output, f"{project.name}.swarm.yaml")

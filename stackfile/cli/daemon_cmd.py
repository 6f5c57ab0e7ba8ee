"""``stackfile daemon``: serve the engine API over a unix socket and/or mutual-TLS TCP."""

from __future__ import annotations

from typing import Any

import click


@click.command()
@click.option("-H", "--host", "hosts", multiple=True, metavar="ADDR",
              help="unix:///PATH or tcp://ADDR:PORT to listen on (repeatable; default "
                   "unix:///run/stackfile/stackfile.sock).")
@click.option("--tlsverify", is_flag=True,
              help="Require TLS with a client certificate signed by --tlscacert.")
@click.option("--tlscacert", metavar="FILE", help="CA that signs client certificates.")
@click.option("--tlscert", metavar="FILE", help="The daemon's certificate.")
@click.option("--tlskey", metavar="FILE", help="The daemon's key.")
@click.option("--group", metavar="NAME", help="Group owning the unix socket (mode 0660; default root).")
@click.pass_obj
def daemon(g: Any, hosts: tuple[str, ...], tlsverify: bool, tlscacert: str | None, tlscert: str | None,
           tlskey: str | None, group: str | None) -> None:
    """Serve the engine API (REST under /v1/) to remote clients."""
    import logging

    from stackfile.daemon.listen import DEFAULT_SOCKET, TlsFiles, parse_host

    try:
        from stackfile.daemon.serve import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("aiohttp", "pydantic"):
            raise
        from stackfile.errors import Unavailable

        raise Unavailable(f"stackfile daemon needs {exc.name}, which is not installed",
                          hint="pip install 'stackfile[daemon]'") from None

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    endpoints = [parse_host(h) for h in hosts or (f"unix://{DEFAULT_SOCKET}",)]
    tls = None
    if tlsverify:
        given = (("--tlscacert", tlscacert), ("--tlscert", tlscert), ("--tlskey", tlskey))
        missing = [flag for flag, v in given if not v]
        if missing:
            raise click.UsageError(f"--tlsverify needs {', '.join(missing)}")
        tls = TlsFiles(ca=tlscacert or "", cert=tlscert or "", key=tlskey or "")
    elif tlscacert or tlscert or tlskey:
        raise click.UsageError("--tlscacert/--tlscert/--tlskey need --tlsverify")
    serve(g.root, endpoints, tls=tls, group=group, say=lambda msg: click.echo(msg, err=True))

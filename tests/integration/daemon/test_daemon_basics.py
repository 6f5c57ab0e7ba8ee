"""The daemon on its own: the socket is 0660 and not world-accessible, ``_ping`` answers, the
OpenAPI document is valid and lists the paths, errors are JSON with their category's status, a
non-loopback listener without TLS and a second daemon on one root are refused, TLS needs a client
certificate."""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
from pathlib import Path

import pytest

from tests.conftest import needs_root
from tests.integration.daemon.conftest import Daemons, UnixHTTP, free_port, get, tls_files, tls_get

pytestmark = needs_root


def test_the_socket_is_0660_root_owned_and_answers_ping(daemons: Daemons) -> None:
    d = daemons.start(daemons.unix())
    st = os.stat(d.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_mode & stat.S_IRWXO == 0
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert get("/v1/_ping", d.sock) == (200, b"OK")


def test_group_owns_the_socket(daemons: Daemons) -> None:
    import grp

    group = next((g for g in grp.getgrall() if g.gr_gid != 0), None)
    if group is None:
        pytest.skip("no non-root group on this machine")
    d = daemons.start(daemons.unix(), group=group.gr_name)
    st = os.stat(d.sock)
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (group.gr_gid, 0o660)


def test_the_openapi_document_is_valid_and_has_the_paths(daemons: Daemons) -> None:
    from openapi_spec_validator import validate

    d = daemons.start(daemons.unix())
    status, raw = get("/v1/openapi.json", d.sock)
    assert status == 200
    doc = json.loads(raw)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for path in ("/v1/_ping", "/v1/version", "/v1/info", "/v1/containers", "/v1/containers/{ref}",
                 "/v1/containers/{ref}/logs", "/v1/containers/{ref}/wait", "/v1/images", "/v1/images/{ref}",
                 "/v1/projects/{name}", "/v1/projects/{name}/up", "/v1/projects/{name}/ps",
                 "/v1/projects/{name}/logs", "/v1/projects/{name}/down"):
        assert path in doc["paths"], path
    assert "ContainerRunRequest" in doc["components"]["schemas"]


def test_errors_are_json_with_the_categorys_status(daemons: Daemons) -> None:
    d = daemons.start(daemons.unix())
    status, raw = get("/v1/containers/no-such-thing", d.sock)
    assert status == 404
    assert json.loads(raw)["kind"] == "not-found"
    conn = UnixHTTP(d.sock)
    conn.request("POST", "/v1/containers", body=b'{"image": 3}', headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 400
    assert (body["kind"], body["location"]) == ("invalid-spec", "image")
    status, raw = get("/v1/containers?all=maybe", d.sock)
    assert status == 400 and json.loads(raw)["location"] == "all"
    status, raw = get("/v1/version", d.sock)
    assert status == 200 and json.loads(raw)["api_version"]


def test_a_non_loopback_listener_without_tls_refuses_to_start(daemons: Daemons) -> None:
    port = free_port()
    proc = daemons.spawn("-H", f"tcp://0.0.0.0:{port}")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 13, err
    assert "refusing to listen on tcp://0.0.0.0" in err and "--tlsverify" in err
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_loopback_tcp_without_tls_warns(daemons: Daemons) -> None:
    port = free_port()
    d = daemons.start(f"tcp://127.0.0.1:{port}")
    d.stop()
    assert "without TLS" in d.output()


def test_a_second_daemon_on_one_root_is_refused(daemons: Daemons) -> None:
    daemons.start(daemons.unix("a.sock"))
    proc = daemons.spawn("-H", daemons.unix("b.sock"))
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 16, err
    assert "another stackfile daemon serves the store root" in err
    assert not (daemons.sockdir / "b.sock").exists()


def test_sigterm_stops_gracefully_and_removes_the_socket(daemons: Daemons) -> None:
    d = daemons.start(daemons.unix())
    d.stop()
    assert d.proc.returncode == 0
    assert not Path(d.sock).exists()


def test_tls_needs_a_client_certificate_signed_by_the_ca(daemons: Daemons, certs: dict[str, Path]) -> None:
    port = free_port()
    daemons.start(f"tcp://127.0.0.1:{port}", tls=tls_files(certs["server"]))
    ca = certs["server"] / "ca.pem"
    assert tls_get(port, "/v1/_ping", ca, certs["client"]) == (200, b"OK")
    for client in (None, certs["other"]):
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            tls_get(port, "/v1/_ping", ca, client)

"""The daemon's and the client's pure parts: ``-H`` parsing and the TLS rule, uploaded projects,
the OpenAPI document, the client's HTTP/1.1 reader, and that the in-process CLI loads none of it."""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from stackfile.daemon.listen import Endpoint, check_tls, parse_host
from stackfile.errors import InvalidSpec, NotFound, PermissionDenied
from stackfile.store.paths import StorePaths

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "endpoint"), [
    ("unix:///run/stackfile/stackfile.sock", Endpoint("unix", path="/run/stackfile/stackfile.sock")),
    ("tcp://127.0.0.1:2376", Endpoint("tcp", host="127.0.0.1", port=2376)),
    ("tcp://[::1]:2376", Endpoint("tcp", host="::1", port=2376)),
    ("tcp://0.0.0.0:2376", Endpoint("tcp", host="0.0.0.0", port=2376)),
])
def test_hosts_parse(text: str, endpoint: Endpoint) -> None:
    assert parse_host(text) == endpoint
    assert str(parse_host(text)) == text


@pytest.mark.parametrize("text", ["unix://relative.sock", "http://x:1", "tcp://host", "tcp://:80",
                                  "tcp://h:0", "tcp://h:99999", "/run/x.sock"])
def test_bad_hosts_say_what_is_valid(text: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        parse_host(text)
    assert err.value.location is not None and err.value.location.key_path == "-H"
    assert err.value.hint


def test_only_loopback_tcp_may_go_without_tls() -> None:
    assert [e.loopback for e in map(parse_host, ("tcp://127.0.0.1:1", "tcp://[::1]:1", "tcp://localhost:1",
                                                 "tcp://10.0.0.1:1", "tcp://0.0.0.0:1", "tcp://example.org:1"))
            ] == [True, True, True, False, False, False]
    assert len(check_tls([parse_host("tcp://127.0.0.1:2375"), parse_host("unix:///x.sock")], None)) == 1
    with pytest.raises(PermissionDenied, match=r"refusing to listen on tcp://0\.0\.0\.0:2375 without TLS"):
        check_tls([parse_host("unix:///x.sock"), parse_host("tcp://0.0.0.0:2375")], None)


def _tar(files: dict[str, bytes]) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buf.getvalue()).decode()


def test_an_uploaded_project_points_at_its_files_under_the_root(tmp_path: Path) -> None:
    from stackfile.daemon import projects

    paths = StorePaths.at(tmp_path)
    config = {"name": "demo", "services": {"web": {"volumes": [
        {"type": "bind", "source": "/home/u/demo/site", "target": "/site"},
        {"type": "bind", "source": "/home/u/demo-other", "target": "/o"}]}}}
    projects.save(paths, "demo", config, "/home/u/demo", _tar({"site/index.html": b"hi\n"}))
    where = tmp_path / "daemon" / "projects" / "demo"
    saved = json.loads((where / "stackfile.json").read_text())
    sources = [v["source"] for v in saved["services"]["web"]["volumes"]]
    assert sources == [f"{where}/files/site", "/home/u/demo-other"]  # only paths inside the working dir move
    assert (where / "files" / "site" / "index.html").read_text() == "hi\n"
    opts = projects.options(paths, "demo")
    assert (opts.files, opts.project_name) == ([str(where / "stackfile.json")], "demo")
    with pytest.raises(NotFound):
        projects.options(paths, "other")
    with pytest.raises(InvalidSpec, match="invalid project name"):
        projects.save(paths, "../x", config, "/w", "")
    with pytest.raises(InvalidSpec, match="gzipped tar"):
        projects.save(paths, "demo", config, "/w", _tar({"../escape": b"x"}))
    assert (where / "files" / "site" / "index.html").exists()  # a refused upload leaves the last one
    projects.save(paths, "demo", config, "/home/u/demo", "")  # ps/logs/down send no files: kept in place
    assert (where / "files" / "site" / "index.html").read_text() == "hi\n"


def test_the_openapi_document_is_valid_31() -> None:
    pytest.importorskip("aiohttp", reason="the daemon's extra (aiohttp, pydantic) is not installed")
    validator = pytest.importorskip("openapi_spec_validator")
    from stackfile.daemon.openapi import document

    doc = document()
    validator.validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert len(doc["paths"]) >= 18
    ops = [op for item in doc["paths"].values() for op in item.values()]
    assert len({op["operationId"] for op in ops}) == len(ops)
    assert all("$ref" in op["responses"]["404"]["content"]["application/json"]["schema"] for op in ops)


def _serve_once(answer: bytes) -> str:
    """A one-shot unix-socket server that writes ``answer``; its path."""
    import tempfile

    path = tempfile.mktemp(prefix="sfd-unit-", suffix=".sock", dir="/tmp")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def run() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        for i in range(0, len(answer), 7):  # in small pieces: the reader must reassemble
            conn.sendall(answer[i:i + 7])
        conn.close()
        srv.close()
        Path(path).unlink()

    threading.Thread(target=run, daemon=True).start()
    return path


def test_the_client_reads_chunked_json_lines_and_raises_error_lines() -> None:
    from stackfile.client.http import Connection, RemoteError
    from stackfile.errors import Conflict

    body = b'{"kind": "a"}\n{"kind": "b", "n": 1}\n{"kind": "error", "error": {"message": "m", "kind": ' \
           b'"conflict", "hint": "h"}}\n'
    pieces = [body[i:i + 10] for i in range(0, len(body), 10)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
    got = []
    with pytest.raises(RemoteError) as err:
        for item in Connection(f"unix://{_serve_once(answer)}").lines("GET", "/x"):
            got.append(item)
    assert got == [{"kind": "a"}, {"kind": "b", "n": 1}]
    assert (err.value.exit_code, err.value.render()) == (16, "m\nhint: h")
    assert isinstance(err.value, Conflict)


def test_the_clients_quoting_is_urllibs() -> None:
    from urllib.parse import quote as urllib_quote
    from urllib.parse import urlencode

    from stackfile.client.http import query_string, quote

    for text in ("web", "a/b c", "é%&=?#", "\x00\n", "~._-", "日本"):
        assert quote(text) == urllib_quote(text, safe="~")
    query = {"all": "1", "label": ["a=b", "c d"], "since": None, "t": 1.5}
    assert query_string(query) == urlencode({k: v for k, v in query.items() if v is not None}, doseq=True,
                                            quote_via=lambda s, *_: urllib_quote(s, safe="~"))


def test_the_client_turns_an_error_answer_into_its_category() -> None:
    from stackfile.client.http import Connection

    body = b'{"message": "no such container: \'x\'", "kind": "not-found", "exit_code": 14, "location": "ref"}'
    answer = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)
    with pytest.raises(NotFound) as err:
        Connection(f"unix://{_serve_once(answer)}").call("GET", "/containers/x")
    assert err.value.render() == "ref: no such container: 'x'"


def test_the_in_process_cli_loads_neither_the_client_nor_the_daemon(tmp_path: Path) -> None:
    code = ("import sys, runpy; sys.argv = ['stackfile', '--root', sys.argv[1], 'container', 'ls'];\n"
            "try:\n    runpy.run_module('stackfile', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'pydantic', 'http')\n"
            "             or m.startswith(('stackfile.client', 'stackfile.daemon')))\n"
            "print(','.join(bad), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          cwd=REPO, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.stderr.strip().splitlines()[-1:] in ([], [""]), proc.stderr

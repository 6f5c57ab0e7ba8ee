"""Daemons for tests: ``stackfile daemon`` started as a subprocess on a throwaway store root, always
stopped by its PID afterwards (SIGTERM, then SIGKILL), its socket files removed; TLS certificates
made with openssl per test session."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# the daemon's libraries are the optional extra stackfile[daemon]: without them there is no daemon to test
pytest.importorskip("aiohttp", reason="stackfile daemon needs aiohttp (pip install 'stackfile[daemon]')")
pytest.importorskip("pydantic", reason="stackfile daemon needs pydantic (pip install 'stackfile[daemon]')")

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UnixHTTP(http.client.HTTPConnection):
    """http.client over a unix socket (the test's own client, independent of stackfile.client)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.unix_path)


def get(path: str, sock: str) -> tuple[int, bytes]:
    conn = UnixHTTP(sock)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Daemon:
    """One running ``stackfile daemon``."""

    def __init__(self, proc: subprocess.Popen[str], root: Path, hosts: list[str], log: Path) -> None:
        self.proc, self.root, self.hosts, self.log = proc, root, hosts, log

    def output(self) -> str:
        """What the daemon wrote on stderr so far."""
        return self.log.read_text()

    @property
    def sock(self) -> str:
        return next(h for h in self.hosts if h.startswith("unix://"))[len("unix://"):]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Daemons:
    """Starts daemons on one store root; stops every one it started."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[Daemon] = []
        self.sockdir = Path(tempfile.mkdtemp(prefix="sfd-sock-", dir="/run" if os.access("/run", os.W_OK)
                                             else None))

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STACKFILE_")}
        env["PYTHONPATH"] = str(REPO)
        env.update(extra)
        return env

    def spawn(self, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
        """A daemon process (stderr to ``log``, else a pipe: for one expected to exit at once)."""
        argv = [sys.executable, "-m", "stackfile", "--root", str(self.root), "daemon", *args]
        with open(log, "a") if log else open(os.devnull) as err:
            return subprocess.Popen(argv, env=self.env(), stdout=subprocess.DEVNULL,
                                    stderr=err if log else subprocess.PIPE, text=True, cwd=REPO)

    def start(self, *hosts: str, tls: dict[str, str] | None = None, group: str | None = None,
              ready: float = 20.0) -> Daemon:
        args: list[str] = []
        for h in hosts:
            args += ["-H", h]
        if tls:
            args += ["--tlsverify", "--tlscacert", tls["ca"], "--tlscert", tls["cert"],
                     "--tlskey", tls["key"]]
        if group:
            args += ["--group", group]
        log = self.sockdir / f"daemon-{len(self.started)}.log"
        proc = self.spawn(*args, log=log)
        daemon = Daemon(proc, self.root, list(hosts), log)
        self.started.append(daemon)
        deadline = time.monotonic() + ready
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the daemon exited {proc.returncode}: {daemon.output()}")
            if all(self._listening(h) for h in hosts):
                return daemon
            time.sleep(0.05)
        raise AssertionError("the daemon did not start listening")

    @staticmethod
    def _listening(host: str) -> bool:
        kind, _, rest = host.partition("://")
        try:
            if kind == "unix":
                return get("/v1/_ping", rest)[0] == 200
            addr, _, port = rest.rpartition(":")
            with socket.create_connection((addr, int(port)), timeout=1):
                return True
        except OSError:
            return False

    def unix(self, name: str = "sf.sock") -> str:
        return f"unix://{self.sockdir / name}"

    def cleanup(self) -> None:
        for daemon in self.started:
            daemon.stop()
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture()
def daemons(store_root: Path) -> Iterator[Daemons]:
    """Start daemons on the test's store root; all stopped (by PID) and their sockets removed after."""
    d = Daemons(store_root)
    try:
        yield d
    finally:
        d.cleanup()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, in Docker's file
    names: ``server/{ca,cert,key}.pem`` and ``client/{ca,cert,key}.pem``; ``other/`` is a client
    signed by another CA."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make certificates")
    base = tmp_path_factory.mktemp("certs")
    out = {}
    for ca_name in ("ca", "otherca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca_name}",
                 "-keyout", str(base / f"{ca_name}-key.pem"), "-out", str(base / f"{ca_name}.pem"))
    server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
    for name, ca_name, ext in (("server", "ca", server_ext),
                               ("client", "ca", "extendedKeyUsage=clientAuth"),
                               ("other", "otherca", "extendedKeyUsage=clientAuth")):
        d = base / name
        d.mkdir()
        (d / "ext.cnf").write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", str(d / "key.pem"), "-out", str(d / "req.csr"))
        _openssl("x509", "-req", "-in", str(d / "req.csr"), "-CA", str(base / f"{ca_name}.pem"), "-CAkey",
                 str(base / f"{ca_name}-key.pem"), "-CAcreateserial", "-days", "2",
                 "-extfile", str(d / "ext.cnf"), "-out", str(d / "cert.pem"))
        shutil.copy(base / "ca.pem", d / "ca.pem")  # every client trusts the daemon's CA
        out[name] = d
    return out


def tls_files(server: Path) -> dict[str, str]:
    return {"ca": str(server / "ca.pem"), "cert": str(server / "cert.pem"), "key": str(server / "key.pem")}


def tls_get(port: int, path: str, ca: Path, client_dir: Path | None) -> tuple[int, bytes]:
    """GET over TLS trusting ``ca``, with the client certificate of ``client_dir`` (or none)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if client_dir is not None:
        ctx.load_cert_chain(str(client_dir / "cert.pem"), str(client_dir / "key.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()

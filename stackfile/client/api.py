"""The engine's use cases the daemon serves, called over HTTP; results are the API's JSON values."""

from __future__ import annotations

from collections.abc import Iterator

from stackfile.client.http import Connection, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Client"]


def _q(ref: str) -> str:
    return quote(ref)


class Client:
    """A remote engine at ``host`` (``unix://PATH`` or ``tcp://HOST:PORT``)."""

    def __init__(self, host: str, *, tls_verify: bool = False, cert_path: str = "") -> None:
        self.conn = Connection(host, tls_verify=tls_verify, cert_path=cert_path)

    # system
    def ping(self) -> str:
        """``OK`` when the daemon serves."""
        return str(self.conn.call("GET", "/_ping"))

    # containers
    def containers(self, *, all: bool = False, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Container summaries (``container ls --format json`` fields)."""
        label = [f"{k}={v}" for k, v in (labels or {}).items()]
        rows: list[dict[str, Any]] = self.conn.call("GET", "/containers",
                                                   query={"all": "1" if all else "0", "label": label})
        return rows

    def run_detached(self, request: dict[str, Any]) -> str:
        """Create and start a container in the background; its id."""
        return str(self.conn.call("POST", "/containers", request)["Id"])

    def run_attached(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``stdout``/``stderr`` lines (``data``) and last ``exit`` (``code``) of a container run in
        the foreground."""
        return self.conn.lines("POST", "/containers/run", request)

    def stop(self, ref: str, timeout: float | None = None) -> None:
        """Stop a container."""
        self.conn.call("POST", f"/containers/{_q(ref)}/stop", query={"t": timeout})

    def kill(self, ref: str, signal: str = "SIGKILL") -> None:
        """Signal a container."""
        self.conn.call("POST", f"/containers/{_q(ref)}/kill", query={"signal": signal})

    def remove(self, ref: str, *, force: bool = False) -> None:
        """Remove a container."""
        self.conn.call("DELETE", f"/containers/{_q(ref)}", query={"force": "1" if force else "0"})

    def wait(self, ref: str) -> int:
        """The container's exit code once it stopped."""
        return int(self.conn.call("POST", f"/containers/{_q(ref)}/wait")["StatusCode"])

    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
             since: str | None = None) -> Iterator[dict[str, Any]]:
        """A container's log lines (``time``, ``stream``, ``text``)."""
        return self.conn.lines("GET", f"/containers/{_q(ref)}/logs", query={
            "follow": "1" if follow else "0", "tail": "all" if tail is None else str(tail), "since": since})

    # images
    def images(self) -> list[dict[str, Any]]:
        """Image summaries, newest first."""
        rows: list[dict[str, Any]] = self.conn.call("GET", "/images")
        return rows

    def image_remove(self, ref: str, *, force: bool = False) -> list[str]:
        """Untag or delete an image; what was done, one line each."""
        return list(self.conn.call("DELETE", f"/images/{_q(ref)}", query={"force": "1" if force else "0"}))

    # projects
    def upload(self, name: str, config: dict[str, Any], working_dir: str, files_tar_gz_b64: str = "") -> None:
        """Send a resolved project (and its files) to the daemon."""
        self.conn.call("PUT", f"/projects/{_q(name)}", {"config": config, "working_dir": working_dir,
                                                      "files_tar_gz_b64": files_tar_gz_b64})

    def up(self, name: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``up``'s progress events, ending with ``{"kind": "done"}``."""
        return self.conn.lines("POST", f"/projects/{_q(name)}/up", request)

    def exec(self, name: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """An exec's ``stdout``/``stderr`` lines and last ``exit``."""
        return self.conn.lines("POST", f"/projects/{_q(name)}/exec", request)

    def down(self, name: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``down``'s progress events, ending with ``{"kind": "done"}``."""
        return self.conn.lines("POST", f"/projects/{_q(name)}/down", request)

    def ps(self, name: str, services: tuple[str, ...] = (), *, all: bool = False) -> list[dict[str, Any]]:
        """``ps --format json`` rows."""
        rows: list[dict[str, Any]] = self.conn.call("GET", f"/projects/{_q(name)}/ps", query={
            "all": "1" if all else "0", "service": list(services)})
        return rows

    def project_logs(self, name: str, services: tuple[str, ...] = (), *, follow: bool = False,
                     tail: int | None = None, since: str | None = None,
                     until: str | None = None) -> Iterator[dict[str, Any]]:
        """The project's log lines (``container``, ``service``, ``time``, ``stream``, ``text``)."""
        return self.conn.lines("GET", f"/projects/{_q(name)}/logs", query={
            "service": list(services), "follow": "1" if follow else "0",
            "tail": "all" if tail is None else str(tail), "since": since, "until": until})

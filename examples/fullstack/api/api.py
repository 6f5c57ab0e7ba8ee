"""The API: counts requests in the shared volume and reports the worker's last beat."""

import json
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import six  # noqa: F401  (installed with pip: proves the dependency made it into the image)

DATA = pathlib.Path(os.environ.get("DATA_DIR", "/data"))
TOKEN = pathlib.Path("/run/secrets/api_token")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/health"):
            return self._send(200, {"ok": True})
        counter = DATA / "requests"
        count = int(counter.read_text() or 0) + 1 if counter.exists() else 1
        counter.write_text(str(count))
        beat = (DATA / "beat").read_text().strip() if (DATA / "beat").exists() else None
        self._send(200, {"requests": count, "worker_beat": beat, "token_set": TOKEN.exists()})

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()

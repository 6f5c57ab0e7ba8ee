"""The worker: writes a heartbeat into the shared volume and pings the API by service name."""

import datetime
import os
import pathlib
import time
import urllib.request

DATA = pathlib.Path("/data")
API = os.environ.get("API_URL", "http://api:8000")

while True:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    (DATA / "beat").write_text(now)
    try:
        with urllib.request.urlopen(f"{API}/health", timeout=2) as resp:
            print(f"{now} api says {resp.read().decode().strip()}", flush=True)
    except OSError as exc:
        print(f"{now} api unreachable: {exc}", flush=True)
    time.sleep(5)

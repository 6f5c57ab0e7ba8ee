"""Concurrency: 50 requests of mixed kinds at once are all answered, while a ``logs -f`` stream is
open; and the stream still delivers after them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import needs_root
from tests.integration.daemon.conftest import Daemons

pytestmark = needs_root


def test_fifty_mixed_requests_beside_a_follow_stream(daemons: Daemons) -> None:
    from stackfile.client.api import Client
    from stackfile.errors import NotFound

    d = daemons.start(daemons.unix())
    api = Client(f"unix://{d.sock}")
    cid = api.run_detached({"image": "busybox", "name": "ticker",
                            "command": ["sh", "-c", "while true; do echo tick; sleep 0.1; done"]})
    seen: list[float] = []
    stop = threading.Event()

    def follow() -> None:
        for line in api.logs(cid, follow=True):
            if line["text"] == "tick":
                seen.append(time.monotonic())
            if stop.is_set():
                return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:  # a few lines written, and the stream works
            time.sleep(0.05)
        assert len(seen) >= 3
        kinds: list[Any] = [
            api.ping,
            lambda: api.conn.call("GET", "/version")["version"],
            lambda: api.conn.call("GET", "/info")["containers"],
            lambda: [c["Id"] for c in api.containers(all=True)],
            lambda: api.conn.call("GET", f"/containers/{cid}")["State"],
            lambda: [i["Id"] for i in api.images()],
            lambda: sum(1 for _ in api.logs(cid, tail=3)),
            lambda: len(api.conn.call("GET", "/openapi.json")["paths"]),
        ]

        def missing() -> str:
            with pytest.raises(NotFound):
                api.stop("no-such-container")
            return "404"

        kinds.append(missing)
        t0 = time.monotonic()
        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(lambda i: kinds[i % len(kinds)](), range(50)))
        elapsed = time.monotonic() - t0
        assert results[0] == "OK" and results[4] == "running" and results[6] == 3 and results[8] == "404"
        assert all(cid in r for r in results[3::len(kinds)])
        assert elapsed < 30
        before = len(seen)
        deadline = time.monotonic() + 10
        while len(seen) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(seen) >= before + 3  # the stream kept flowing
    finally:
        stop.set()
        api.remove(cid, force=True)
    follower.join(10)
    assert not follower.is_alive()  # the follow stream ends when its container goes

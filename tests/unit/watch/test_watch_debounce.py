"""The adaptive debounce: fast after a lone event, one batch for a burst, separate bursts apart."""

from __future__ import annotations

import threading
import time

from stackfile.watch.debounce import Debouncer, Window


def test_window_grows_with_the_burst_and_its_pauses_up_to_the_cap() -> None:
    w = Window(base=0.003, per_event=0.0002, gap_factor=2.5, cap=0.25)
    assert w.quiet(1, 0.0) == 0.003
    assert abs(w.quiet(11, 0.0) - 0.005) < 1e-9
    assert w.quiet(3, 0.004) == 0.010  # a 4 ms pause inside the burst: wait 10 ms
    assert w.quiet(100_000, 1.0) == 0.25


class Collector:
    def __init__(self) -> None:
        self.batches: list[tuple[float, list[int]]] = []
        self.flushed = threading.Event()

    def __call__(self, batch: list[int]) -> None:
        self.batches.append((time.monotonic(), batch))
        self.flushed.set()


def test_a_lone_event_is_flushed_within_milliseconds() -> None:
    got = Collector()
    deb: Debouncer[int] = Debouncer(got).start()
    try:
        delays = []
        for i in range(20):
            got.flushed.clear()
            sent = time.monotonic()
            deb.add([i])
            assert got.flushed.wait(1.0)
            delays.append(got.batches[-1][0] - sent)
    finally:
        deb.close()
    assert [b for _, b in got.batches] == [[i] for i in range(20)]
    assert sorted(delays)[10] < 0.015, delays  # 3 ms window + thread wake-ups


def test_a_burst_is_one_batch_and_a_later_burst_another() -> None:
    got = Collector()
    deb: Debouncer[int] = Debouncer(got).start()
    try:
        for i in range(1000):
            deb.add([i])
            if i % 100 == 0:
                time.sleep(0.002)  # a pause inside the burst stretches the window
        time.sleep(0.4)
        deb.add([-1])
        time.sleep(0.05)
    finally:
        deb.close()
    assert [b for _, b in got.batches] == [list(range(1000)), [-1]]


def test_close_flushes_what_is_pending_and_ignores_empty_events() -> None:
    got = Collector()
    deb: Debouncer[int] = Debouncer(got, Window(base=10.0, cap=10.0)).start()
    deb.add([])
    deb.add([1, 2])
    deb.close()
    assert [b for _, b in got.batches] == [[1, 2]]

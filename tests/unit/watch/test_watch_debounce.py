"""The adaptive debounce: fast after a lone event, one batch for a burst, separate bursts apart.

The batching tests drive the debouncer with a manual clock: a burst ends when the *clock* says
so, never because the test thread happened to be descheduled for a few milliseconds, so the
outcome (which items form which batch) does not depend on the machine's load. Latency on the
real clock is measured in ``bench/``, not asserted here.
"""

from __future__ import annotations

import threading
import time

from stackfile.watch.debounce import Debouncer, Window

PATIENCE = 0.03  # real time to be sure a flush that is due would have happened (it polls the clock)
LIVENESS = 10.0  # generous bound for a flush that is due to arrive


def test_window_grows_with_the_burst_and_its_pauses_up_to_the_cap() -> None:
    w = Window(base=0.003, per_event=0.0002, gap_factor=2.5, cap=0.25)
    assert w.quiet(1, 0.0) == 0.003
    assert abs(w.quiet(11, 0.0) - 0.005) < 1e-9
    assert w.quiet(3, 0.004) == 0.010  # a 4 ms pause inside the burst: wait 10 ms
    assert w.quiet(100_000, 1.0) == 0.25


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class Collector:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.flushed = threading.Semaphore(0)

    def __call__(self, batch: list[int]) -> None:
        self.batches.append(batch)
        self.flushed.release()

    def wait(self, timeout: float = LIVENESS) -> bool:
        return self.flushed.acquire(timeout=timeout)


def test_a_lone_event_is_flushed_after_the_base_window_and_not_before() -> None:
    clock, got = Clock(), Collector()
    window = Window()
    deb: Debouncer[int] = Debouncer(got, window, clock=clock).start()
    try:
        for i in range(5):
            deb.add([i])
            clock.advance(window.base * 0.9)
            assert not got.wait(PATIENCE), "flushed before the quiet window ended"
            assert deb.pending()
            clock.advance(window.base * 0.2)
            assert got.wait(), "a due flush never came"
            assert got.batches[-1] == [i]
    finally:
        deb.close()
    assert got.batches == [[i] for i in range(5)]
    assert not deb.pending()


def test_a_burst_is_one_batch_and_a_later_burst_another() -> None:
    clock, got = Clock(), Collector()
    window = Window()
    deb: Debouncer[int] = Debouncer(got, window, clock=clock).start()
    try:
        for i in range(1000):
            deb.add([i])
            clock.advance(0.00001)
            if i % 100 == 0:
                clock.advance(0.002)  # a pause inside the burst stretches the window
        quiet = window.quiet(1000, 0.002 + 0.00001)
        assert quiet > window.base
        clock.advance(quiet - 0.0011)  # not yet: the burst may go on
        assert not got.wait(PATIENCE)
        clock.advance(0.002)
        assert got.wait()
        deb.add([-1])
        clock.advance(window.base * 1.1)
        assert got.wait()
    finally:
        deb.close()
    assert got.batches == [list(range(1000)), [-1]]


def test_a_file_open_for_writing_holds_the_burst_until_its_close_or_the_cap() -> None:
    """A loaded machine may spread truncate, write and close over more than the base window: still
    one batch. A writer that never closes holds the burst for ``cap`` at most."""
    clock, got = Clock(), Collector()
    window = Window()
    deb: Debouncer[int] = Debouncer(got, window, clock=clock).start()
    try:
        deb.add([1], opened=["f"])  # the truncate
        clock.advance(window.base * 5)
        deb.add([2], opened=["f"])  # the write, late
        clock.advance(window.base * 5)
        assert not got.wait(PATIENCE), "flushed while the file was still open"
        deb.add([3], closed=["f"])  # the close: now the usual window
        clock.advance(window.base * 1.1 + window.per_event * 2 + window.gap_factor * window.base * 5)
        assert got.wait()
        deb.add([4], opened=["g"])  # never closed
        clock.advance(window.cap * 0.9)
        assert not got.wait(PATIENCE)
        clock.advance(window.cap * 0.2)
        assert got.wait(), "an unclosed file held the burst past the cap"
        deb.add([5])  # the hold ended with its burst
        clock.advance(window.base * 1.1)
        assert got.wait()
    finally:
        deb.close()
    assert got.batches == [[1, 2, 3], [4], [5]]


def test_events_from_many_threads_on_the_real_clock_each_flush_exactly_once() -> None:
    got = Collector()
    deb: Debouncer[int] = Debouncer(got).start()
    try:
        def produce(base: int) -> None:
            for i in range(200):
                deb.add([base + i])
                if i % 50 == 0:
                    time.sleep(0.001)

        threads = [threading.Thread(target=produce, args=(n * 1000,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + LIVENESS
        while deb.pending() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not deb.pending(), "the last burst was never flushed"
    finally:
        deb.close()
    flat = [x for batch in got.batches for x in batch]
    assert sorted(flat) == sorted(n * 1000 + i for n in range(4) for i in range(200))
    for n in range(4):  # each producer's items keep their order
        mine = [x for x in flat if x // 1000 == n]
        assert mine == sorted(mine)


def test_close_flushes_what_is_pending_and_ignores_empty_events() -> None:
    got = Collector()
    deb: Debouncer[int] = Debouncer(got, Window(base=10.0, cap=10.0)).start()
    deb.add([])
    deb.add([1, 2])
    deb.close()
    assert got.batches == [[1, 2]]

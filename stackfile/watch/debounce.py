"""An adaptive debounce: act a few milliseconds after a lone event, wait out a burst.

A fixed window is the classic trade-off: Compose waits 500 ms after every change so that a ``git
checkout`` is one batch, and so every single save waits 500 ms too. Here the quiet window grows with
the burst: ``base`` after a lone event, plus ``per_event`` for each further event, and at least
``gap_factor`` times the longest pause seen inside the burst so far (a burst that pauses for 10 ms is
not over after 3 ms of quiet), never more than ``cap``. An editor save (temp file, write, rename:
2 to 4 events within a millisecond) flushes about 3 to 4 ms after its last event; a thousand-file
checkout flushes once, ``cap`` at most after its last event.

A file a writer still has open is not done: ``add`` takes the keys of files opened for writing and of
files closed after a write, and while any is open the burst waits for the close (``cap`` at most
after the last event). A save is then one batch even when a loaded machine spreads its truncate,
write and close over more than the base window: one sync, one restart, never two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Debouncer", "Window"]

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """How long to wait for quiet, in seconds, given the burst so far."""

    base: float = 0.003
    per_event: float = 0.0002
    gap_factor: float = 2.5
    cap: float = 0.25

    def quiet(self, events: int, longest_gap: float) -> float:
        """The quiet time that ends a burst of ``events`` whose longest pause was ``longest_gap``."""
        grown = self.base + self.per_event * max(events - 1, 0)
        return min(self.cap, max(grown, self.gap_factor * longest_gap))


class Debouncer(Generic[T]):
    """Collects items from any thread; calls ``flush(batch)`` on its own thread once a burst ends."""

    def __init__(self, flush: Callable[[list[T]], None], window: Window | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._flush = flush
        self.window = window or Window()
        self._clock = clock
        self._cond = threading.Condition()
        self._items: list[T] = []
        self._events = 0
        self._last = 0.0
        self._longest_gap = 0.0
        self._writing: set[Hashable] = set()  # files a writer has open (their close is awaited)
        self._closed = False
        self._flushing = False
        self._thread = threading.Thread(target=self._run, name="stackfile-watch-debounce", daemon=True)

    def start(self) -> Debouncer[T]:
        self._thread.start()
        return self

    def add(self, items: Iterable[T], *, opened: Iterable[Hashable] = (),
            closed: Iterable[Hashable] = ()) -> None:
        """Record one event carrying ``items`` (an event with no items is dropped).

        ``opened``: files the event shows a writer still has open; ``closed``: files whose writer
        closed them. The burst is held while any opened file is not closed yet.
        """
        batch = list(items)
        if not batch:
            return
        now = self._clock()
        with self._cond:
            if self._events:
                self._longest_gap = max(self._longest_gap, now - self._last)
            self._writing.update(opened)
            self._writing.difference_update(closed)
            self._items.extend(batch)
            self._events += 1
            self._last = now
            self._cond.notify()

    def pending(self) -> bool:
        """True while a burst is collecting or being flushed."""
        with self._cond:
            return bool(self._items) or self._flushing

    def close(self) -> None:
        """Flush what is pending now and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _take(self) -> list[T] | None:
        """Wait until a burst ends (returns it) or the debouncer is closed and drained (None)."""
        with self._cond:
            while True:
                if not self._items:
                    if self._closed:
                        return None
                    self._cond.wait()
                    continue
                window = self.window
                quiet = window.cap if self._writing else window.quiet(self._events, self._longest_gap)
                deadline = self._last + quiet
                remaining = deadline - self._clock()
                if remaining > 0 and not self._closed:
                    self._cond.wait(remaining)
                    continue
                batch, self._items = self._items, []
                self._events, self._longest_gap = 0, 0.0
                self._writing.clear()  # a writer that outlived the cap: its close starts a new burst
                self._flushing = True
                return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._flush(batch)
            finally:
                with self._cond:
                    self._flushing = False

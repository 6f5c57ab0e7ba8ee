"""The typed events of a watch session (the CLI prints them; ``--json`` serialises them)."""

from __future__ import annotations

from dataclasses import dataclass

from stackfile.events import Event

__all__ = ["WatchAction", "WatchFailed", "WatchNotice", "WatchStarted", "WatchSynced"]


@dataclass(frozen=True)
class WatchStarted(Event):
    """The observer is running: which directories, how many rules, which roots are polled."""

    kind: str = "watch.start"
    roots: tuple[str, ...] = ()
    polled: tuple[str, ...] = ()
    rules: int = 0


@dataclass(frozen=True)
class WatchSynced(Event):
    """An initial sync finished for one rule."""

    kind: str = "watch.initial-sync"
    service: str = ""
    rule: str = ""
    written: int = 0
    removed: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class WatchAction(Event):
    """One action done, with its cause: files → rules → action, and the time it took."""

    kind: str = "watch.action"
    service: str = ""
    action: str = ""
    files: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    written: int = 0
    removed: int = 0
    seconds: float = 0.0  # time the action took
    latency: float = 0.0  # from the last change of the batch to the action being done


@dataclass(frozen=True)
class WatchFailed(Event):
    """An action failed; the session keeps watching."""

    kind: str = "watch.error"
    service: str = ""
    action: str = ""
    files: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class WatchNotice(Event):
    """Something the user should know (polling fallback, a service not running)."""

    kind: str = "watch.notice"
    service: str = ""

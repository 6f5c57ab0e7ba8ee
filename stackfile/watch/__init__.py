"""Watch mode: keep running containers in step with files on the host.

The pipeline, one module per stage: :mod:`~stackfile.watch.observer` (one watchdog observer per
project, polling where inotify is blind) → :mod:`~stackfile.watch.rules` and
:mod:`~stackfile.watch.ignore` (``develop.watch`` rules, default and ``.dockerignore`` ignores) →
:mod:`~stackfile.watch.debounce` (an adaptive quiet window) → :mod:`~stackfile.watch.actions` (one
plan per service, run against an :class:`~stackfile.watch.actions.ActionTarget`) →
:mod:`~stackfile.watch.sync` (writes straight into a container's root). :mod:`~stackfile.watch.session`
ties them together; :mod:`~stackfile.watch.state` records a running watcher for ``ps`` and ``down``.
"""

"""Reconcile a stack with what runs: observed state -> pure planner -> plan -> executor.

Words used here (docker compose's reconcile, in small modules):

- ``desired.py``: what the stack asks for, read from the canonical config or the typed model into
  :class:`~stackfile.reconcile.desired.DesiredService` records (image, replicas, depends_on,
  networks, volumes, and the config hash).
- ``hash.py``: the config hash. Fields that must not force a recreate (scale, replicas,
  depends_on, build, profiles, develop, pull_policy, ``x-*``) are left out; a per-field digest
  map is stamped as a label too, so a differing hash is explained (``environment.FOO``).
- ``labels.py``: the labels every container carries (project, service, number, oneoff, hash...).
- ``observed.py``: what exists (containers with state and health, networks, volumes, images), as
  plain dataclasses: tests build them by hand.
- ``planner.py``: pure. ``plan(stack, observed, options)`` and ``plan_down(observed, ...)`` return a
  :class:`~stackfile.reconcile.plan.Plan`: a DAG of atomic actions, each with a cause. Containers
  are created as soon as their networks, volumes and image exist (in parallel) and started in
  dependency order; ``depends_on`` conditions become WaitHealthy/WaitCompleted actions.
- ``plan.py``: the actions and the stable text form (``#2 service:web:1, CreateContainer, no
  existing container (after #1)``), both the ``--dry-run`` output and the tests' golden text.
- ``executor.py``: runs a plan with one handler per action kind, in parallel threads as
  dependencies allow (longest dependent chain first), stopping only the dependents of a failure.
- ``health.py`` / ``health_main.py``: healthchecks, run by a detached monitor per container that
  writes ``<store>/projects/<project>/health/<id>.json``, which ``ps`` and waits read.
"""

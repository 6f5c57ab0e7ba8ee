"""The use-case facade used by the CLI and the daemon.

One module per area, so each stays small: ``config`` (load/inspect a project), ``containers``
(single containers), ``images`` (build, store), ``networks`` (networks and volumes), ``project``
(up/down/ps/... for a stack), ``watch``. Modules emit typed events (stackfile.events), never print.
"""

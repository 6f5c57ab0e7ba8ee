"""The built-in Linux runtime: namespaces, overlayfs, cgroups v1/v2, a per-container shim.

Modules, in the order a start uses them:

- ``runtime``   LinuxRuntime, the :class:`~stackfile.runtime.api.Runtime` protocol over files
- ``create``    create/remove a container's directory (name reservation, /etc files, config)
- ``refs``      id / name / unique id prefix → id
- ``plan``      LaunchPlan: the spec resolved on the host before anything forks (users, caps, ...)
- ``supervise`` one start as a supervisor does it: cgroup, launch, state, reap (+ restart rules)
- ``launch``    unshare(pid) → fork → PID 1, which joins its cgroups itself (v1; on v2 the caller
                attaches it while it builds its rootfs), then unshares mnt/uts/ipc(/net)
- ``rootfs``    overlay root, /proc, /sys, /dev, mounts, masked paths, pivot_root (in PID 1)
- ``process``   rlimits, user, capabilities, no_new_privs, fds 0-2 only, default signals, exec;
                the reaping init
- ``entry``     the sealed in-memory program every entering process execs last (never the host's
                Python inside a container); ``seccomp`` the default filter, per ABI
- ``cgroups``   per-container cgroups, v1 and v2
- ``shim`` / ``shim_main``  the detached supervisor and its program; ``logs`` its JSON lines. A
                zygote's shim can also *prepare* a created container (``up``): PID 1 is built up
                to its go point and waits on a gate; the start is then the exec. A gate closed
                without ``G`` undoes it all (the container stays created)
- ``attached``  foreground run and exec from the caller; ``ttyproxy`` for ``-t``; ``exec`` setns
- ``state``     config.json / state.json records; ``specjson`` ContainerSpec ⇄ JSON
- ``rootpath`` every path into a container's files (rootfs, upper dir, volume) resolved inside it,
                race-free: openat2 ``RESOLVE_IN_ROOT``, else an ``O_NOFOLLOW`` walk
- ``caps``, ``users``, ``top``, ``errors``; ``_libc`` is the project's only ctypes
"""

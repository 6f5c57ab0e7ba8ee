"""A default seccomp filter: deny the syscalls Docker's profile blocks that capabilities do not.

Docker ships an allowlist; this is a smaller denylist of the kernel interfaces that are not
namespaced or are common exploit paths: keyrings, bpf, perf events, userfaultfd, io_uring,
kernel modules and kexec, clock and swap control, file handles, obsolete calls, and (without
CAP_SYS_ADMIN) new namespaces, user namespaces included, through unshare, setns and ``clone``.
``clone3`` answers ENOSYS so libcs fall back to ``clone``, whose flags classic BPF can inspect.

Only x86-64 has a table for now; elsewhere no filter is installed. Foreign-ABI calls (i386, x32)
are refused on x86-64, since their numbers would slip past the table.
"""

from __future__ import annotations

import errno
import os
import struct

__all__ = ["default_filter"]

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_NS_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000

_X86_64_DENY = {
    "acct": 163, "add_key": 248, "adjtimex": 159, "bpf": 321, "clock_adjtime": 305, "clock_settime": 227,
    "create_module": 174, "delete_module": 176, "finit_module": 313, "get_kernel_syms": 177,
    "init_module": 175, "io_uring_enter": 426, "io_uring_register": 427, "io_uring_setup": 425,
    "ioperm": 173, "iopl": 172, "kexec_file_load": 320, "kexec_load": 246, "keyctl": 250,
    "lookup_dcookie": 212, "name_to_handle_at": 303, "nfsservctl": 180, "open_by_handle_at": 304,
    "perf_event_open": 298, "query_module": 178, "quotactl": 179, "reboot": 169, "request_key": 249,
    "settimeofday": 164, "swapoff": 168, "swapon": 167, "_sysctl": 156, "sysfs": 139, "uselib": 134,
    "userfaultfd": 323, "ustat": 136,
}
_X86_64_NS = {"setns": 308, "unshare": 272}
_X86_64_CLONE, _X86_64_CLONE3 = 56, 435


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _deny(nr: int, err: int) -> bytes:
    return _insn(_JEQ, nr, 0, 1) + _insn(_RET, _ERRNO | err)


def default_filter(*, allow_namespaces: bool) -> bytes | None:
    """The BPF program (``struct sock_filter`` array) for this machine, or None if unsupported."""
    if os.uname().machine != "x86_64":
        return None
    prog = [
        _insn(_LD_W_ABS, 4),  # seccomp_data.arch
        _insn(_JEQ, _AUDIT_ARCH_X86_64, 1, 0),
        _insn(_RET, _ERRNO | errno.ENOSYS),
        _insn(_LD_W_ABS, 0),  # seccomp_data.nr
        _insn(_JGE, _X32_BIT, 0, 1),
        _insn(_RET, _ERRNO | errno.ENOSYS),
        _deny(_X86_64_CLONE3, errno.ENOSYS),
    ]
    deny = dict(_X86_64_DENY)
    if not allow_namespaces:
        deny.update(_X86_64_NS)
    prog += [_deny(nr, errno.EPERM) for nr in sorted(deny.values())]
    if not allow_namespaces:
        prog += [
            _insn(_JEQ, _X86_64_CLONE, 0, 3),
            _insn(_LD_W_ABS, 16),  # low word of args[0]: the clone flags
            _insn(_JSET, _NS_FLAGS, 0, 1),
            _insn(_RET, _ERRNO | errno.EPERM),
        ]
    prog.append(_insn(_RET, _ALLOW))
    return b"".join(prog)

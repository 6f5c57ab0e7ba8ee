"""The default seccomp filter: deny what Docker's default profile denies that capabilities do not.

Docker ships an allowlist; this is a denylist of the same boundary for the calls that matter: the
kernel interfaces that are not namespaced or are common exploit paths (keyrings, kernel modules,
kexec, file handles, userfaultfd, io_uring, clock and swap control, obsolete calls) are denied
always; the ones Docker allows only with CAP_SYS_ADMIN (bpf, perf events, mounts and the new
mount API, unshare, setns, ``clone`` with namespace flags, syslog, quotas, fanotify) are denied
unless the container has it. ``clone3`` answers ENOSYS, as in Docker, so libcs fall back to
``clone``, whose flags classic BPF can inspect.

Every ABI an x86-64 kernel runs is covered: x86-64, x32 (numbers with ``__X32_SYSCALL_BIT``,
x86-64's own for these calls but ``kexec_load``) and i386 (its own table). Other architectures
get no filter for now; another ABI (none exists on x86-64) gets ENOSYS.
The numbers are those of the kernel's ``asm/unistd_{64,32,x32}.h``.
"""

from __future__ import annotations

import errno
import os
import struct

__all__ = ["ADMIN_ONLY", "ALWAYS_DENIED", "AUDIT_ARCH_I386", "AUDIT_ARCH_X86_64", "X32_BIT", "default_filter"]

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_BIT = 0x40000000
_NS_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (Docker's mask)
_X32_KEXEC_LOAD = 528  # x32's own number (x86-64's 246 is 64-bit only)

_LD_W_ABS, _AND_K, _JA, _JEQ, _JGE, _JSET, _RET = 0x20, 0x54, 0x05, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000

# name: (x86-64 number, i386 number); None where the ABI has no such call
ALWAYS_DENIED: dict[str, tuple[int | None, int | None]] = {
    "acct": (163, 51), "add_key": (248, 286), "adjtimex": (159, 124), "clock_adjtime": (305, 343),
    "clock_adjtime64": (None, 405), "clock_settime": (227, 264), "clock_settime64": (None, 404),
    "create_module": (174, 127), "delete_module": (176, 129), "finit_module": (313, 350),
    "get_kernel_syms": (177, 130), "init_module": (175, 128), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "io_uring_setup": (425, 425), "ioperm": (173, 101), "iopl": (172, 110),
    "kexec_file_load": (320, None), "kexec_load": (246, 283), "keyctl": (250, 288),
    "nfsservctl": (180, 169), "open_by_handle_at": (304, 342), "query_module": (178, 167),
    "reboot": (169, 88), "request_key": (249, 287), "settimeofday": (164, 79), "stime": (None, 25),
    "swapoff": (168, 115), "swapon": (167, 87), "_sysctl": (156, 149), "sysfs": (139, 135),
    "uselib": (134, 86), "userfaultfd": (323, 374), "ustat": (136, 62), "vm86": (None, 166),
    "vm86old": (None, 113),
}
ADMIN_ONLY: dict[str, tuple[int | None, int | None]] = {
    "bpf": (321, 357), "fanotify_init": (300, 338), "fsconfig": (431, 431), "fsmount": (432, 432),
    "fsopen": (430, 430), "fspick": (433, 433), "lookup_dcookie": (212, 253), "mount": (165, 21),
    "mount_setattr": (442, 442), "move_mount": (429, 429), "name_to_handle_at": (303, 341),
    "open_tree": (428, 428), "perf_event_open": (298, 336), "pivot_root": (155, 217),
    "quotactl": (179, 131), "quotactl_fd": (443, 443), "setns": (308, 346), "syslog": (103, 103),
    "umount": (None, 22), "umount2": (166, 52), "unshare": (272, 310),
}
_CLONE = (56, 120)
_CLONE3 = 435  # the same on both


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _deny(nr: int, err: int) -> bytes:
    return _insn(_JEQ, nr, 0, 1) + _insn(_RET, _ERRNO | err)


def _table(abi: int, admin: bool) -> bytes:
    """Checks of the syscall number already in A for one ABI (0: x86-64, 1: i386), then allow."""
    out = [] if admin else [_deny(_CLONE3, errno.ENOSYS)]
    groups = (ALWAYS_DENIED,) if admin else (ALWAYS_DENIED, ADMIN_ONLY)
    numbers = sorted({nr for group in groups for nrs in group.values() if (nr := nrs[abi]) is not None})
    out += [_deny(nr, errno.EPERM) for nr in numbers]
    if not admin:
        out += [
            _insn(_JEQ, _CLONE[abi], 0, 3),
            _insn(_LD_W_ABS, 16),  # low word of args[0]: the clone flags (first on both ABIs)
            _insn(_JSET, _NS_FLAGS, 0, 1),
            _insn(_RET, _ERRNO | errno.EPERM),
        ]
    out.append(_insn(_RET, _ALLOW))
    return b"".join(out)


def default_filter(*, admin: bool) -> bytes | None:
    """The BPF program (``struct sock_filter`` array) for this machine, or None if unsupported.

    ``admin``: the container has CAP_SYS_ADMIN (mounts, namespaces, bpf... allowed, as Docker).
    """
    if os.uname().machine != "x86_64":
        return None
    x86_64 = b"".join([
        _insn(_LD_W_ABS, 0),  # seccomp_data.nr
        _insn(_JGE, X32_BIT, 0, 3),
        _insn(_AND_K, ~X32_BIT & 0xFFFFFFFF),  # x32: the same numbers as x86-64 for these calls...
        _deny(_X32_KEXEC_LOAD, errno.EPERM),  # ...but one
        _table(0, admin),
    ])
    i386 = _insn(_LD_W_ABS, 0) + _table(1, admin)
    head = b"".join([  # a jump goes to the next instruction + k
        _insn(_LD_W_ABS, 4),  # seccomp_data.arch
        _insn(_JEQ, AUDIT_ARCH_X86_64, 0, 1),
        _insn(_JA, 3),  # to the x86-64 block, right after this head
        _insn(_JEQ, AUDIT_ARCH_I386, 0, 1),
        _insn(_JA, 1 + len(x86_64) // 8),  # over the head's last instruction and the x86-64 block
        _insn(_RET, _ERRNO | errno.ENOSYS),
    ])
    return head + x86_64 + i386

"""The default seccomp program, run by a small classic-BPF interpreter over ``struct seccomp_data``
for each ABI of an x86-64 kernel (x86-64, x32, i386) and an unknown one."""

from __future__ import annotations

import errno
import platform
import struct

import pytest

from stackfile.runtime.linux.seccomp import (
    ADMIN_ONLY,
    ALWAYS_DENIED,
    AUDIT_ARCH_I386,
    AUDIT_ARCH_X86_64,
    X32_BIT,
    default_filter,
)

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the filter exists for x86-64 only")

ALLOW = 0x7FFF0000
EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17
X86_64, X32, I386 = "x86_64", "x32", "i386"


def run(prog: bytes, abi: str, nr: int, arg0: int = 0, arch: int = 0) -> int:
    """The action the program returns for the call ``nr(arg0)`` made through ``abi`` (or ``arch``)."""
    arch = arch or (AUDIT_ARCH_I386 if abi == I386 else AUDIT_ARCH_X86_64)
    data = struct.pack("<IIQ6Q", nr | (X32_BIT if abi == X32 else 0), arch, 0, arg0, 0, 0, 0, 0, 0)
    insns = [struct.unpack("HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    assert len(insns) < 4096
    a, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:  # and #k
            a &= k
        elif code == 0x05:  # ja
            pc += k
        elif code in (0x15, 0x35, 0x45):  # jeq, jge, jset
            hit = a == k if code == 0x15 else a >= k if code == 0x35 else bool(a & k)
            pc += jt if hit else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
        pc += 1


def number(nrs: tuple[int | None, int | None], abi: str) -> int | None:
    return nrs[1] if abi == I386 else nrs[0]


@pytest.mark.parametrize("abi", [X86_64, X32, I386])
def test_denied_calls_on_every_abi(abi: str) -> None:
    prog, admin = default_filter(admin=False), default_filter(admin=True)
    assert prog is not None and admin is not None
    for name, nrs in {**ALWAYS_DENIED, **ADMIN_ONLY}.items():
        nr = number(nrs, abi)
        if nr is not None:
            assert run(prog, abi, nr) == EPERM, name
            assert run(admin, abi, nr) == (EPERM if name in ALWAYS_DENIED else ALLOW), name
    clone, getpid, read = (120, 20, 3) if abi == I386 else (56, 39, 0)
    assert run(prog, abi, 435) == ENOSYS  # clone3, as Docker: libcs fall back to clone
    assert run(admin, abi, 435) == ALLOW
    assert run(prog, abi, clone, SIGCHLD) == ALLOW  # fork
    assert run(prog, abi, clone, CLONE_NEWUSER | SIGCHLD) == EPERM
    assert run(prog, abi, clone, CLONE_NEWNS) == EPERM
    assert run(admin, abi, clone, CLONE_NEWNS) == ALLOW
    assert run(prog, abi, getpid) == ALLOW and run(prog, abi, read) == ALLOW


def test_listed_calls_are_covered_on_both_tables() -> None:
    """The issue's list: each is denied on x86-64 and, where i386 has it, on i386."""
    prog = default_filter(admin=False)
    assert prog is not None
    x86_64 = {"keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
              "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "open_by_handle_at": 304,
              "init_module": 175, "finit_module": 313, "delete_module": 176, "unshare": 272, "mount": 165,
              "umount2": 166, "pivot_root": 155, "fsopen": 430, "open_tree": 428, "move_mount": 429}
    i386 = {"keyctl": 288, "add_key": 286, "request_key": 287, "bpf": 357, "perf_event_open": 336,
            "userfaultfd": 374, "kexec_load": 283, "open_by_handle_at": 342, "init_module": 128,
            "finit_module": 350, "delete_module": 129, "unshare": 310, "mount": 21, "umount": 22,
            "umount2": 52, "pivot_root": 217, "fsopen": 430, "open_tree": 428, "move_mount": 429}
    for name, nr in x86_64.items():
        assert run(prog, X86_64, nr) == EPERM, name
        assert run(prog, X32, nr) == EPERM, name
    assert run(prog, X32, 528) == EPERM  # x32's own kexec_load
    for name, nr in i386.items():
        assert run(prog, I386, nr) == EPERM, name


def test_unknown_abi_is_refused() -> None:
    prog = default_filter(admin=False)
    assert prog is not None
    assert run(prog, X86_64, 39, arch=0xC00000B7) == ENOSYS  # AUDIT_ARCH_AARCH64: not an ABI of this kernel

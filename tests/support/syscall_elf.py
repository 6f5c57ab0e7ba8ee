"""Tiny static programs that make one system call and exit with its errno, for seccomp tests.

No compiler is needed: each program is a few hand-assembled instructions in a one-segment ELF.
``x86_64``: ``mov $nr,%eax; mov $arg0,%edi; xor %esi,%esi; xor %edx,%edx; xor %r10,%r10;
xor %r8,%r8; xor %r9,%r9; syscall; neg %eax; mov %eax,%edi; mov $231,%eax; syscall``
(exit_group). An x32 call is the same with ``__X32_SYSCALL_BIT`` in ``nr``.
``i386``: ``mov $nr,%eax; mov $arg0,%ebx; xor %ecx,%ecx; xor %edx,%edx; xor %esi,%esi;
xor %edi,%edi; xor %ebp,%ebp; int $0x80; neg %eax; mov %eax,%ebx; mov $252,%eax; int $0x80``.
The exit status is ``-result & 0xff``: the errno of a failed call, 0 for a call that returned 0.
"""

from __future__ import annotations

import struct

__all__ = ["i386", "x86_64"]

_BASE = 0x08048000


def x86_64(nr: int, arg0: int = 0) -> bytes:
    """An x86-64 ELF that calls ``syscall(nr, arg0, 0, 0, 0, 0, 0)`` and exits with its errno."""
    code = (b"\xb8" + struct.pack("<I", nr) + b"\xbf" + struct.pack("<I", arg0)
            + bytes.fromhex("31f631d24d31d24d31c04d31c90f05f7d889c7b8e70000000f05"))
    headers = 64 + 56
    size = headers + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, _BASE + headers, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)
    return header + phdr + code


def i386(nr: int, arg0: int = 0) -> bytes:
    """An i386 ELF that calls ``int $0x80`` with ``nr`` and ``arg0`` and exits with its errno."""
    code = (b"\xb8" + struct.pack("<I", nr) + b"\xbb" + struct.pack("<I", arg0)
            + bytes.fromhex("31c931d231f631ff31edcd80f7d889c3b8fc000000cd80"))
    headers = 52 + 32
    size = headers + len(code)
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, _BASE + headers, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    phdr = struct.pack("<IIIIIIII", 1, 0, _BASE, _BASE, size, size, 5, 0x1000)
    return header + phdr + code

"""The last step into a container: exec through a sealed in-memory program, never as the host's Python.

Every process that enters a container (PID 1, ``exec``, health probes, build steps, watch actions)
is the host's interpreter until it execs. A container program that makes that exec run
``/proc/self/exe`` (an image entrypoint, or a ``#!/proc/self/exe`` script) would run the host
interpreter inside the container, dumpable, and container root could then open
``/proc/PID/exe`` and overwrite the host's binary once it exits (runc's CVE-2019-5736). So the
entering process execs, as its very last step, a 242-byte static program from a sealed memfd;
that program execs the container's command. ``/proc/self/exe`` is then the sealed memfd, which
nobody can write. The entering process is also non-dumpable from before it joins any namespace
until that exec (see :func:`stackfile.runtime.linux.process.non_dumpable`), so
``/proc/PID/exe`` of the interpreter cannot be opened from inside in between.

The program (x86-64, hand-assembled; source below, ``as --64`` then ``objcopy -O binary``):
``argv`` is ``[name, path1, ..., pathN, "", arg0, ..., argK]`` and fd 3 is the report pipe.
It sets FD_CLOEXEC on fd 3, tries ``execve(path_i, [arg0..argK], envp)`` for each path (the
PATH search was done by the caller, as ``os.execvpe`` would), and if all fail writes
``x<errno, 3 digits>\\n`` to fd 3 (the first errno other than ENOENT/ENOTDIR, else the last)
and exits 127 (not found) or 126. Run without the ``""`` separator (as a script interpreter)
it exits 126 at once::

    _start: mov (%rsp),%rcx; lea 8(%rsp),%r12; lea 16(%rsp,%rcx,8),%r14     # argc, argv, envp
            mov $72,%eax; mov $3,%edi; mov $2,%esi; mov $1,%edx; syscall     # fcntl(3, F_SETFD, 1)
            lea 8(%r12),%rbx; mov %rbx,%r13                                  # first path
    find:   mov (%r13),%rax; test %rax,%rax; jz bad                          # find the "" separator
            cmpb $0,(%rax); je found; add $8,%r13; jmp find
    found:  lea 8(%r13),%r15; xor %ebp,%ebp; mov $2,%r12d                    # argv; saved; last
    next:   cmp %r13,%rbx; je failed
            mov $59,%eax; mov (%rbx),%rdi; mov %r15,%rsi; mov %r14,%rdx; syscall   # execve
            neg %eax; mov %eax,%r12d; add $8,%rbx
            cmp $2,%eax; je next; cmp $20,%eax; je next                      # ENOENT, ENOTDIR
            test %ebp,%ebp; jnz next; mov %eax,%ebp; jmp next                # keep the first other
    failed: test %ebp,%ebp; cmovz %r12d,%ebp; sub $8,%rsp; movb $'x',(%rsp)
            mov %ebp,%eax; xor %edx,%edx; mov $100,%ecx; div %ecx; add $'0',%al; mov %al,1(%rsp)
            mov %edx,%eax; xor %edx,%edx; mov $10,%ecx; div %ecx; add $'0',%al; mov %al,2(%rsp)
            add $'0',%dl; mov %dl,3(%rsp); movb $10,4(%rsp)
            mov $1,%eax; mov $3,%edi; mov %rsp,%rsi; mov $5,%edx; syscall    # write(3, buf, 5)
            mov $126,%edi; cmp $2,%ebp; je notfound; cmp $20,%ebp; jne quit
    notfound: mov $127,%edi
    quit:   mov $231,%eax; syscall                                           # exit_group
    bad:    mov $126,%edi; jmp quit

On other machines, or where memfds may not be executed (``vm.memfd_noexec=2``), :func:`available`
is False and the caller execs directly (still non-dumpable until then).
"""

from __future__ import annotations

import fcntl
import os
import struct

__all__ = ["REPORT_FD", "available", "exec_via_entry"]

REPORT_FD = 3

_CODE = bytes.fromhex(
    "488b0c244c8d6424084c8d74cc10b848000000bf03000000be02000000ba010000000f05498d5c24084989dd498b4500"
    "4885c00f84b200000080380074064983c508ebe84d8d7d0831ed41bc020000004c39eb742bb83b000000488b3b4c89fe"
    "4c89f20f05f7d84189c44883c30883f80274dd83f81474d885ed75d489c5ebd085ed410f44ec4883ec08c604247889e8"
    "31d2b964000000f7f104308844240189d031d2b90a000000f7f104308844240280c23088542403c64424040ab8010000"
    "00bf030000004889e6ba050000000f05bf7e00000083fd02740583fd147505bf7f000000b8e70000000f05bf7e000000"
    "ebf2"
)
_BASE = 0x400000
_HEADERS = 64 + 56  # ELF64 header + one program header


def _elf(code: bytes) -> bytes:
    """A static ELF64 executable: one read+execute PT_LOAD segment holding headers and ``code``."""
    size = _HEADERS + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, version 1, SysV
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, _BASE + _HEADERS, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)  # PT_LOAD, R|X
    return header + phdr + code


_PROGRAM = _elf(_CODE)
_MFD_CLOEXEC, _MFD_ALLOW_SEALING, _MFD_EXEC = 1, 2, 0x10
_SEALS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10  # F_SEAL_SEAL | SHRINK | GROW | WRITE | FUTURE_WRITE


def available() -> bool:
    """True where the entry program runs (x86-64)."""
    return os.uname().machine == "x86_64"


def _sealed_program() -> int:
    try:
        fd = os.memfd_create("stackfile-entry", _MFD_CLOEXEC | _MFD_ALLOW_SEALING | _MFD_EXEC)
    except OSError:  # a kernel before 6.3 does not know MFD_EXEC (and executes memfds anyway)
        fd = os.memfd_create("stackfile-entry", _MFD_CLOEXEC | _MFD_ALLOW_SEALING)
    try:
        os.write(fd, _PROGRAM)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def exec_via_entry(paths: list[str], argv: list[str], env: dict[str, str]) -> None:
    """Exec the sealed entry program, which execs the first of ``paths`` that runs, with ``argv``.

    Returns only if the entry program itself could not be executed (the caller then execs
    directly); a failure to exec the command is reported by the program on :data:`REPORT_FD`.
    """
    try:
        fd = _sealed_program()
    except OSError:
        return
    try:
        os.execve(fd, ["stackfile-entry", *paths, "", *argv], env)
    except OSError:
        os.close(fd)

"""Build a busybox root filesystem layer directory from the host's static busybox.

Tests of the runtime, network and watch packages use this before (and independently of) the
image store. Debian's ``busybox-static`` puts the binary at /bin/busybox; .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def host_busybox() -> str | None:
    """Path of a statically linked busybox on the host, or None."""
    for cand in BUSYBOX_CANDIDATES:
        if os.path.isfile(cand):
            with open(cand, "rb") as fh:
                head = fh.read(4096)
            if b"ld-linux" not in head and b"ld-musl" not in head:  # no PT_INTERP: static
                return cand
    return None


def make_busybox_layer(dest: Path) -> Path:
    """Populate ``dest`` with busybox, its applet symlinks and a minimal /etc. Returns ``dest``."""
    bb = host_busybox()
    if bb is None:
        raise RuntimeError("no static busybox on the host (apt-get install busybox-static)")
    (dest / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(bb, dest / "bin" / "busybox")
    applets = subprocess.run([bb, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        link = dest / applet
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            link.symlink_to("/bin/busybox")
    for d in ("proc", "sys", "dev", "etc", "root", "var/www", "run", "home/app"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    (dest / "tmp").mkdir(exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    (dest / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/:/bin/false\n"
    )
    (dest / "etc" / "group").write_text("root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n")
    (dest / "var" / "www" / "index.html").write_text("hello from busybox\n")
    os.chown(dest / "home" / "app", 1000, 1000)
    return dest

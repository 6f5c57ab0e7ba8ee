"""A clean virtual environment for timing the ``stackfile`` console script.

Every Python process started through this machine's base interpreter runs the sandbox's
``_sandboxing_egress_ca.pth`` (it imports certifi to patch a CA bundle): about 23 ms of the 33 ms an
empty ``python -c pass`` costs here, against about 9 ms in a virtual environment. A user who installs
stackfile into a venv (what pip itself recommends) does not pay it, so the benchmarks time the console
script both ways and say which is which.

:func:`venv_console_script` makes (once, cached under ``/var/tmp``) a venv without system
site-packages whose one ``.pth`` file lists this checkout and the base interpreter's site-packages as
plain paths: stackfile and its dependencies import from there, but none of the base's ``.pth`` hooks
run. Its ``stackfile`` script is the same wrapper pip writes for ``[project.scripts]``. Offline, ~2 s.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
WRAPPER = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from stackfile.cli.project_fast import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def venv_console_script(base_python: str = sys.executable) -> str:
    """The ``stackfile`` console script of a clean venv over ``base_python`` (made if missing)."""
    purelib = subprocess.run([base_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    key = hashlib.sha256(f"{base_python}\0{purelib}\0{HERE}".encode()).hexdigest()[:12]
    venv = Path("/var/tmp") / f"stackfile-bench-venv-{key}"
    script = venv / "bin" / "stackfile"
    if not script.exists():
        subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        Path(site, "stackfile-bench.pth").write_text(f"{HERE}\n{purelib}\n")
        tmp = script.with_suffix(".tmp")
        tmp.write_text(WRAPPER.format(python=python))
        tmp.chmod(0o755)
        tmp.rename(script)
    return str(script)


def script_python(script: str) -> str:
    """The interpreter named on a script's ``#!`` line."""
    with open(script, "rb") as fh:
        first = fh.readline().decode().strip()
    return first[2:].split()[0] if first.startswith("#!") else sys.executable


if __name__ == "__main__":
    print(venv_console_script())

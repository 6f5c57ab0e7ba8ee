"""``stackfile completion bash|zsh|fish`` prints click's scripts; the bash one, sourced in a real
bash, completes commands and the service names of the project the command line selects."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def sf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "stackfile", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60, check=True)


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _stackfile_completion stackfile"), ("zsh", "#compdef stackfile"),
    ("fish", "complete --no-files --command stackfile")])
def test_completion_prints_the_script_for_each_shell(tmp_path: Path, shell: str, marker: str) -> None:
    assert marker in sf("completion", shell, cwd=tmp_path).stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_and_service_names(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  web: {image: busybox}\n  worker: {image: busybox}\n"
                                         "  db: {image: busybox}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "stackfile"  # what the script runs: this checkout's stackfile
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m stackfile \"$@\"\n")
    wrapper.chmod(0o755)
    script = sf("completion", "bash", cwd=tmp_path).stdout

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        prog = (f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}\n'
                '_stackfile_completion stackfile\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
        out = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, cwd=tmp_path, env=env,
                             timeout=60, check=True).stdout
        return sorted(w for w in out.splitlines() if w)

    assert complete("stackfile", "lo") == ["logs"]
    assert complete("stackfile", "-f", "stack.yaml", "logs", "w") == ["web", "worker"]
    assert complete("stackfile", "-f", "stack.yaml", "exec", "") == ["db", "web", "worker"]
    assert complete("stackfile", "-f", "nosuch.yaml", "up", "") == []  # no file: nothing, no error

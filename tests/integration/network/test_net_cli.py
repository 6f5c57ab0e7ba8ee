"""``stackfile network`` and ``stackfile volume`` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import needs_root

pytestmark = needs_root


def sf(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60)


def test_network_and_volume_commands(store_root: Path) -> None:
    try:
        assert sf(store_root, "network", "create", "cli_net", "--internal", "-l", "a=b").stdout == "cli_net\n"
        rows = json.loads(sf(store_root, "network", "ls", "--format", "json").stdout)
        assert [(r["Name"], r["Internal"], r["Labels"]) for r in rows] == [("cli_net", True, {"a": "b"})]
        again = sf(store_root, "network", "create", "cli_net")
        assert again.returncode == 16 and "already exists" in again.stderr
        assert sf(store_root, "volume", "create", "cli_vol").stdout == "cli_vol\n"
        vols = json.loads(sf(store_root, "volume", "ls", "--format", "json").stdout)
        assert [v["Name"] for v in vols] == ["cli_vol"] and Path(vols[0]["Mountpoint"]).is_dir()
        missing = sf(store_root, "volume", "rm", "cli_vol", "nope")
        assert (missing.returncode, missing.stdout) == (14, "cli_vol\n")
        assert "'nope' not found" in missing.stderr
        assert sf(store_root, "network", "prune").stdout == "cli_net\n"
        assert json.loads(sf(store_root, "network", "ls", "--format", "json").stdout) == []
    finally:
        sf(store_root, "network", "prune")

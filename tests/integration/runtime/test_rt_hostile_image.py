"""Mount targets, /etc files, the working directory and volume subpaths in an image full of links
that aim at the host: every one is resolved inside the container, nothing on the host is made,
mounted on or read."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.runtime.api import Mount, Process
from stackfile.runtime.linux.errors import StartFailed
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env, captured

pytestmark = needs_root


def _snapshot(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.lstat().st_mtime_ns, p.lstat().st_size) for p in sorted(path.rglob("*"))}


def test_links_in_the_image_never_lead_a_mount_or_a_file_to_the_host(env: Env, tmp_path: Path) -> None:
    outside, layer, data, volume = (tmp_path / n for n in ("outside", "hostile", "data", "volume"))
    for d in (outside / "etc", layer / "etc", data, volume / "sub"):
        d.mkdir(parents=True)
    (outside / "etc" / "hostname").write_text("host file\n")
    (volume / "sub" / "in-volume").write_text("volume\n")
    (volume / "escape").symlink_to(str(outside))  # a container using the volume left this
    (layer / "etc" / "hostname").symlink_to(str(outside / "etc" / "hostname"))  # absolute, exists on host
    (layer / "etc" / "resolv.conf").symlink_to(f"../../../../../../{outside}/made/resolv.conf")  # dangling
    (layer / "data").symlink_to(f"{outside}/data")
    (layer / "work").symlink_to(f"{outside}/work")
    (layer / "secret").symlink_to(f"/proc/self/root{outside}/etc/hostname")  # a magic link
    before = _snapshot(outside)
    script = ("cat /etc/hostname; touch /data/from-box; ls /data; ls /vsub; pwd; "
              "ls /escape-target 2>&1 | head -1; cat /secret 2>/dev/null || echo no-secret")
    mounts = (Mount("bind", "/data", str(data)),
              Mount("volume", "/vsub", str(volume), subpath="sub"),
              Mount("volume", "/escape-target", str(volume), subpath="escape"),
              Mount("tmpfs", "/secret/x"))
    spec = env.spec(script, auto_remove=True, hostname="box", mounts=mounts[:2],
                    process=Process(argv=("sh", "-c", script), cwd="/work"))
    spec = spec._replace(layers=(str(layer), env.layer))
    with captured() as out:
        code = env.rt.run_attached(spec)
    assert code == 0, out
    lines = out[0].split("\n")
    assert lines[0] == "box"  # our hostname file, bound where the link leads inside the container
    assert lines[1:5] == ["from-box", "in-volume", f"{outside}/work",
                          "ls: /escape-target: No such file or directory"]
    assert lines[5] == "box"  # the container following its own magic link stays in the container
    assert (data / "from-box").exists()
    assert _snapshot(outside) == before and not (outside / "made").exists()
    # a subpath that is a link out of the volume resolves inside it (here to nothing), a mount
    # target through a magic link is refused: neither container starts
    for bad, message in zip(mounts[2:], ("subpath escape", "symbolic links"), strict=True):
        with captured(), pytest.raises(StartFailed, match=message):
            env.rt.run_attached(env.spec("true", auto_remove=True, mounts=(bad,))._replace(
                layers=(str(layer), env.layer)))
    assert _snapshot(outside) == before

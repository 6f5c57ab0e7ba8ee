"""drop_stubs on a RUN step's upper dir: only the upper's own empty stub files go, never a host file."""

from __future__ import annotations

from pathlib import Path

from stackfile.build.rootfs import LayeredView
from stackfile.build.run import drop_stubs


def test_stubs_are_dropped_from_the_upper_dir_only(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    for name in ("hosts", "resolv.conf"):
        (upper / "etc" / name).write_text("")
    (upper / "etc" / "hostname").write_text("kept\n")
    drop_stubs(upper, LayeredView(()))
    assert sorted(p.name for p in (upper / "etc").iterdir()) == ["hostname"]


def test_an_etc_link_left_by_the_step_is_not_followed_to_the_host(tmp_path: Path) -> None:
    upper, outside = tmp_path / "upper", tmp_path / "outside"
    upper.mkdir()
    outside.mkdir()
    for name in ("hosts", "resolv.conf", "hostname"):
        (outside / name).write_text("")  # empty host files the old path-based unlink would remove
    (upper / "etc").symlink_to(str(outside))  # RUN rm -rf /etc && ln -s /host/dir /etc
    drop_stubs(upper, LayeredView(()))
    assert sorted(p.name for p in outside.iterdir()) == ["hostname", "hosts", "resolv.conf"]
    assert (upper / "etc").is_symlink()

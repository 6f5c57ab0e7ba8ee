"""plan_batch and merge: which service does what for a batch of changes."""

from __future__ import annotations

from pathlib import Path

from stackfile.watch.actions import merge, plan_batch
from stackfile.watch.observer import Change
from stackfile.watch.rules import Action, WatchRule


def rules(root: Path) -> list[WatchRule]:
    return [
        WatchRule("web", Action.SYNC, root / "src", "/app/src", index=0),
        WatchRule("web", Action.REBUILD, root / "requirements.txt", index=1),
        WatchRule("worker", Action.SYNC_RESTART, root / "src", "/srv", index=0),
        WatchRule("proxy", Action.RESTART, root / "proxy.conf", index=0),
    ]


def ch(path: Path, kind: str = "modified", is_dir: bool = False) -> Change:
    return Change(str(path), kind, is_dir, 1.0)


def test_one_change_gives_one_plan_per_service_with_its_cause(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("x")
    plans = plan_batch([ch(tmp_path / "src" / "app.py")], rules(tmp_path))
    assert [(p.service, p.action, p.restart, p.rebuild) for p in plans] == [
        ("web", "sync", False, False), ("worker", "sync+restart", True, False)]
    assert [op.container for op in plans[0].syncs] == ["/app/src/app.py"]
    assert plans[0].files == (str(tmp_path / "src" / "app.py"),)
    assert [r.name for r in plans[1].rules] == ["worker.develop.watch[0]"]


def test_editor_atomic_save_is_one_sync_of_the_saved_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("new")  # the temp file was renamed over app.py
    batch = [ch(src / ".app.py.tmp1234", "created"), ch(src / ".app.py.tmp1234"),
             ch(src / ".app.py.tmp1234", "deleted"), ch(src / "app.py", "created")]
    (web,) = [p for p in plan_batch(batch, rules(tmp_path)) if p.service == "web"]
    assert [(op.container, op.host) for op in web.syncs] == [("/app/src/app.py", str(src / "app.py"))]


def test_rebuild_wins_and_ignored_paths_plan_nothing(tmp_path: Path) -> None:
    (tmp_path / "src" / ".git").mkdir(parents=True)
    (tmp_path / "src" / ".git" / "index").write_text("x")
    (tmp_path / "src" / "a.py").write_text("x")
    (tmp_path / "requirements.txt").write_text("flask\n")
    assert plan_batch([ch(tmp_path / "src" / ".git" / "index"), ch(tmp_path / "src" / "x.swp", "deleted")],
                      rules(tmp_path)) == []
    plans = plan_batch([ch(tmp_path / "requirements.txt"), ch(tmp_path / "src" / "a.py")], rules(tmp_path))
    web = next(p for p in plans if p.service == "web")
    assert (web.action, web.rebuild) == ("rebuild", True)


def test_a_directory_op_covers_its_entries_and_merge_unions(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "m.py").write_text("x")
    batch = [ch(tmp_path / "src" / "pkg", "created", True), ch(tmp_path / "src" / "pkg" / "m.py", "created"),
             ch(tmp_path / "src" / "gone.py", "deleted"), ch(tmp_path / "src" / "gone", "deleted", True)]
    (web,) = [p for p in plan_batch(batch, rules(tmp_path)) if p.service == "web"]
    assert [op.container for op in web.syncs] == ["/app/src/gone", "/app/src/gone.py", "/app/src/pkg"]
    (proxy,) = plan_batch([ch(tmp_path / "proxy.conf", "deleted")], rules(tmp_path))
    both = merge(web, proxy.__class__(service="web", restart=True, rules=proxy.rules, last_change=2.0))
    assert both.restart and len(both.syncs) == 3 and both.last_change == 2.0

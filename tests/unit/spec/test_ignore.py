"""Ignore rules: moby/patternmatcher's own match table, exceptions, file parsing, directory skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.ignore import IgnoreRules, clean_pattern, read_patterns

# (pattern, path, matches) — moby/patternmatcher TestMatches, evaluated with MatchesOrParentMatches
MOBY_CASES = [
    ("**", "file", True), ("**", "file/", True), ("**/", "file", True), ("**/", "file/", True),
    ("**", "dir/file", True), ("**/", "dir/file", True), ("**", "dir/file/", True),
    ("**/**", "dir/file", True), ("**/**", "dir/file/", True), ("dir/**", "dir/file", True),
    ("dir/**", "dir/file/", True), ("dir/**", "dir/dir2/file", True), ("dir/**", "dir/dir2/file/", True),
    ("**/dir", "dir", True), ("**/dir", "dir/file", True), ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/*", "dir/dir2/file/", True), ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file/", True), ("**file", "file", True), ("**file", "dir/file", True),
    ("**/file", "dir/file", True), ("**file", "dir/dir/file", True), ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True), ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True), ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True), ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False), ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True), ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True), ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False), ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True), ("a[b-d]e", "ae", False), ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False), ("a[^b-d]e", "aze", True), (".*", ".foo", True), (".*", "foo", False),
    ("abc.def", "abcdef", False), ("abc.def", "abc.def", True), ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True), ("abc?def", "abcdef", False), ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True), ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True), ("abc/**", "abc", False), ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True), ("**/.foo", ".foo", True), ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True), ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    # parent directories match: a pattern naming a dir ignores everything inside it
    ("node_modules", "node_modules/a/b.js", True), ("*.pyc", "pkg/x.pyc", False),
    ("*/*.pyc", "pkg/x.pyc", True), ("/build", "build/out", True), ("./build", "build", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), MOBY_CASES)
def test_moby_match_table(pattern: str, path: str, expected: bool) -> None:
    assert IgnoreRules.from_patterns([pattern]).ignored(path) is expected


def test_exceptions_last_match_wins() -> None:
    rules = IgnoreRules.from_patterns(["*.md", "!README.md", "README*.md"])
    assert rules.ignored("CHANGES.md")
    assert rules.ignored("README.md")  # re-excluded by the last pattern
    rules = IgnoreRules.from_patterns(["*.md", "!README.md"])
    assert not rules.ignored("README.md")
    assert rules.ignored("a.md")


def test_exception_inside_ignored_dir() -> None:
    rules = IgnoreRules.from_patterns(["docs", "!docs/keep.txt"])
    assert rules.ignored("docs/a.txt")
    assert not rules.ignored("docs/keep.txt")
    assert rules.ignored("docs", True)
    assert not rules.can_skip_dir("docs")  # docs/keep.txt must still be found


def test_can_skip_dir() -> None:
    rules = IgnoreRules.from_patterns(["node_modules", ".git", "build", "!build/keep/**", "!**/*.keep"])
    assert not rules.can_skip_dir("build")
    assert not rules.can_skip_dir("node_modules")  # **/*.keep could match inside
    rules = IgnoreRules.from_patterns(["node_modules", ".git", "build", "!build/keep", "!src/x"])
    assert rules.can_skip_dir("node_modules")
    assert rules.can_skip_dir(".git")
    assert not rules.can_skip_dir("build")
    assert not rules.can_skip_dir("src")  # not ignored at all
    rules = IgnoreRules.from_patterns(["a", "!a/*/c"])
    assert not rules.can_skip_dir("a/b")
    assert rules.can_skip_dir("a/b/c/d") is False  # a/b/c is re-included
    rules = IgnoreRules.from_patterns(["a", "!a/x*/c"])
    assert rules.can_skip_dir("a/y")
    assert not rules.can_skip_dir("a/xy")


def test_read_patterns_cleans_like_docker() -> None:
    text = "\ufeff# comment\n\n  *.pyc  \n/abs/path\n./rel/../other\n! keep.txt\n  # not a comment?\ndir/\n"
    assert read_patterns(text) == ["*.pyc", "abs/path", "other", "!keep.txt", "# not a comment?", "dir"]
    assert clean_pattern("#x") == "#x"  # comments are a file-level notion
    assert IgnoreRules.from_patterns(read_patterns(text)).patterns == tuple(read_patterns(text))
    assert clean_pattern("   ") is None
    assert clean_pattern("/") == "/"


def test_from_file_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*.log\n!important.log\n")
    rules = IgnoreRules.from_file(tmp_path / ".dockerignore")
    assert rules.patterns == ("*.log", "!important.log")
    assert rules.ignored("x.log") and not rules.ignored("important.log")
    assert not IgnoreRules.from_file(tmp_path / "nope")
    assert not IgnoreRules.from_file(tmp_path / "nope").ignored("anything")


def test_for_context_prefers_dockerfile_specific(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("a\n")
    assert IgnoreRules.for_context(tmp_path).patterns == ("a",)
    (tmp_path / ".stackignore").write_text("b\n")
    assert IgnoreRules.for_context(tmp_path).patterns == ("b",)
    (tmp_path / "app.Dockerfile.dockerignore").write_text("c\n")
    assert IgnoreRules.for_context(tmp_path, "app.Dockerfile").patterns == ("c",)


@pytest.mark.parametrize("bad", [["!"], ["a[b"], ["[z-a]"]])
def test_bad_patterns_are_invalid_spec(bad: list[str]) -> None:
    with pytest.raises(InvalidSpec):
        IgnoreRules.from_patterns(bad)


def test_combined_quick_reject_agrees_with_each_pattern() -> None:
    patterns = sorted({p for p, _, _ in MOBY_CASES if p not in ("**", "**/")})
    paths = sorted({path.rstrip("/") for _, path, _ in MOBY_CASES} | {"x/y/z", "a", "dir"})
    for pattern in patterns:
        rules = IgnoreRules.from_patterns([pattern])
        for path in paths:
            compiled = rules._compiled[0]
            assert (rules._any.match(path) is not None) == compiled.match(path), (pattern, path)


def test_many_paths_share_directory_cache() -> None:
    rules = IgnoreRules.from_patterns(["src/gen", "!src/gen/keep.py", "**/*.tmp"])
    assert [rules.ignored(f"src/gen/sub/f{i}.py") for i in range(3)] == [True] * 3
    assert not rules.ignored("src/gen/keep.py")
    assert rules.ignored("src/a/b.tmp") and not rules.ignored("src/a/b.py")

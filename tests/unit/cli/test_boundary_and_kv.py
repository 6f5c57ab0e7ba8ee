"""cli/boundary.py and cli/kv.py directly: every error becomes a message and its exit code (never a
traceback), and KEY[=VALUE] flags take the environment's value as Docker does."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.cli.boundary import boundary
from stackfile.cli.kv import with_environment
from stackfile.errors import Conflict, InvalidSpec, Location, NotFound, PermissionDenied, Unavailable


def _raise(exc: BaseException):  # type: ignore[no-untyped-def]
    def action() -> int:
        raise exc
    return action


@pytest.mark.parametrize("exc", [InvalidSpec("bad"), NotFound("gone"), Conflict("taken"), Unavailable("no"),
                                 PermissionDenied("nope")])
def test_each_error_category_prints_its_message_and_exits_with_its_code(
        exc: Exception, capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary(_raise(exc), {}) == exc.exit_code  # type: ignore[attr-defined]
    assert capsys.readouterr() == ("", f"error: {exc}\n")
    assert len({InvalidSpec("x").exit_code, NotFound("x").exit_code, Conflict("x").exit_code,
                Unavailable("x").exit_code, PermissionDenied("x").exit_code}) == 5  # distinguishable


def test_the_action_s_own_code_passes_through(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary(lambda: 7, {}) == 7
    assert capsys.readouterr() == ("", "")


def test_interrupt_broken_pipe_and_bugs(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary(_raise(KeyboardInterrupt()), {}) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert boundary(_raise(BrokenPipeError()), {}) == 0  # `stackfile ... | head`: not an error
    assert capsys.readouterr() == ("", "")
    assert boundary(_raise(ZeroDivisionError("oops")), {}) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: oops\n") and "STACKFILE_DEBUG=1" in err
    with pytest.raises(ZeroDivisionError):  # and the traceback on request
        boundary(_raise(ZeroDivisionError("oops")), {"STACKFILE_DEBUG": "1"})


def test_an_error_with_only_a_key_path_gets_the_file_and_line(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from stackfile.spec.loader import LoadOptions, load_project

    (tmp_path / "stack.yaml").write_text("services:\n  web:\n    image: x\n    restart: always\n")
    load_project(LoadOptions(files=["stack.yaml"], project_name="p", cwd=str(tmp_path), environ={}))
    code = boundary(_raise(InvalidSpec("bad policy", location=Location(key_path="services.web.restart"),
                                       hint="one of: no, always")), {})
    assert code == InvalidSpec("x").exit_code
    where = f"{tmp_path / 'stack.yaml'}:4:5 (services.web.restart)"
    assert capsys.readouterr().err == f"error: {where}: bad policy\nhint: one of: no, always\n"


def test_with_environment() -> None:
    env = {"FROM_ENV": "e", "EMPTY": ""}
    assert with_environment(["A=1", "B=", "C=x=y", "FROM_ENV", "EMPTY", "MISSING"], env) == {
        "A": "1", "B": "", "C": "x=y", "FROM_ENV": "e", "EMPTY": ""}  # MISSING is left out, as Docker does
    assert with_environment(["A=1", "A=2"], {}) == {"A": "2"}  # the last one wins

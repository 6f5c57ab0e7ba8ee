"""Exhaustion during a build step maps to a clear, located error with a hint (issue 12.4)."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from stackfile.build.exhaustion import exhausted, step_failed_hint
from stackfile.errors import Location, Unavailable


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "disk is full (/store)"), (errno.EDQUOT, "quota"), (errno.EMFILE, "too many open files"),
    (errno.ENOMEM, "out of memory"), (errno.EAGAIN, "process or thread limit"),
])
def test_exhaustion_names_the_step_and_what_ran_out(code: int, words: str) -> None:
    where = Location("Dockerfile", 3)
    err = exhausted(OSError(code, "boom"), "RUN make", "/store", where)
    assert isinstance(err, Unavailable)
    assert err.message.startswith("RUN make: ") and words in err.message
    assert err.location == where and err.hint


def test_a_full_database_is_a_full_disk() -> None:
    err = exhausted(sqlite3.OperationalError("database or disk is full"), "COPY . /app", "/s", None)
    assert err is not None and "disk is full" in err.message


def test_other_errors_are_not_exhaustion() -> None:
    assert exhausted(OSError(errno.ENOENT, "x"), "RUN x", "/s", None) is None
    assert exhausted(ValueError("x"), "RUN x", "/s", None) is None


def test_hints_for_a_command_that_failed_by_itself() -> None:
    assert "free space" in (step_failed_hint(["dd: error writing '/big': No space left on device"]) or "")
    assert "out-of-memory" in (step_failed_hint([], 137) or "")
    assert step_failed_hint(["make: *** [all] Error 2"], 2) is None

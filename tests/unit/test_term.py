"""cli/term.py: click's echo/style behaviour without click."""

from __future__ import annotations

import io

import click

from stackfile.cli.term import echo, style


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_style_matches_click() -> None:
    for fg in ("green", "red", "yellow", "bright_cyan"):
        assert style("x", fg=fg) == click.style("x", fg=fg)
    assert style("x") == "x"


def test_echo_keeps_styles_on_a_terminal_and_strips_them_elsewhere() -> None:
    plain, tty = io.StringIO(), _Tty()
    echo(style("ok", fg="green") + " done", file=plain)
    echo(style("ok", fg="green") + " done", file=tty)
    assert plain.getvalue() == "ok done\n"
    assert tty.getvalue() == click.style("ok", fg="green") + " done\n"


def test_human_size_is_dockers_decimal_three_digit_form() -> None:
    from stackfile.cli.term import human_size

    assert [human_size(n) for n in (0, 999, 1000, 1985705, 4_260_000_000, 12_345_678_901_234)] == \
        ["0B", "999B", "1kB", "1.99MB", "4.26GB", "12.3TB"]

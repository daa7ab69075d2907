"""The compile notice: said on its own console (stderr in the CLI) when, and only when, numba
compiles; a cached or already compiled kernel says nothing."""

from __future__ import annotations

import io

import numba
from rich.console import Console

from delever.cli._compile import COMPILING_TEXT, compile_notice


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200), buffer


def test_a_compile_is_announced_and_counted() -> None:
    @numba.njit(cache=False)
    def add_one(x: float) -> float:
        return x + 1.0

    out, buffer = _console()
    stdout, stdout_buffer = _console()
    with compile_notice(out=out, live_console=stdout) as notice:
        assert add_one(1.0) == 2.0
    text = buffer.getvalue()
    assert notice.n_compiled == 1
    assert COMPILING_TEXT in text
    assert "compiled 1 kernel(s) in" in text
    assert stdout_buffer.getvalue() == ""  # never on the command's stdout


def test_a_compiled_kernel_says_nothing() -> None:
    @numba.njit(cache=False)
    def twice(x: float) -> float:
        return 2.0 * x

    twice(1.0)  # compiled before the block
    out, buffer = _console()
    with compile_notice(out=out) as notice:
        assert twice(2.0) == 4.0
    assert notice.n_compiled == 0
    assert buffer.getvalue() == ""


def test_the_listener_is_removed_after_the_block() -> None:
    out, buffer = _console()
    with compile_notice(out=out):
        pass

    @numba.njit(cache=False)
    def later(x: float) -> float:
        return x - 1.0

    later(1.0)
    assert buffer.getvalue() == ""

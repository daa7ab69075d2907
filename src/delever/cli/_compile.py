"""Say so on stderr while numba compiles kernels (a cold cache: the first run after an install).

numba compiles a kernel on its first call and keeps the machine code in its cache
(``cache=True``: ``__pycache__`` beside the source, or ``NUMBA_CACHE_DIR``); a later run
loads it. The first ``delever run`` after an install would otherwise sit silent for tens of
seconds. numba broadcasts a ``"numba:compile"`` event around each compile and only on a
cache miss (``numba.core.event``), so listening to it says exactly when the cache is cold.

On stderr only, never on stdout (``--json`` writes one object there): a spinner while the
kernels compile (a line instead while a progress bar is live on stdout, so the two do not
fight over the terminal), then one line with how many compiled and how long it took.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from numba.core import event
from numba.core.event import Listener
from rich.console import Console
from rich.status import Status

from delever.cli._common import console, err_console

COMPILING_TEXT = "compiling kernels (first run only; numba caches them for later runs)…"


@dataclass
class CompileNotice:
    """A numba event listener counting compiles and showing that they run."""

    out: Console
    live_console: Console  # where progress bars live (stdout)
    depth: int = 0
    n_compiled: int = 0
    started_s: float | None = None
    busy_s: float = 0.0
    _burst_start_s: float = 0.0
    _status: Status | None = field(default=None, repr=False)
    _said: bool = False

    def on_start(self, event: Any) -> None:
        self.depth += 1
        if self.depth > 1:  # a kernel's callee compiles inside its caller's compile
            return
        now = time.perf_counter()
        self._burst_start_s = now
        if self.started_s is None:
            self.started_s = now
        if getattr(self.live_console, "_live_stack", None):
            # a progress bar is live: one line, printed above it
            if not self._said:
                self.out.print(COMPILING_TEXT, markup=False, highlight=False)
                self._said = True
        elif self.out.is_terminal:
            self._status = self.out.status(COMPILING_TEXT, spinner="dots")
            self._status.start()
        elif not self._said:
            self.out.print(COMPILING_TEXT, markup=False, highlight=False)
            self._said = True

    def on_end(self, event: Any) -> None:
        self.depth = max(self.depth - 1, 0)
        self.n_compiled += 1
        if self.depth == 0:
            self.busy_s += time.perf_counter() - self._burst_start_s
            if self._status is not None:
                self._status.stop()
                self._status = None

    def close(self) -> None:
        """Stop a spinner left running and say what compiled."""
        if self._status is not None:
            self._status.stop()
            self._status = None
        if self.n_compiled:
            self.out.print(f"compiled {self.n_compiled} kernel(s) in {self.busy_s:.1f} s; "
                           "later runs load them from numba's cache.",
                           markup=False, highlight=False)


@contextmanager
def compile_notice(*, out: Console | None = None,
                   live_console: Console | None = None) -> Iterator[CompileNotice]:
    """Within the block, show numba compiles on ``out`` (default: stderr)."""
    notice = CompileNotice(out or err_console, live_console or console)
    listener = _Listener(notice)
    event.register("numba:compile", listener)  # type: ignore[no-untyped-call]
    try:
        yield notice
    finally:
        event.unregister("numba:compile", listener)  # type: ignore[no-untyped-call]
        notice.close()


class _Listener(Listener):
    """numba's Listener interface, forwarding to a :class:`CompileNotice`."""

    def __init__(self, notice: CompileNotice) -> None:
        self.notice = notice

    def on_start(self, event: Any) -> None:
        self.notice.on_start(event)

    def on_end(self, event: Any) -> None:
        self.notice.on_end(event)


__all__ = ["COMPILING_TEXT", "CompileNotice", "compile_notice"]

"""How many paths x steps this machine can hold: one limit for every Monte Carlo command.

A run holds arrays of ``n_paths x (n_steps + 1)`` float64 values (the price paths, and each
strategy's trajectories: mid, oracle, HF, sold, seized, debt, cash). :func:`check_paths_memory`
estimates their bytes before any work starts and refuses a run beyond
:func:`memory_limit_bytes` (half of this machine's physical memory), so ``--paths 10000000``
is one line naming the memory it needs, not a ``MemoryError`` minutes later.
"""

from __future__ import annotations

import os

from delever.errors import InvalidArgument

BYTES_PER_VALUE = 8  # float64
MEMORY_SHARE = 0.5  # of the physical memory: room for the OS, Python and temporaries
FALLBACK_LIMIT_BYTES = 8 * 2**30  # where the physical memory cannot be read
ARRAYS_PER_STRATEGY = 7  # UnwindResult's (n_paths, n_steps + 1) trajectories
PATHS_ARRAYS = 2  # `delever paths`: the draws and the prices
STRESS_ARRAYS = 2  # `delever stress`: the exogenous prices and the recorded ones
GIB = 2**30


def memory_limit_bytes() -> int:
    """Half of the physical memory (``os.sysconf``), or 8 GiB where it cannot be read."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_LIMIT_BYTES
    return int(total * MEMORY_SHARE) if total > 0 else FALLBACK_LIMIT_BYTES


def paths_memory_bytes(n_paths: int, n_steps: int, n_arrays: int) -> int:
    """``n_paths x (n_steps + 1) x n_arrays x 8`` bytes."""
    return int(n_paths) * (int(n_steps) + 1) * int(n_arrays) * BYTES_PER_VALUE


def strategy_arrays(n_strategies: int) -> int:
    """Arrays of a run of ``n_strategies``: the price paths and each one's trajectories."""
    return 1 + ARRAYS_PER_STRATEGY * int(n_strategies)


def check_paths_memory(n_paths: int, n_steps: int, n_arrays: int, *,
                       steps_label: str | None = None,
                       limit_bytes: int | None = None) -> int:
    """Refuse a run whose path arrays would not fit; the bytes it needs otherwise.

    Parameters
    ----------
    n_paths, n_steps : the run's paths and steps per path.
    n_arrays : how many ``(n_paths, n_steps + 1)`` float64 arrays it holds at once.
    steps_label : how the message names the steps (default ``"--steps=N"``; e.g.
        ``"720 hourly steps"`` where the command fixes them).
    limit_bytes : default :func:`memory_limit_bytes`.

    Raises
    ------
    InvalidArgument : "--paths=N x --steps=M needs about X GiB; the limit here is Y GiB ...".
    """
    need = paths_memory_bytes(n_paths, n_steps, n_arrays)
    limit = memory_limit_bytes() if limit_bytes is None else int(limit_bytes)
    if need > limit:
        steps = steps_label or f"--steps={n_steps:,}"
        raise InvalidArgument(
            f"--paths={n_paths:,} x {steps} needs about {need / GIB:,.1f} GiB ({n_arrays} "
            f"arrays of paths x steps, 8 bytes a value); the limit here is {limit / GIB:,.1f} "
            "GiB (half of this machine's memory); use fewer paths or steps.")
    return need


__all__ = [
    "ARRAYS_PER_STRATEGY",
    "PATHS_ARRAYS",
    "STRESS_ARRAYS",
    "check_paths_memory",
    "memory_limit_bytes",
    "paths_memory_bytes",
    "strategy_arrays",
]

"""The Dask options of the commands that scale out (``plan``, ``advise``).

A local cluster by default (one worker process per core, one thread each), ``--workers 0``
to evaluate in this process, ``--scheduler ADDRESS`` for a running cluster. The results are
the same, byte for byte, whichever is used (tasks draw their paths from spawned seeds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from delever.errors import InvalidArgument

if TYPE_CHECKING:
    from distributed import Client

MAX_WORKERS = 256

WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Worker processes of the local Dask cluster (default: one per core); "
                      "0 evaluates in this process (no cluster to start: a few seconds "
                      "saved on a small machine).")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786.")]


def default_workers() -> int:
    """One local worker per core."""
    return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None, scheduler: str | None) -> int | None:
    """The local workers to start (0: none), or None with a scheduler; checks the flags."""
    if scheduler is not None:
        if workers is not None:
            raise InvalidArgument(f"--workers={workers} applies to a local cluster only; "
                                  "leave it out with --scheduler.")
        return None
    if workers is None:
        return default_workers()
    if not 0 <= workers <= MAX_WORKERS:
        raise InvalidArgument(f"--workers={workers} must be a whole number in "
                              f"[0, {MAX_WORKERS}] (0: no Dask, in this process).")
    return workers


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Client | None]:
    """A client on ``scheduler``, or on a local cluster of ``workers`` processes (default one
    per core); None with ``workers == 0`` (evaluate here)."""
    from delever.sim.distributed import open_client

    n = resolve_workers(workers, scheduler)
    if scheduler is not None:
        with open_client(scheduler) as client:
            yield client
    elif n == 0:
        yield None
    else:
        with open_client(n_workers=n) as client:
            yield client


__all__ = ["SchedulerOpt", "WorkersOpt", "dask_client", "default_workers", "resolve_workers"]

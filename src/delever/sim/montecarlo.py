"""The one Monte Carlo service: how a seed becomes paths, chunk by chunk.

``seed`` -> ``np.random.SeedSequence(seed)`` -> one child per purpose (a :class:`Stream`,
child ``i`` of the root, in the fixed order below) -> fixed-size chunks of paths (chunk ``k``
of a stream is ``stream.spawn(n_chunks)[k]``, spawn key ``(i, k)``) -> each chunk draws its
paths from ``np.random.default_rng(chunk seed)``.

Why this shape:

- A chunk's draws depend only on (seed, stream, chunk index) and the chunk size, which is a
  constant (:data:`CHUNK_PATHS`), never the number of threads or Dask workers: a chunk run on
  any worker, or here, gives the same bytes, and the results are joined in chunk order.
- Child ``k`` of a ``SeedSequence`` depends on ``k`` only, not on how many were spawned, so
  asking for more paths leaves the first chunks' paths unchanged.
- One stream per purpose keeps the analyses independent of each other (adding a question
  does not move another's paths). New streams go at the END of :class:`Stream`.

:func:`map_chunks` runs a function over a stream's chunks (here, lazily, one chunk in memory
at a time; or on a Dask client) and yields the results in chunk order, so a caller folds
them into running estimators (:mod:`delever.sim.estimators`) and peak memory is bounded by a
chunk, not by the number of paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from delever.errors import check_whole

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")

CHUNK_PATHS = 500  # paths per chunk: a constant, so no result depends on threads or workers


class Stream(IntEnum):
    """The named random streams: child ``value`` of ``SeedSequence(seed)``. Append only.

    The first six are the advice's questions (their order predates this service, so the
    advice draws the same paths as before it).
    """

    MAX_POSITION = 0       # advise: concentration vs liquidity (GBM)
    BUFFER_MODEL = 1       # advise: margin buffer, model (GBM) paths
    BUFFER_BOOTSTRAP = 2   # advise: margin buffer, bootstrap paths
    AFTER_MODEL = 3        # advise: after the unwind, GBM paths
    AFTER_BOOTSTRAP = 4    # advise: after the unwind, bootstrap paths
    HEATMAP = 5            # advise: leverage x entry heat map
    SIMULATE = 6           # delever.simulate and simulate_distributed (the same paths)
    PLAN = 7               # the plan (its fresh paths: the same stream of seed + offset)
    STRESS = 8             # the book stress


N_STREAMS = len(Stream)


def chunk_sizes(n_paths: int, chunk_paths: int = CHUNK_PATHS) -> list[int]:
    """Paths per chunk: ``chunk_paths`` each, the last one the remainder."""
    n = check_whole("n_paths", n_paths)
    c = check_whole("chunk_paths", chunk_paths)
    return [min(c, n - start) for start in range(0, n, c)]


@dataclass(frozen=True)
class ChunkDraw:
    """One chunk: its index, the slice of the paths it covers, and its generator.

    Unpacks as ``index, paths, rng = draw``.
    """

    index: int
    paths: slice
    rng: np.random.Generator

    def __iter__(self) -> Iterator[Any]:
        return iter((self.index, self.paths, self.rng))


@dataclass(frozen=True)
class MonteCarlo:
    """``n_paths`` paths from ``seed``, cut into chunks of ``chunk_paths`` (picklable).

    ``chunk_paths`` defaults to :data:`CHUNK_PATHS`; a different value gives other draws
    (it is part of the experiment, like the seed), never a function of the workers.
    """

    seed: int
    n_paths: int
    chunk_paths: int = CHUNK_PATHS

    def __post_init__(self) -> None:
        check_whole("seed", self.seed, 0)
        chunk_sizes(self.n_paths, self.chunk_paths)  # validates both

    @property
    def sizes(self) -> list[int]:
        """Paths per chunk."""
        return chunk_sizes(self.n_paths, self.chunk_paths)

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return -(-int(self.n_paths) // int(self.chunk_paths))

    def stream_seed(self, stream: Stream) -> np.random.SeedSequence:
        """The stream's seed sequence: ``SeedSequence(seed).spawn(N_STREAMS)[stream]``."""
        return np.random.SeedSequence(int(self.seed)).spawn(N_STREAMS)[int(stream)]

    def chunk_seeds(self, stream: Stream) -> list[np.random.SeedSequence]:
        """Every chunk's seed sequence: ``stream_seed(stream).spawn(n_chunks)``."""
        return self.stream_seed(stream).spawn(self.n_chunks)

    def chunk_seed(self, stream: Stream, index: int) -> np.random.SeedSequence:
        """Chunk ``index``'s seed sequence (spawn key ``(stream, index)``), alone.

        Equal to ``chunk_seeds(stream)[index]``: what a worker given a chunk index uses.
        """
        if not 0 <= int(index) < self.n_chunks:
            raise IndexError(f"chunk {index} of {self.n_chunks}")
        return np.random.SeedSequence(int(self.seed), spawn_key=(int(stream), int(index)))

    def chunk_slice(self, index: int) -> slice:
        """The paths chunk ``index`` covers."""
        start = int(index) * int(self.chunk_paths)
        return slice(start, min(start + int(self.chunk_paths), int(self.n_paths)))

    def chunk(self, stream: Stream, index: int) -> ChunkDraw:
        """Chunk ``index`` of ``stream``, with a fresh generator."""
        return ChunkDraw(int(index), self.chunk_slice(index),
                         np.random.default_rng(self.chunk_seed(stream, index)))

    def chunks(self, stream: Stream) -> Iterator[ChunkDraw]:
        """Every chunk of ``stream``, in order."""
        for k, ss in enumerate(self.chunk_seeds(stream)):
            yield ChunkDraw(k, self.chunk_slice(k), np.random.default_rng(ss))


@dataclass(frozen=True)
class ChunkJob:
    """What a task gets: the service, the stream and one chunk index (picklable)."""

    mc: MonteCarlo
    stream: Stream
    index: int

    def draw(self) -> ChunkDraw:
        """The chunk (its slice and generator)."""
        return self.mc.chunk(self.stream, self.index)

    @property
    def n_paths(self) -> int:
        """Paths in the chunk."""
        s = self.mc.chunk_slice(self.index)
        return int(s.stop - s.start)


def jobs(mc: MonteCarlo, stream: Stream) -> list[ChunkJob]:
    """One job per chunk of ``stream``, in order."""
    return [ChunkJob(mc, stream, k) for k in range(mc.n_chunks)]


def map_chunks(
    func: Callable[..., T],
    items: Sequence[Any],
    *,
    shared: Any = None,
    client: Client | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[T]:
    """``func(item)`` (or ``func(item, shared)``) for each chunk's item, yielded in order.

    Without a client the items run here one after another, lazily: a caller that folds each
    result into running estimators holds one chunk's result at a time. With a client they run
    as Dask tasks (:func:`delever.sim.distributed.map_tasks`): the same results, the same
    order, the same bytes.
    """
    total = len(items)
    if client is None:
        for i, item in enumerate(items):
            yield func(item) if shared is None else func(item, shared)
            if progress is not None:
                progress(i + 1, total)
        return
    # imported here: distributed imports the simulation API, which uses this module
    from delever.sim.distributed import map_tasks

    yield from map_tasks(client, func, items, shared=shared, progress=progress)


__all__ = [
    "CHUNK_PATHS",
    "N_STREAMS",
    "ChunkDraw",
    "ChunkJob",
    "MonteCarlo",
    "Stream",
    "chunk_sizes",
    "jobs",
    "map_chunks",
]

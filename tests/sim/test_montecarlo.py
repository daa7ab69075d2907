"""The Monte Carlo service: seed -> named streams -> fixed chunks, the same bytes however run.

References are written out by hand from numpy's documented SeedSequence rules (child ``k`` of
a sequence has spawn key ``parent + (k,)``), not from the service's own helpers.
"""

from __future__ import annotations

import numpy as np
import pytest

from delever.errors import InvalidArgument
from delever.market.paths import gbm_paths
from delever.sim.estimators import RunningMoments
from delever.sim.montecarlo import (
    CHUNK_PATHS,
    N_STREAMS,
    ChunkJob,
    MonteCarlo,
    Stream,
    chunk_sizes,
    jobs,
    map_chunks,
)


def _normals(job: ChunkJob) -> np.ndarray:
    """A chunk's work: its paths' normals (module level, so it pickles)."""
    draw = job.draw()
    return draw.rng.standard_normal((job.n_paths, 3))


def test_streams_are_fixed_children_of_the_root() -> None:
    # The order is part of the seed -> paths mapping: appending is fine, reordering is not.
    assert [s.name for s in Stream] == [
        "MAX_POSITION", "BUFFER_MODEL", "BUFFER_BOOTSTRAP", "AFTER_MODEL", "AFTER_BOOTSTRAP",
        "HEATMAP", "SIMULATE", "PLAN", "STRESS"]
    assert [int(s) for s in Stream] == list(range(N_STREAMS))
    mc = MonteCarlo(seed=42, n_paths=1_200, chunk_paths=500)
    for stream in Stream:
        by_hand = np.random.SeedSequence(42).spawn(N_STREAMS)[stream].spawn(3)
        got = mc.chunk_seeds(stream)
        assert [g.spawn_key for g in got] == [b.spawn_key for b in by_hand]
        for k in range(3):
            a = np.random.default_rng(got[k]).standard_normal(5)
            b = np.random.default_rng(by_hand[k]).standard_normal(5)
            c = mc.chunk(stream, k).rng.standard_normal(5)
            assert a.tobytes() == b.tobytes() == c.tobytes()


def test_chunk_slices_cover_the_paths_in_order() -> None:
    mc = MonteCarlo(seed=0, n_paths=1_234, chunk_paths=500)
    draws = list(mc.chunks(Stream.SIMULATE))
    assert [d.index for d in draws] == [0, 1, 2]
    assert [(d.paths.start, d.paths.stop) for d in draws] == [(0, 500), (500, 1_000),
                                                               (1_000, 1_234)]
    assert mc.sizes == chunk_sizes(1_234, 500) == [500, 500, 234]
    assert MonteCarlo(seed=0, n_paths=10).chunk_paths == CHUNK_PATHS


def test_more_paths_leave_the_first_chunks_unchanged() -> None:
    # Child k of a SeedSequence depends on k only, not on how many were spawned.
    short = MonteCarlo(seed=3, n_paths=700)
    long = MonteCarlo(seed=3, n_paths=5_000)
    for k in range(short.n_chunks):
        a = short.chunk(Stream.PLAN, k).rng.standard_normal(4)
        b = long.chunk(Stream.PLAN, k).rng.standard_normal(4)
        assert a.tobytes() == b.tobytes()


def test_streams_and_seeds_differ() -> None:
    mc = MonteCarlo(seed=1, n_paths=10)
    firsts = {s: mc.chunk(s, 0).rng.standard_normal() for s in Stream}
    assert len(set(firsts.values())) == N_STREAMS
    assert MonteCarlo(seed=2, n_paths=10).chunk(Stream.SIMULATE, 0).rng.standard_normal() \
        != firsts[Stream.SIMULATE]


def test_map_chunks_here_and_on_dask_same_bytes_and_order() -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    from delever.sim.distributed import open_client

    mc = MonteCarlo(seed=11, n_paths=2_050, chunk_paths=500)
    items = jobs(mc, Stream.SIMULATE)
    here = np.concatenate(list(map_chunks(_normals, items)))
    # Reference: each chunk drawn by hand from its spawn key (6 = SIMULATE, k).
    ref = np.concatenate([
        np.random.default_rng(np.random.SeedSequence(11, spawn_key=(6, k))).standard_normal(
            (n, 3)) for k, n in enumerate([500, 500, 500, 500, 50])])
    assert here.tobytes() == ref.tobytes()
    seen: list[tuple[int, int]] = []
    for n_workers in (1, 2):
        with open_client(n_workers=n_workers) as client:
            got = np.concatenate(list(map_chunks(
                _normals, items, client=client, progress=lambda d, t: seen.append((d, t)))))
        assert got.tobytes() == here.tobytes()
        assert seen[-1] == (5, 5)


def test_running_estimators_over_chunks_equal_the_whole() -> None:
    # The reducer pattern: fold each chunk into running moments; the same mean and standard
    # error as the whole array (to rounding), one chunk in memory at a time.
    mc = MonteCarlo(seed=5, n_paths=1_730, chunk_paths=500)
    acc = RunningMoments()
    whole = []
    for d in mc.chunks(Stream.SIMULATE):
        prices = gbm_paths(100.0, d.paths.stop - d.paths.start, 8, sigma_per_step=0.02,
                           seed=d.rng)
        acc = acc.push(prices[:, -1])
        whole.append(prices[:, -1])
    x = np.concatenate(whole)
    assert acc.count == 1_730
    assert acc.mean == pytest.approx(x.mean(), rel=1e-13)
    assert acc.std == pytest.approx(x.std(ddof=1), rel=1e-12)
    # GBM with zero drift is a martingale: the mean final price is the start, within 4 SE.
    assert abs(acc.mean - 100.0) < 4.0 * acc.standard_error


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"seed": -1, "n_paths": 5}, "seed"), ({"seed": 0, "n_paths": 0}, "n_paths"),
    ({"seed": 0, "n_paths": 5, "chunk_paths": 0}, "chunk_paths")])
def test_bad_input(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        MonteCarlo(**kwargs)
    with pytest.raises(IndexError):
        MonteCarlo(0, 10).chunk_seed(Stream.PLAN, 1)

"""Dask scale-out: same seed, same bytes on 1 worker, 2 workers and no Dask.

The references are independent of the Dask code: ``simulate_strategies`` on the stacked
chunk paths drawn here from ``SeedSequence(seed).spawn(N_STREAMS)[SIMULATE].spawn(n)``, and
plain list comprehensions.
"""

from __future__ import annotations

import operator
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="dask[distributed] is not installed")

from distributed import Client

from delever.errors import InvalidArgument
from delever.market.paths import gbm_paths
from delever.scenario import load_scenario
from delever.sim.api import build_inputs, resolve_strategies, simulate, simulate_streamed
from delever.sim.distributed import (
    GbmPaths,
    chunk_sizes,
    chunked_gbm_paths,
    map_tasks,
    open_client,
    simulate_chunks,
    simulate_distributed,
    spawn_seeds,
)
from delever.sim.montecarlo import CHUNK_PATHS, N_STREAMS, MonteCarlo, Stream
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    SimConfig,
    SimulationResult,
    UnwindResult,
    simulate_strategies,
)

N_PATHS = 200
N_STEPS = 48
CHUNK = 64  # 4 chunks, the last one short (200 = 3 x 64 + 8)
STRATEGIES = ("hold", "twap", "hf-ladder")


def _square(x: int) -> int:
    return x * x


def _assert_identical(a: SimulationResult, b: SimulationResult) -> None:
    assert a.strategies == b.strategies
    for ra, rb in zip(a.results, b.results, strict=True):
        for f in fields(UnwindResult):
            va, vb = getattr(ra, f.name), getattr(rb, f.name)
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype and va.shape == vb.shape, f.name
                assert va.tobytes() == vb.tobytes(), f"{ra.strategy}.{f.name} differs"
            else:
                assert va == vb, f.name


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return load_scenario("trend-2026")


@pytest.fixture(scope="module")
def client1() -> Iterator[Client]:
    with open_client(n_workers=1) as c:
        yield c


@pytest.fixture(scope="module")
def client2() -> Iterator[Client]:
    with open_client(n_workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def local_result(scenario) -> SimulationResult:  # type: ignore[no-untyped-def]
    return simulate_distributed(scenario, STRATEGIES, mc=MonteCarlo(7, N_PATHS, CHUNK),
                                n_steps=N_STEPS, client=None)


def test_no_dask_equals_simulate_strategies_on_spawned_chunk_paths(scenario, local_result):  # type: ignore[no-untyped-def]
    # Independent reference: draw each chunk from its own spawned SeedSequence here, stack,
    # and run the engine once (its own chunking set to the same size).
    mark = scenario.mark_price_usd
    sigma = scenario.market_parameters().sigma_daily * np.sqrt(1.0 / 24.0)
    seeds = np.random.SeedSequence(7).spawn(N_STREAMS)[Stream.SIMULATE].spawn(4)
    sizes = [64, 64, 64, 8]
    paths = np.concatenate([gbm_paths(mark, n, N_STEPS, sigma_per_step=sigma,
                                      seed=np.random.default_rng(ss))
                            for n, ss in zip(sizes, seeds, strict=True)])
    assert np.array_equal(paths, chunked_gbm_paths(mark, N_PATHS, N_STEPS, sigma_per_step=sigma,
                                                   seed=7, chunk_paths=CHUNK))
    inputs = build_inputs(scenario, paths=paths)
    ref = simulate_strategies(inputs.position, resolve_strategies(STRATEGIES), paths,
                              market=inputs.market, lending=inputs.lending,
                              oracle=CHAINLINK_ETH_USD, config=SimConfig(chunk_paths=CHUNK))
    _assert_identical(local_result, ref)
    assert local_result.results[0].n_paths == N_PATHS
    assert local_result.results[0].n_steps == N_STEPS


@pytest.mark.parametrize("which", ["client1", "client2"])
def test_same_seed_same_bytes_on_1_and_2_workers(scenario, local_result, which, request):  # type: ignore[no-untyped-def]
    client = request.getfixturevalue(which)
    seen: list[tuple[int, int]] = []
    got = simulate_distributed(scenario, STRATEGIES, mc=MonteCarlo(7, N_PATHS, CHUNK),
                               n_steps=N_STEPS, client=client,
                               progress=lambda d, t: seen.append((d, t)))
    _assert_identical(got, local_result)
    assert len(seen) == 4 and seen[-1] == (N_PATHS, N_PATHS)


def test_different_seeds_differ(scenario, local_result, client2):  # type: ignore[no-untyped-def]
    other = simulate_distributed(scenario, STRATEGIES, mc=MonteCarlo(8, N_PATHS, CHUNK),
                                 n_steps=N_STEPS, client=client2)
    a, b = local_result.results[0].mid_usd, other.results[0].mid_usd
    assert np.array_equal(a[:, 0], b[:, 0])  # same start
    assert not np.any(a[:, 1:] == b[:, 1:])  # every later price differs


def test_chunks_are_prefix_stable(scenario, local_result):  # type: ignore[no-untyped-def]
    # Chunk k depends on (seed, k) only: fewer paths give the first rows of the longer run.
    short = simulate_distributed(scenario, STRATEGIES, mc=MonteCarlo(7, 2 * CHUNK, CHUNK),
                                 n_steps=N_STEPS)
    for rs, rl in zip(short.results, local_result.results, strict=True):
        assert np.array_equal(rs.mid_usd, rl.mid_usd[:2 * CHUNK])
        assert np.array_equal(rs.total_pnl_usd, rl.total_pnl_usd[:2 * CHUNK])


def test_simulate_is_the_default_chunking_on_any_worker_count(scenario, client2):  # type: ignore[no-untyped-def]
    # One service: simulate() draws the same SIMULATE chunks as simulate_distributed at the
    # default chunk size, so a run is the same bytes here and on 2 workers; the streamed run
    # (one chunk in memory) has the same per-path outcomes and the same summaries.
    n = CHUNK_PATHS + 20  # two chunks, the second short
    here = simulate(scenario, ["hold"], n_paths=n, n_steps=12, seed=5)
    on_dask = simulate_distributed(scenario, ["hold"], mc=MonteCarlo(5, n), n_steps=12,
                                   client=client2)
    _assert_identical(here, on_dask)
    streamed = simulate_streamed(scenario, ["hold"], n_paths=n, n_steps=12, seed=5,
                                 sample_paths=10)
    tally, whole = streamed.tallies[0], here.results[0]
    assert tally.total_pnl_usd.tobytes() == whole.total_pnl_usd.tobytes()
    assert streamed.sample.results[0].mid_usd.tobytes() == whole.mid_usd[:10].tobytes()
    # Running (chunk-merged) estimators: the same summary as the whole arrays, to rounding;
    # counts, quantile and median exactly.
    got, ref = streamed.to_dict()["hold"], whole.summary_dict()
    assert list(got) == list(ref)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9, nan_ok=True), key
    for key in ("p_liquidation", "total_pnl_usd_p05", "share_recovered",
                "median_recovery_hours"):
        assert got[key] == ref[key] or (np.isnan(got[key]) and np.isnan(ref[key])), key
    se = tally.standard_errors()
    assert se["total_pnl_usd"] == pytest.approx(
        whole.total_pnl_usd.std(ddof=1) / np.sqrt(n), rel=1e-10)


def test_simulate_same_bytes_with_one_or_more_numba_threads(scenario):  # type: ignore[no-untyped-def]
    import numba

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate(scenario, STRATEGIES, n_paths=40, n_steps=12, seed=4)
        numba.set_num_threads(int(numba.config.NUMBA_NUM_THREADS))
        many = simulate(scenario, STRATEGIES, n_paths=40, n_steps=12, seed=4)
    finally:
        numba.set_num_threads(before)
    _assert_identical(one, many)


def test_local_cluster_listens_on_loopback_only(client2: Client) -> None:
    # The dashboard used to listen on 0.0.0.0 (dashboard_address=":0").
    import psutil

    info = client2.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert info["workers"] and all(w.startswith("tcp://127.0.0.1:") for w in info["workers"])
    assert "127.0.0.1" in (client2.dashboard_link or "127.0.0.1")
    me = psutil.Process()
    listening = [c.laddr.ip for p in (me, *me.children(recursive=True))
                 for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and set(listening) <= {"127.0.0.1"}


def test_local_workers_ignore_sigint(client2: Client) -> None:
    # A terminal's Ctrl-C reaches the whole process group; the workers are born ignoring it,
    # so only this process is interrupted (no traceback from every worker).
    import signal

    handlers = client2.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
    assert handlers and all(handlers.values())
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # restored here


def test_map_tasks_keeps_order(client2: Client) -> None:
    items = list(range(37))
    expected = [x * x for x in items]
    assert map_tasks(client2, _square, items) == expected
    assert map_tasks(None, _square, items) == expected
    counts: list[int] = []
    assert map_tasks(client2, operator.neg, items, progress=lambda d, t: counts.append(d)) == \
        [-x for x in items]
    assert counts == list(range(1, 38))
    assert map_tasks(client2, _square, []) == []


def _plus_shared(x: int, shared: dict[str, int]) -> int:
    return x + shared["k"]


_THREADS_SCRIPT = """
import numba  # imported by __main__ as the delever console script does: the spawned workers
from delever.sim.distributed import map_tasks, open_client  # re-import it before the env


def threads(_):
    import numba
    return numba.get_num_threads()


if __name__ == "__main__":
    with open_client(n_workers=2) as client:
        print(*map_tasks(client, threads, list(range(4))))
"""


def test_tasks_on_local_workers_use_one_numba_thread_each(tmp_path: Path) -> None:
    """Two workers x one thread: each task's numba pool is capped at 1. Run as a script whose
    __main__ imports numba first, like the `delever` command: the spawned workers import it
    before the cluster's env applies, and two uncapped OpenMP pools on 2 cores made 2 workers
    no faster than 1."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: numba's pool has one thread anyway")
    script = tmp_path / "threads.py"
    script.write_text(_THREADS_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.split() == ["1", "1", "1", "1"], out.stderr[-2000:]


def test_map_tasks_shared_value_reaches_every_task(client2: Client) -> None:
    items = list(range(7))
    assert map_tasks(client2, _plus_shared, items, shared={"k": 10}) == [x + 10 for x in items]
    assert map_tasks(None, _plus_shared, items, shared={"k": 10}) == [x + 10 for x in items]


def test_spawned_seeds_are_independent() -> None:
    seeds = spawn_seeds(11, 8)
    firsts = [np.random.default_rng(s).standard_normal(4) for s in seeds]
    for i in range(8):
        for j in range(i + 1, 8):
            assert not np.any(firsts[i] == firsts[j])
    # Reproducible, and child k does not depend on how many were spawned.
    assert np.array_equal(np.random.default_rng(spawn_seeds(11, 3)[2]).standard_normal(4),
                          firsts[2])
    assert np.random.default_rng(spawn_seeds(12, 1)[0]).standard_normal() != firsts[0][0]


def test_chunk_sizes() -> None:
    assert chunk_sizes(200, 64) == [64, 64, 64, 8]
    assert chunk_sizes(5, 10) == [5]
    assert chunk_sizes(10, 5) == [5, 5]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"scheduler": "not an address"}, "scheduler=", id="address-space"),
        pytest.param({"scheduler": "http://host:8786"}, "scheduler=", id="address-scheme"),
        pytest.param({"scheduler": "localhost"}, "scheduler=", id="address-no-port"),
        pytest.param({"scheduler": "tcp://host:99999"}, "scheduler=", id="address-port"),
        pytest.param({"n_workers": 0}, "n_workers=0", id="n-workers-0"),
        pytest.param({"n_workers": 1.5}, "n_workers=1.5", id="n-workers-float"),
        pytest.param({"threads_per_worker": 0}, "threads_per_worker=0", id="threads-0"),
        pytest.param({"scheduler": "tcp://h:8786", "n_workers": 2}, "n_workers=2",
                     id="address-and-workers"),
    ],
)
def test_open_client_bad_input(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match=match), open_client(**kwargs):
        pass


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"chunk_paths": 0}, "chunk_paths=0", id="chunk-0"),
        pytest.param({"chunk_paths": -5}, "chunk_paths=-5", id="chunk-negative"),
        pytest.param({"n_paths": 0}, "n_paths=0", id="paths-0"),
        pytest.param({"n_steps": 0}, "n_steps=0", id="steps-0"),
        pytest.param({"seed": -1}, "seed=-1", id="seed-negative"),
        pytest.param({"step_hours": 0.0}, "step_hours", id="step-hours-0"),
    ],
)
def test_simulate_distributed_bad_input(scenario, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    base = {"n_paths": 10, "n_steps": 4, "seed": 0, "chunk_paths": 5}
    args = {**base, **kwargs}
    mc_keys = ("seed", "n_paths", "chunk_paths")
    with pytest.raises(InvalidArgument, match=match):
        mc = MonteCarlo(*(args.pop(k) for k in mc_keys))
        simulate_distributed(scenario, ["hold"], mc=mc, **args)


def test_simulate_chunks_bad_start_price(scenario) -> None:  # type: ignore[no-untyped-def]
    inputs = build_inputs(scenario, n_paths=1, n_steps=2)
    with pytest.raises(InvalidArgument, match="s0_usd"):
        simulate_chunks(inputs.position, resolve_strategies(["hold"]), mc=MonteCarlo(0, 4),
                        paths=GbmPaths(-1.0, 0.01), n_steps=2, market=inputs.market,
                        lending=inputs.lending)

"""Independent evaluation tasks on ``dask.distributed``, and Monte Carlo unwinds in chunks.

The layer is small on purpose (DESIGN.md, "Scale"): :func:`open_client` gives a client on a
local process cluster or on an existing scheduler, :func:`map_tasks` maps a picklable function
over items and gives the results back in order, :func:`spawn_seeds` gives each task its own
random stream. :func:`simulate_distributed` uses them for a Monte Carlo run of the unwind
engine: the paths are the chunks of :class:`delever.sim.montecarlo.MonteCarlo`'s
``Stream.SIMULATE`` (a fixed size, independent of the number of workers; chunk ``k`` draws
from ``SeedSequence(seed).spawn(N_STREAMS)[SIMULATE].spawn(n_chunks)[k]``), and the per-path
results are concatenated in chunk order, so the result is the same, byte for byte, with 1
worker, 2 workers, no Dask at all (``client=None``) or :func:`delever.simulate` itself.

Dask is imported inside the functions that need it, so ``import delever`` does not pay for it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from delever._typing import FloatArray2D
from delever.errors import InvalidArgument, check_finite, check_positive, check_whole
from delever.market.paths import gbm_paths
from delever.sim.api import (
    PathModel,
    ScenarioLike,
    build_inputs,
    engine_frame_of,
    engine_view,
    resolve_strategies,
)
from delever.sim.montecarlo import CHUNK_PATHS, MonteCarlo, Stream, chunk_sizes
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    LendingParams,
    OracleLike,
    ProgressCallback,
    SimConfig,
    SimulationResult,
    UnwindMarket,
    UnwindPosition,
    UnwindResult,
    simulate_strategies,
)
from delever.strategy import Strategy

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")

# Schemes dask.distributed's comm layer knows (distributed.comm.registry).
_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z]+)://)?(?P<host>[^\s:/]+|\[[0-9a-fA-F:]+\])"
                      r"(?::(?P<port>\d{1,5}))?(?P<rest>/\S*)?$")

DEFAULT_CHUNK_PATHS = CHUNK_PATHS  # the Monte Carlo service's chunk
WORKER_THREADS_ENV = "DELEVER_WORKER_THREADS"  # numba threads per task on a local worker


@dataclass(frozen=True)
class _CappedTask:
    """``func`` run with numba's thread pool capped at the worker's threads.

    ``numba.set_num_threads`` is per calling thread, so it is set in the task itself (the
    worker's executor thread), from :data:`WORKER_THREADS_ENV` that :func:`open_client` puts
    in its local workers' environment; workers of another cluster are left as they are.
    """

    func: Callable[..., Any]

    def __call__(self, *args: Any) -> Any:
        cap = os.environ.get(WORKER_THREADS_ENV)
        if cap:
            import numba

            pool = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
            numba.set_num_threads(max(1, min(int(cap), pool)))
        return self.func(*args)


def _check_address(scheduler: str) -> str:
    m = _ADDRESS.match(scheduler) if isinstance(scheduler, str) else None
    scheme = m.group("scheme") if m else None
    if (m is None or (scheme is not None and scheme not in _SCHEMES)
            or (scheme is None and m.group("port") is None)
            or (m.group("rest") and scheme != "inproc")
            or (m.group("port") and int(m.group("port")) > 65_535)):
        raise InvalidArgument(
            f"scheduler={scheduler!r} is not a scheduler address; give 'tcp://host:port' "
            f"(schemes: {', '.join(_SCHEMES)}) or 'host:port', e.g. 'tcp://10.0.0.5:8786'.")
    return scheduler


@contextmanager
def open_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
) -> Iterator[Client]:
    """A ``dask.distributed`` client, closed (with its cluster, if it made one) on exit.

    Parameters
    ----------
    scheduler : address of a running scheduler (``'tcp://host:port'``); None (default) starts
        a ``LocalCluster`` of worker processes on this machine.
    n_workers : worker processes of the local cluster (default: Dask's, one per core group);
        only without ``scheduler``.
    threads_per_worker : threads per local worker (default 1). Each worker process also caps
        numba's thread pool at this (``NUMBA_NUM_THREADS``), so that workers x threads matches
        the cores instead of oversubscribing them with every worker's prange.

    Returns
    -------
    context manager yielding ``distributed.Client``.

    Notes
    -----
    Worker processes, not threads: the kernels release the GIL but the Python around them
    (strategy decisions between kernel calls) does not. Measured here: a 2-worker process
    cluster starts in about 0.35 s (1.3 s with the first ``import delever`` on the workers).
    """
    from distributed import Client, LocalCluster

    threads = check_whole("threads_per_worker", threads_per_worker)
    if scheduler is not None:
        if n_workers is not None:
            raise InvalidArgument(f"n_workers={n_workers!r} applies to a local cluster only; "
                                  "leave it out when giving a scheduler address.")
        with Client(_check_address(scheduler)) as remote:  # type: ignore[no-untyped-call]
            yield remote
        return
    workers = None if n_workers is None else check_whole("n_workers", n_workers)
    # NUMBA_NUM_THREADS alone is not enough: the worker process has imported numba before the
    # Nanny applies `env` (measured: 2 threads per worker on 2 cores, so 2 workers ran no
    # faster than 1), so each task also caps its own thread's pool (_CappedTask).
    env = {"NUMBA_NUM_THREADS": str(threads), WORKER_THREADS_ENV: str(threads)}
    # The worker processes inherit the JIT switch so tests with DELEVER_DISABLE_JIT agree.
    if "DELEVER_DISABLE_JIT" in os.environ:
        env["DELEVER_DISABLE_JIT"] = os.environ["DELEVER_DISABLE_JIT"]
    # Loopback only: the scheduler, the workers, their nannies and the dashboard (which, on
    # ":0", listened on every interface). Logs below CRITICAL are silenced, so a
    # shutdown (Ctrl-C included) prints no worker warnings.
    n = max(1, (os.cpu_count() or 1) // threads) if workers is None else workers  # Dask's
    client: Client | None = None
    cluster: LocalCluster | None = None
    try:
        with _sigint_deferred():  # a start-up cut short leaves workers mid-spawn: finish it
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=0, threads_per_worker=threads, processes=True, host=LOCAL_HOST,
                dashboard_address=f"{LOCAL_HOST}:0", silence_logs=logging.CRITICAL, env=env)
            before = _spawned_workers()
            with _sigint_ignored():  # the worker processes are born ignoring Ctrl-C
                cluster.scale(n)  # type: ignore[no-untyped-call]
                _wait_spawned(cluster, before, n)
            client = Client(cluster)  # type: ignore[no-untyped-call]
            client.wait_for_workers(n)
    except BaseException:  # Ctrl-C in start-up included: close what was opened, quietly
        _silence_dask_logs()
        for opened in (client, cluster):
            if opened is not None:
                with suppress(Exception):  # Dask's sync() fails on a cancelled close
                    opened.close()
        raise
    assert cluster is not None and client is not None
    with cluster, client, _quiet_if_interrupted():
        yield client


LOCAL_HOST = "127.0.0.1"


@contextmanager
def _quiet_if_interrupted() -> Iterator[None]:
    """On Ctrl-C, silence Dask's shutdown logs.

    Closing the client under a KeyboardInterrupt leaves Dask's pending gathers failed
    (``AllExit``), which asyncio logs as "Task exception was never retrieved" when they are
    collected, after the close, and the nannies warn as they kill busy workers: the levels
    stay raised for the rest of this (ending) process.
    """
    try:
        yield
    except KeyboardInterrupt:
        _silence_dask_logs()
        raise


def _silence_dask_logs() -> None:
    for name in ("asyncio", "distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    # an interrupted close leaves Dask coroutines that warn when collected
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited",
                            category=RuntimeWarning)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while the local workers are spawned, so they ignore it for life.

    A terminal's Ctrl-C goes to the whole process group. Worker processes forked while SIGINT
    is ignored inherit that (an ignored signal stays ignored across exec, and Python keeps
    it), so only this process is interrupted, and it closes the cluster: no KeyboardInterrupt
    traceback from every worker. The window is the spawning alone (the scheduler is up
    before it, the workers register after it); a Ctrl-C inside it is dropped. (Blocking
    SIGINT instead does not reach the workers: Dask's threads spawn them, with their own
    signal masks.) Outside the main thread (no signal handlers there) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """A first Ctrl-C is held until the block ends, then raised; a second one acts at once.

    Interrupting the cluster's start-up half-way leaves workers that die reading their
    start-up data from a closed pipe (``EOFError`` tracebacks) and a cluster whose atexit
    close fails (``AssertionError: Status.init``); held, the Ctrl-C closes a whole cluster.
    A second Ctrl-C still stops a start-up that hangs. Main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if pending:
            raise KeyboardInterrupt
        pending.append(signum)

    old = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if pending:
        raise KeyboardInterrupt


def _spawned_workers() -> set[int]:
    """Pids of this process's multiprocessing children (Dask's workers are spawned)."""
    import psutil  # type: ignore[import-untyped]  # a dependency of distributed

    out = set()
    for child in psutil.Process().children():
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                out.add(child.pid)
        except psutil.Error:
            continue
    return out


def _wait_spawned(cluster: Any, before: set[int], n: int, timeout_s: float = 60.0) -> None:
    """Until ``n`` worker processes not in ``before`` exist (forked: their SIGINT is set).

    The cluster lists a worker only once it has registered, seconds later on a busy machine,
    so the children are counted instead (or the cluster's list, whichever is first: with
    another multiprocessing method the workers may not be this process's children).
    """
    import time

    deadline = time.monotonic() + timeout_s
    while (time.monotonic() < deadline and len(_spawned_workers() - before) < n
           and len(cluster.workers) < n):
        time.sleep(0.01)


def spawn_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent seed sequences from one integer seed.

    Child ``k`` depends only on ``seed`` and ``k`` (its spawn key is ``(k,)``), not on ``n``:
    asking for more children leaves the first ones unchanged.

    Parameters
    ----------
    seed : whole number >= 0.
    n : number of children, >= 0.

    Returns
    -------
    list of numpy.random.SeedSequence (``np.random.SeedSequence(seed).spawn(n)``).
    """
    return np.random.SeedSequence(check_whole("seed", seed, 0)).spawn(check_whole("n", n, 0))


def map_tasks(
    client: Client | None,
    func: Callable[..., R],
    items: Sequence[T],
    *,
    shared: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """``[func(x) for x in items]`` (or ``func(x, shared)``) on the cluster, in order.

    Parameters
    ----------
    client : a ``distributed.Client``; None runs the tasks here, one after another (the
        reference the cluster must agree with).
    func : a picklable function (module level); each item must pickle too.
    items : the task inputs.
    shared : None, or what every task needs besides its item (a position, a market): then
        ``func(item, shared)``. With a client it travels once per worker, not once per task:
        give a value (scattered here) or a future from :func:`share`.
    progress : called with (tasks done, tasks in all) as each task finishes (in finishing
        order, so the counts rise by one; the results still come back in input order).

    Returns
    -------
    list of results, ``out[i] = func(items[i])``. A task's exception is raised here.
    """
    items = list(items)
    total = len(items)
    if client is None:
        out = []
        for i, item in enumerate(items):
            out.append(func(item) if shared is None else func(item, shared))
            if progress is not None:
                progress(i + 1, total)
        return out
    from distributed import Future, as_completed

    # pure=False: equal items must still run (and a seed inside an item is what tells them apart).
    task = _CappedTask(func)
    if shared is None:
        futures = client.map(task, items, pure=False)
    else:
        handle = shared if isinstance(shared, Future) else share(client, shared)
        futures = client.map(task, items, [handle] * total, pure=False)
    try:
        if progress is not None:
            # as_completed only waits for states here; with_results=True gathered each result
            # in its own request, and one of those concurrent small gathers could die in
            # tornado's write buffer (AssertionError swallowed by as_completed's tracker), so
            # the loop waited for ever (seen about once in 50 plans on 3 clusters).
            for done, _ in enumerate(as_completed(futures), 1):  # type: ignore[no-untyped-call]
                progress(done, total)
        results: list[R] = client.gather(futures)  # type: ignore[no-untyped-call]  # one request
    except KeyboardInterrupt:
        _silence_dask_logs()  # before the cancel below fails the pending gather
        raise
    finally:
        client.cancel(futures)  # type: ignore[no-untyped-call]
    return results


def share(client: Client, value: Any) -> Any:
    """``value`` sent once to every worker; a future tasks of :func:`map_tasks` can take."""
    return client.scatter(value, broadcast=True, hash=False)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class GbmPaths:
    """Zero-drift GBM from ``s0_usd`` with ``sigma_per_step`` (a :class:`PathModel` whose
    oracle follows the mid): chunk seed ``ss`` draws ``gbm_paths(..., seed=default_rng(ss))``."""

    s0_usd: float
    sigma_per_step: float

    def __post_init__(self) -> None:
        check_positive("s0_usd", self.s0_usd)
        check_finite("sigma_per_step", self.sigma_per_step)

    @property
    def s0(self) -> float:
        """The start price."""
        return self.s0_usd

    def draw(self, n_paths: int, n_steps: int, step_hours: float,
             seed: np.random.SeedSequence) -> tuple[FloatArray2D, FloatArray2D | None]:
        """The chunk's (n_paths, n_steps + 1) GBM prices (USD); no oracle path."""
        return gbm_paths(self.s0_usd, n_paths, n_steps, sigma_per_step=self.sigma_per_step,
                         seed=np.random.default_rng(seed)), None

    def describe(self) -> dict[str, Any]:
        """The model's numbers for reports."""
        return {"model": "gbm", "s0_usd": self.s0_usd, "sigma_per_step": self.sigma_per_step}


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of a Monte Carlo unwind: everything a worker needs (all picklable).

    ``paths`` (GBM, or a loop's exchange-rate model) and ``seed`` define the chunk's paths;
    the rest go to :func:`delever.sim.unwind.simulate_strategies`.
    """

    position: UnwindPosition
    strategies: tuple[Strategy, ...]
    market: UnwindMarket
    lending: LendingParams
    oracle: OracleLike
    config: SimConfig
    paths: PathModel
    n_paths: int
    n_steps: int
    seed: np.random.SeedSequence

    def draw(self) -> tuple[FloatArray2D, FloatArray2D | None]:
        """The chunk's ``(mid, oracle)`` paths (oracle None: it follows the mid)."""
        return self.paths.draw(self.n_paths, self.n_steps, self.config.step_hours, self.seed)


def run_chunk(task: ChunkTask) -> SimulationResult:
    """Draw the chunk's paths and run every strategy on them (the worker's job)."""
    mid, oracle_paths = task.draw()
    return simulate_strategies(task.position, task.strategies, mid, market=task.market,
                               lending=task.lending, oracle=task.oracle, config=task.config,
                               oracle_paths=oracle_paths)


def chunked_gbm_paths(
    s0_usd: float,
    n_paths: int,
    n_steps: int,
    *,
    sigma_per_step: float,
    seed: int,
    chunk_paths: int = DEFAULT_CHUNK_PATHS,
) -> FloatArray2D:
    """All the paths :func:`simulate_chunks` draws, stacked in chunk order (for reference).

    Chunk ``k`` is ``gbm_paths(s0_usd, size_k, n_steps, sigma_per_step=...,
    seed=default_rng(MonteCarlo(seed, n_paths, chunk_paths).chunk_seed(Stream.SIMULATE, k)))``.
    """
    mc = MonteCarlo(seed, n_paths, chunk_paths)
    sizes = mc.sizes
    seeds = mc.chunk_seeds(Stream.SIMULATE)
    return np.concatenate([
        gbm_paths(s0_usd, size, check_whole("n_steps", n_steps), sigma_per_step=sigma_per_step,
                  seed=np.random.default_rng(ss))
        for size, ss in zip(sizes, seeds, strict=True)])


def concat_results(parts: Sequence[SimulationResult]) -> SimulationResult:
    """Join per-chunk results path-wise (same strategies, same steps) into one.

    Array fields are concatenated along the path axis; scalar fields must agree.
    """
    if not parts:
        raise InvalidArgument("parts is empty; give at least one SimulationResult.")
    names = parts[0].strategies
    for p in parts[1:]:
        if p.strategies != names:
            raise InvalidArgument(f"chunk strategies {p.strategies} differ from {names}.")
    joined = []
    for j in range(len(names)):
        chunks: list[UnwindResult] = [p.results[j] for p in parts]
        kwargs: dict[str, Any] = {}
        for f in fields(UnwindResult):
            values = [getattr(c, f.name) for c in chunks]
            if isinstance(values[0], np.ndarray):
                kwargs[f.name] = np.concatenate(values, axis=0)
            else:
                if any(v != values[0] for v in values[1:]):
                    raise InvalidArgument(f"{f.name} differs between chunks: {values}.")
                kwargs[f.name] = values[0]
        joined.append(UnwindResult(**kwargs))
    return SimulationResult(tuple(joined))


def simulate_chunks(
    position: UnwindPosition,
    strategies: Sequence[Strategy],
    *,
    mc: MonteCarlo,
    paths: PathModel,
    n_steps: int,
    market: UnwindMarket,
    lending: LendingParams,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    config: SimConfig | None = None,
    client: Client | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Strategies over exogenous paths drawn and simulated chunk by chunk, possibly on Dask.

    Parameters
    ----------
    position, strategies, market, lending, oracle, config : as
        :func:`delever.sim.unwind.simulate_strategies` (``config.step_hours`` is the step).
    mc : the paths (``n_paths``), the seed and the chunk size (fixed, whatever the number of
        workers); chunk ``k`` is chunk ``k`` of ``Stream.SIMULATE``.
    paths : the path model: :class:`GbmPaths` (start price, volatility per step), or a
        loop's exchange-rate paths (:class:`delever.sim.api.PathModel`).
    n_steps : steps per path.
    progress : called with (paths done, n_paths) as chunks finish (each finished chunk
        counted as ``mc.chunk_paths``, capped at ``n_paths``).

    Returns
    -------
    SimulationResult over all ``mc.n_paths`` paths, in chunk order; equal byte for byte to
    ``simulate_strategies(..., chunked_gbm_paths(...))`` with the same chunking.
    """
    steps = check_whole("n_steps", n_steps)
    strats = tuple(strategies)
    cfg = config if config is not None else SimConfig()
    tasks = [ChunkTask(position, strats, market, lending, oracle, cfg, paths, size, steps, ss)
             for size, ss in zip(mc.sizes, mc.chunk_seeds(Stream.SIMULATE), strict=True)]
    total = int(mc.n_paths)
    step = int(mc.chunk_paths)

    def on_task(done: int, _tasks: int) -> None:
        # Chunks finish in any order; count each as full (the last may be short), capped.
        if progress is not None:
            progress(min(done * step, total), total)

    parts = map_tasks(client, run_chunk, tasks, progress=on_task if progress else None)
    return concat_results(parts)


def simulate_distributed(
    scenario: ScenarioLike,
    strategies: Sequence[Strategy | str] | None = None,
    *,
    mc: MonteCarlo,
    n_steps: int = 720,
    step_hours: float = 1.0,
    client: Client | None = None,
    market: UnwindMarket | None = None,
    lending: LendingParams | None = None,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    config: SimConfig | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """:func:`delever.simulate` with the paths cut into chunks run on a Dask cluster.

    The scenario is read here (it does not pickle); the workers get only the position,
    market, reserves, oracle, config and strategies. Paths: GBM from the scenario's mark with
    its daily sigma scaled to the step, zero drift, the ``Stream.SIMULATE`` chunks of ``mc``:
    with the default chunk size (``MonteCarlo(seed, n_paths)``) the same draws, and the same
    bytes, as ``simulate(n_paths=n_paths, seed=seed)``.

    Parameters
    ----------
    scenario : a :class:`delever.Scenario` (or any ``ScenarioLike``).
    strategies : Strategy objects or built-in names; default every built-in.
    mc : paths, seed and chunk size (:class:`delever.sim.montecarlo.MonteCarlo`).
    n_steps, step_hours : steps per path and hours per step.
    client : ``distributed.Client`` (see :func:`open_client`); None runs the chunks here.
    market, lending, oracle, config : as :func:`delever.simulate`.
    progress : called with (paths done, n_paths) as chunks finish.

    Returns
    -------
    SimulationResult, the same shape as :func:`delever.simulate`'s, equal byte for byte for
    any number of workers (and ``client=None``) at the same ``mc``.
    """
    check_positive("step_hours", step_hours)
    scenario = engine_view(scenario)  # a loop: counted in ETH
    frame = engine_frame_of(scenario)
    mark = float(scenario.mark_price_usd)
    # A one-path placeholder so build_inputs does not draw paths we would not use.
    inputs = build_inputs(scenario, n_steps=check_whole("n_steps", n_steps), step_hours=step_hours,
                          paths=np.full((1, int(n_steps) + 1), mark), market=market,
                          lending=lending)
    cfg = replace(config if config is not None else SimConfig(), step_hours=float(step_hours))
    sigma = scenario.market_parameters().sigma_daily * math.sqrt(step_hours / 24.0)
    model: PathModel = GbmPaths(mark, sigma) if frame is None else frame.path_model
    return simulate_chunks(inputs.position, resolve_strategies(strategies), mc=mc, paths=model,
                           n_steps=n_steps, market=inputs.market, lending=inputs.lending,
                           oracle=oracle, config=cfg, client=client, progress=progress)


__all__ = [
    "DEFAULT_CHUNK_PATHS",
    "ChunkTask",
    "GbmPaths",
    "chunk_sizes",
    "chunked_gbm_paths",
    "concat_results",
    "map_tasks",
    "open_client",
    "run_chunk",
    "share",
    "simulate_chunks",
    "simulate_distributed",
    "spawn_seeds",
]

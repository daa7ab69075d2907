"""What the five analyses share: the run spec, path chunks, the engine and small helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D
from delever.errors import InvalidArgument, check_non_negative, check_positive, check_whole
from delever.market.loaders import eth_daily_close
from delever.market.paths import bootstrap_paths, gbm_paths
from delever.sim.montecarlo import CHUNK_PATHS, MonteCarlo, Stream
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    LendingParams,
    OracleLike,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    simulate_strategies,
)
from delever.strategy.base import Strategy

if TYPE_CHECKING:
    from distributed import Client

Progress = Callable[[int, int], None]  # (tasks done, tasks in all)
StageProgress = Callable[[str, int, int], None]  # (stage, tasks done, tasks in all)

SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class AdviceRun:
    """The run spec every Monte Carlo analysis shares: the world and its paths.

    Attributes
    ----------
    market, lending : the market (its impact, book and followers act on the mid) and the
        reserves (as :func:`delever.sim.unwind.simulate_strategies`).
    mark_price_usd : start price (USD).
    n_paths, seed : paths per Monte Carlo evaluation (per source); one seed, an independent
        stream per question (:class:`delever.sim.montecarlo.Stream`).
    sigma_daily : GBM daily sigma; None: the market's.
    oracle : heartbeat and deviation (default Chainlink ETH/USD).
    client : ``distributed.Client``; None runs the tasks here (the same bytes).
    """

    market: UnwindMarket
    lending: LendingParams
    mark_price_usd: float
    n_paths: int = 1_000
    seed: int = 0
    sigma_daily: float | None = None
    oracle: OracleLike = CHAINLINK_ETH_USD
    client: Client | None = field(default=None, repr=False, compare=False)
    # a loop's exchange-rate paths (delever.sim.api.PathModel) instead of GBM; None: GBM
    path_model: Any = None

    def __post_init__(self) -> None:
        check_positive("mark_price_usd", self.mark_price_usd)
        check_whole("n_paths", self.n_paths)
        check_whole("seed", self.seed, 0)
        if self.sigma_daily is not None:
            check_non_negative("sigma_daily", self.sigma_daily)

    @property
    def sigma(self) -> float:
        """The GBM daily sigma (the market's unless given)."""
        return (self.market.impact.sigma_daily if self.sigma_daily is None
                else float(self.sigma_daily))

    def engine(self, step_hours: float) -> Engine:
        """The engine at ``step_hours`` per step."""
        return Engine(self.market, self.lending, self.oracle, float(step_hours))

    def specs(self, stream: Stream, n_steps: int, step_hours: float, *,
              returns: FloatArray1D | None = None, block_length: float = 10.0
              ) -> list[PathSpec]:
        """The stream's chunks: GBM at ``step_hours``, or a bootstrap of ``returns``."""
        sigma_per_step = self.sigma * math.sqrt(step_hours / 24.0)
        mc = MonteCarlo(int(self.seed), int(self.n_paths), CHUNK_PATHS)
        return [PathSpec(float(self.mark_price_usd), size, n_steps, ss, sigma_per_step,
                         returns, block_length, self.path_model,
                         step_hours=float(step_hours))
                for size, ss in zip(mc.sizes, mc.chunk_seeds(stream), strict=True)]

    def with_paths(self, n_paths: int) -> AdviceRun:
        """The same run with ``n_paths`` paths."""
        return replace(self, n_paths=int(n_paths))


def open_fraction(field_name: str, value: float) -> float:
    """``value`` in (0, 1), else InvalidArgument naming ``field_name``."""
    if not (isinstance(value, int | float) and 0.0 < float(value) < 1.0):
        raise InvalidArgument(f"{field_name}={value!r} must be in (0, 1), e.g. 0.05.")
    return float(value)


def health_factor(collateral_eth: FloatArray1D | float, debt_usd: FloatArray1D | float,
                  price_usd: float, lt: FloatArray1D | float) -> FloatArray1D:
    """``HF = c p LT / d`` (inf without debt)."""
    c = np.asarray(collateral_eth, dtype=np.float64)
    d = np.asarray(debt_usd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray1D = np.where(d > 0, c * price_usd * np.asarray(lt) / d, np.inf)
    return out


def scaled_position(position: UnwindPosition, scale: float) -> UnwindPosition:
    """The position with collateral and debt both multiplied by ``scale`` (same HF)."""
    check_positive("scale", scale)
    return replace(position, collateral_eth=position.collateral_eth * scale,
                   debt_usd=position.debt_usd * scale)


@dataclass(frozen=True)
class PathSpec:
    """One task's exogenous paths: GBM (zero drift) or a block bootstrap of log returns.

    ``returns`` None: GBM with ``sigma_per_step``; else a stationary bootstrap of ``returns``
    with mean block length ``block_length`` steps. ``seed`` (a chunk's seed sequence from
    :class:`delever.sim.montecarlo.MonteCarlo`) feeds ``default_rng``.
    """

    s0_usd: float
    n_paths: int
    n_steps: int
    seed: np.random.SeedSequence
    sigma_per_step: float = 0.0
    returns: FloatArray1D | None = field(default=None, repr=False)
    block_length: float = 10.0
    model: Any = None  # a delever.sim.api.PathModel (a loop's); None: GBM or the bootstrap
    step_hours: float = 1.0  # the path model's step (GBM takes sigma_per_step)

    def draw_exo(self) -> tuple[FloatArray2D, FloatArray2D | None]:
        """``(mid, oracle)``: the path model's paths, else :meth:`draw` with the oracle
        following the mid."""
        if self.model is not None and self.returns is None:
            mid, oracle = self.model.draw(self.n_paths, self.n_steps, self.step_hours, self.seed)
            return mid, oracle
        return self.draw(), None

    def draw(self) -> FloatArray2D:
        """The (n_paths, n_steps + 1) prices (USD)."""
        rng = np.random.default_rng(self.seed)
        if self.returns is None:
            return gbm_paths(self.s0_usd, self.n_paths, self.n_steps,
                             sigma_per_step=self.sigma_per_step, seed=rng)
        return bootstrap_paths(self.s0_usd, self.n_paths, self.n_steps, returns=self.returns,
                               block_length=self.block_length, seed=rng)


def historical_log_returns(*, demean: bool = True) -> FloatArray1D:
    """Daily log returns of the shipped Binance ETHUSDT closes 2020-01-01 .. 2026-05-01.

    ``demean`` (default True) removes the sample mean (about +45%/yr in log terms over
    2020-2026), so the bootstrap, like the GBM, carries no trend: a risk estimate should not
    lean on a bull market repeating.
    """
    close = eth_daily_close()["close_usd"].to_numpy(dtype=np.float64)
    r: FloatArray1D = np.diff(np.log(close))
    if demean:
        r = r - r.mean()
    r.setflags(write=False)
    return r


@dataclass(frozen=True)
class Engine:
    """What every engine task shares (all picklable)."""

    market: UnwindMarket
    lending: LendingParams
    oracle: OracleLike
    step_hours: float

    def run(self, position: UnwindPosition, strategies: Sequence[Strategy],
            paths: FloatArray2D, oracle_paths: FloatArray2D | None = None) -> Any:
        """The strategies on ``paths`` (one kernel call for the chunk); ``oracle_paths``
        an exogenous oracle (a loop's exchange rate), None: it follows the mid."""
        cfg = SimConfig(step_hours=self.step_hours, chunk_paths=max(paths.shape[0], 1))
        return simulate_strategies(position, list(strategies), paths, market=self.market,
                                   lending=self.lending, oracle=self.oracle, config=cfg,
                                   oracle_paths=oracle_paths)


__all__ = [
    "CHUNK_PATHS",
    "SUMMARY_QUANTILES",
    "AdviceRun",
    "Engine",
    "PathSpec",
    "Progress",
    "StageProgress",
    "health_factor",
    "historical_log_returns",
    "open_fraction",
    "scaled_position",
]

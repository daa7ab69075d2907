"""Monte Carlo stress of a borrower book and a large account under exogenous price paths.

:func:`stress` draws GBM paths, or takes them from a caller's path source (``paths``: a loop's
exchange-rate paths), chunk by chunk (the ``Stream.STRESS`` chunks of
:class:`delever.sim.montecarlo.MonteCarlo`, a fixed size), runs the cascade engine of
:mod:`delever.book.cascade` on each chunk (numba-parallel over paths) and summarises:

- P(liquidation) of the large account, with a Clopper-Pearson 95% interval;
- liquidations at risk: the 95th percentile of collateral liquidated (ETH);
- value at risk: the 95th percentile of bad debt (USD);
- the amplification (P0 − min market price) / (P0 − min exogenous price) distribution;

each percentile with a distribution-free order-statistic 95% interval (the ranks whose
binomial probabilities bracket the quantile; Conover 1999, Practical Nonparametric
Statistics, §3.2); the estimators are those of :mod:`delever.sim.estimators`. Results depend
only on the seed: the chunk size is fixed and the kernel's scratch blocks do not depend on
the number of threads.

Units: the engines count the collateral in ETH and money in USD; a loop runs in the ETH
frame (collateral in units of the asset, money in ETH), and ``units`` relabels the summary
(``StressResult.asset`` / ``numeraire``; the JSON keys stay, with a ``units`` entry).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray1D, FloatArray2D
from delever.book.actors import (
    TREND_2026_LARGE_ACCOUNT,
    CautiousBorrowers,
    Followers,
    ImpactParams,
    LargeAccount,
    Liquidators,
    PanicSellers,
)
from delever.book.book import BorrowerBook
from delever.book.cascade import (
    DEFAULT_IMPACT,
    DEFAULT_LIQUIDATORS,
    DEFAULT_PROTOCOL_FEE,
    NO_FOLLOWERS,
    NO_PANIC,
    Engine,
    build_ladder,
    run_cascade,
)
from delever.errors import InvalidArgument, check_finite, check_non_negative, check_positive
from delever.kernels import cascade as k
from delever.market.paths import gbm_paths
from delever.sim.estimators import CONFIDENCE, Z95, Estimate, binomial_ci
from delever.sim.estimators import quantile_ci as _quantile_ci
from delever.sim.montecarlo import CHUNK_PATHS, MonteCarlo, Stream

QUANTILE = 0.95
STEPS_PER_DAY = 24  # hourly steps by default
DEFAULT_UNITS = ("ETH", "USD")

# A caller's exogenous paths: (paths in the chunk, the chunk's seed) -> (n, n_steps + 1)
# prices, column 0 the start price. Chunk k's seed is
# MonteCarlo(seed, n_paths, CHUNK_PATHS).chunk_seeds(Stream.STRESS)[k].
PathSource = Callable[[int, np.random.SeedSequence], FloatArray2D]


def quantile_ci(values: FloatArray1D, q: float = QUANTILE,
                confidence: float = CONFIDENCE) -> Estimate:
    """:func:`delever.sim.estimators.quantile_ci` at the stress's default 95th percentile."""
    return _quantile_ci(values, q, confidence)


@dataclass(frozen=True, eq=False)
class StressResult(ResultContract):
    """Summary and per-path outcomes of :func:`stress`.

    Attributes
    ----------
    n_paths, n_steps, seed, engine
        What was run.
    p_large_liquidated : Estimate
        Share of paths on which the large account got at least one liquidation call.
    liquidations_at_risk_eth : Estimate
        95th percentile of collateral liquidated (book + large account), ETH.
    bad_debt_var_usd : Estimate
        95th percentile of bad debt, USD.
    amplification_median, amplification_p95 : Estimate
        Of (P0 − min market) / (P0 − min exogenous) over paths where the exogenous price
        fell below P0; 1 (nothing amplified) where no path's did, as can happen with a few
        short paths: the ratio has no first move to divide by.
    mean_collateral_liquidated_eth, mean_bad_debt_usd : float
    paths : ndarray (n_paths, N_OUT)
        Per-path outcome columns (``delever.kernels.cascade.OUT_*``).
    amplification_paths : int
        Paths the amplification was measured on (exogenous price below P0); 0: reported as 1.
    asset, numeraire : str
        What the engines' ETH and USD count: ``ETH``/``USD``, or a loop's ``wstETH``/``ETH``.
    """

    n_paths: int
    n_steps: int
    seed: int
    engine: str
    p_large_liquidated: Estimate
    liquidations_at_risk_eth: Estimate
    bad_debt_var_usd: Estimate
    amplification_median: Estimate
    amplification_p95: Estimate
    mean_collateral_liquidated_eth: float
    mean_bad_debt_usd: float
    paths: FloatArray2D = field(repr=False)
    amplification_paths: int = 0
    asset: str = "ETH"
    numeraire: str = "USD"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-path arrays)."""
        out: dict[str, Any] = {
            "n_paths": self.n_paths,
            "n_steps": self.n_steps,
            "seed": self.seed,
            "engine": self.engine,
            "mean_collateral_liquidated_eth": self.mean_collateral_liquidated_eth,
            "mean_bad_debt_usd": self.mean_bad_debt_usd,
            "amplification_paths": self.amplification_paths,
            "units": {"asset": self.asset, "numeraire": self.numeraire},
        }
        for name in ("p_large_liquidated", "liquidations_at_risk_eth", "bad_debt_var_usd",
                     "amplification_median", "amplification_p95"):
            out[name] = getattr(self, name).to_dict()
        return out

    def summary(self) -> str:
        def fmt(e: Estimate, spec: str) -> str:
            return f"{e.value:{spec}} (95% CI {e.low:{spec}}..{e.high:{spec}})"

        usd = self.numeraire == "USD"
        bad_debt = (f"${fmt(self.bad_debt_var_usd, ',.0f')}" if usd
                    else f"{fmt(self.bad_debt_var_usd, ',.2f')} {self.numeraire}")
        amount = ",.0f" if usd else ",.2f"

        return "\n".join([
            f"Stress: {self.n_paths:,} paths x {self.n_steps:,} steps, {self.engine} engine, "
            f"seed {self.seed}",
            f"  P(large account liquidated): {fmt(self.p_large_liquidated, '.4f')}",
            f"  liquidations at risk (p95): {fmt(self.liquidations_at_risk_eth, amount)} "
            f"{self.asset}",
            f"  bad debt VaR (p95): {bad_debt}",
            f"  amplification median {fmt(self.amplification_median, '.3f')}, "
            f"p95 {fmt(self.amplification_p95, '.3f')}"
            + ("" if self.amplification_paths else
               " (no path's exogenous price fell below P0: nothing amplified, reported as 1)"),
        ])

    def __str__(self) -> str:
        return self.summary()


def _amplification(values: FloatArray2D, p0: float) -> FloatArray1D:
    """(P0 − min market) / (P0 − min exogenous) per path; NaN where the exogenous price
    never fell below P0."""
    drop_exog = p0 - values[:, k.OUT_MIN_EXOGENOUS]
    drop_market = p0 - values[:, k.OUT_MIN_PRICE]
    out = np.full(values.shape[0], np.nan)
    ok = drop_exog > 0
    out[ok] = drop_market[ok] / drop_exog[ok]
    return out


@dataclass(frozen=True)
class StressActors:
    """Who acts in the stress besides the exogenous price: as
    :func:`delever.book.cascade.run_cascade` (the large account defaults to the trend-2026
    position, 396,000 ETH against $526M as one account, an estimate)."""

    impact: ImpactParams = DEFAULT_IMPACT
    large_account: LargeAccount = TREND_2026_LARGE_ACCOUNT
    liquidators: Liquidators = DEFAULT_LIQUIDATORS
    followers: Followers = NO_FOLLOWERS
    panic: PanicSellers = NO_PANIC
    cautious: CautiousBorrowers | None = None
    protocol_fee: float = DEFAULT_PROTOCOL_FEE


def stress(
    book: BorrowerBook,
    *,
    n_paths: int,
    n_steps: int,
    engine: Engine = "ladder",
    seed: int = 0,
    price_usd: float | None = None,
    sigma_per_step: float | None = None,
    drift_per_step: float = 0.0,
    actors: StressActors = StressActors(),
    progress: Callable[[int, int], None] | None = None,
    paths: PathSource | None = None,
    units: tuple[str, str] = DEFAULT_UNITS,
) -> StressResult:
    """Monte Carlo stress of ``book`` plus ``actors.large_account`` on exogenous paths.

    Parameters
    ----------
    book : BorrowerBook
    n_paths, n_steps : int
        Paths and steps per path (hourly steps by default).
    engine : {"ladder", "exact"}
    seed : int
        The only source of randomness: the ``Stream.STRESS`` chunks of
        ``MonteCarlo(seed, n_paths)``.
    price_usd : float, optional
        Start price P0 (default: the book's reference price).
    sigma_per_step : float, optional
        GBM volatility per step (default ``actors.impact.sigma_daily / sqrt(24)``: hourly).
    drift_per_step : float
        GBM drift per step (default 0).
    actors : StressActors
        Impact, the large account, liquidators, followers, panic sellers, cautious
        borrowers, the protocol fee.
    progress : callable(done_paths, n_paths), optional
        Called after each chunk of paths.
    paths : callable(n, seed_sequence) -> (n, n_steps + 1) array, optional
        The exogenous paths instead of GBM (``sigma_per_step`` and ``drift_per_step`` then
        unused): called once per chunk with its path count and its seed sequence,
        ``MonteCarlo(seed, n_paths, CHUNK_PATHS).chunk_seeds(Stream.STRESS)[k]``, so the result
        depends only on ``seed``. Column 0 must be P0.
    units : (str, str)
        What the engines' ETH and USD count, for the summary (a loop: ``("wstETH", "ETH")``).
    """
    for name, value, low in (("n_paths", n_paths, 1), ("n_steps", n_steps, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidArgument(f"{name}={value!r} must be a whole number >= {low}.")
    p0 = _start_price(book, price_usd)
    sigma = (actors.impact.sigma_daily / math.sqrt(STEPS_PER_DAY) if sigma_per_step is None
             else check_non_negative("sigma_per_step", sigma_per_step))
    check_finite("drift_per_step", drift_per_step)

    def gbm(m: int, chunk_seed: np.random.SeedSequence) -> FloatArray2D:
        return gbm_paths(p0, m, n_steps, sigma_per_step=sigma, drift_per_step=drift_per_step,
                         seed=np.random.default_rng(chunk_seed))

    source = gbm if paths is None else paths
    ladder = None if engine == "exact" else build_ladder(
        book, cautious=actors.cautious, protocol_fee=actors.protocol_fee)
    mc = MonteCarlo(seed, n_paths, CHUNK_PATHS)
    chunks = []
    for index, chunk_seed in enumerate(mc.chunk_seeds(Stream.STRESS)):
        part = mc.chunk_slice(index)
        exog = _checked_paths(source(part.stop - part.start, chunk_seed),
                              part.stop - part.start, n_steps, p0)
        result = run_cascade(
            book, exog, engine=engine, impact=actors.impact, liquidators=actors.liquidators,
            followers=actors.followers, panic=actors.panic, cautious=actors.cautious,
            large_account=actors.large_account, protocol_fee=actors.protocol_fee,
            ladder=ladder,
        )
        chunks.append(result.values)
        if progress is not None:
            progress(part.stop, n_paths)
    values = np.concatenate(chunks)
    values.setflags(write=False)
    out = _summary(values, n_paths, n_steps, seed, engine, p0)
    return dataclasses.replace(out, asset=units[0], numeraire=units[1])


def _start_price(book: BorrowerBook, price_usd: float | None) -> float:
    """P0: ``price_usd``, else the book's reference price."""
    if price_usd is None:
        if book.reference_price_usd is None:
            raise InvalidArgument("price_usd=None and the book has no reference price.")
        price_usd = book.reference_price_usd
    return check_positive("price_usd", price_usd, "Give the ETH price in USD.")


def _checked_paths(exog: FloatArray2D, m: int, n_steps: int, p0: float) -> FloatArray2D:
    """A path source's chunk: ``(m, n_steps + 1)``, starting at P0."""
    array = np.asarray(exog, dtype=np.float64)
    if array.shape != (m, n_steps + 1):
        raise InvalidArgument(f"paths returned shape {array.shape}; the chunk needs "
                              f"({m}, {n_steps + 1}): n paths x (n_steps + 1) prices.")
    if not np.all(array[:, 0] == p0):
        raise InvalidArgument(f"paths must start at price_usd={p0!r} (column 0); the "
                              "amplification measures the fall from it.")
    return array


def _summary(values: FloatArray2D, n_paths: int, n_steps: int, seed: int, engine: Engine,
             p0: float) -> StressResult:
    """The stress's estimates from its per-path outcomes."""
    liquidated = int(np.count_nonzero(values[:, k.OUT_WHALE_FIRST_STEP] >= 0))
    amp = _amplification(values, p0)
    measured = int(np.count_nonzero(np.isfinite(amp)))
    # No exogenous fall on any path: no first move to amplify, the ratio is 0/0; report 1.
    no_move = Estimate(1.0, 1.0, 1.0)
    return StressResult(
        n_paths=n_paths,
        n_steps=n_steps,
        seed=seed,
        engine=engine,
        p_large_liquidated=binomial_ci(liquidated, n_paths),
        liquidations_at_risk_eth=quantile_ci(values[:, k.OUT_SEIZED_ETH]),
        bad_debt_var_usd=quantile_ci(values[:, k.OUT_BAD_DEBT_USD]),
        amplification_median=quantile_ci(amp, 0.5) if measured else no_move,
        amplification_p95=quantile_ci(amp, QUANTILE) if measured else no_move,
        mean_collateral_liquidated_eth=float(values[:, k.OUT_SEIZED_ETH].mean()),
        mean_bad_debt_usd=float(values[:, k.OUT_BAD_DEBT_USD].mean()),
        paths=values,
        amplification_paths=measured,
    )


__all__ = [
    "CHUNK_PATHS",
    "CONFIDENCE",
    "DEFAULT_UNITS",
    "Z95",
    "Estimate",
    "PathSource",
    "StressActors",
    "StressResult",
    "binomial_ci",
    "quantile_ci",
    "stress",
]

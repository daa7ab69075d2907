"""Risk advice for a leveraged position: the lessons of a large unwind, as numbers.

Five questions, each a function with a frozen result and ``to_dict()``; :func:`advise` runs
them all.

1. :func:`max_position` (concentration vs liquidity): the largest multiple ``s`` of the
   position (collateral and debt together, same HF) that TWAP (and Almgren-Chriss) can
   unwind within a horizon at a mean impact cost below a cap, with P(liquidation) <= alpha.
2. :func:`margin_buffer`: the HF that survives the 1st-percentile k-day move (the market's
   impact, book cascade and followers included; the owner's stated sales with their impact
   and their repayments), and the ETH to add or the debt to repay to get there.
3. :func:`staged_deleveraging`: the sales (proceeds repaying debt) that bring every account
   to that HF, cut into batches of bounded square-root discount, one per interval.
4. :func:`after_unwind`: hold or sell into rebounds after the unwind: time to recover the
   cost basis and final P&L, on bootstrap and model paths.
5. :func:`leverage_heatmap`: "leverage at the previous high": HF now, P(liquidation) and
   expected loss over a grid of leverage x entry price.

Scale-out: every Monte Carlo evaluation is a list of tasks run by
:func:`delever.sim.distributed.map_tasks` (on Dask when a client is given). A task's paths
come from its own ``SeedSequence`` (see :func:`_stream_seeds`) and the chunking is fixed, so
the results are the same, byte for byte, with no client, 1 worker or 2 workers.

Everything here is a model estimate: the square-root law's Y, sigma and ADV are calibrated
estimates, the bootstrap draws from 2020-2026 Binance returns with their drift removed by
default, and the GBM has zero price drift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize

from delever._typing import FloatArray1D, FloatArray2D
from delever.errors import InvalidArgument, check_non_negative, check_positive, check_whole
from delever.market.loaders import eth_daily_close
from delever.market.paths import bootstrap_paths, gbm_paths
from delever.protocol import RESERVES
from delever.sim.distributed import chunk_sizes, map_tasks, spawn_seeds
from delever.sim.stress import Z95, Estimate, binomial_ci, quantile_ci
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    LendingParams,
    OracleLike,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    simulate_strategies,
)
from delever.strategy import TWAP, AlmgrenChriss, Schedule, SellIntoRebounds
from delever.strategy.base import Hold, Strategy

if TYPE_CHECKING:
    from distributed import Client

Progress = Callable[[int, int], None]  # (tasks done, tasks in all)
StageProgress = Callable[[str, int, int], None]  # (stage, tasks done, tasks in all)

CHUNK_PATHS = 500  # paths per task: fixed, so results do not depend on the workers
SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

# Independent random streams, one per question (child k of SeedSequence(seed)).
_STREAM_SIZE, _STREAM_BUF_MODEL, _STREAM_BUF_BOOT = 0, 1, 2
_STREAM_AFTER_MODEL, _STREAM_AFTER_BOOT, _STREAM_HEAT = 3, 4, 5
_N_STREAMS = 6


# ---------------------------------------------------------------------------------------------
# Small helpers


def _open_fraction(field_name: str, value: float) -> float:
    if not (isinstance(value, int | float) and 0.0 < float(value) < 1.0):
        raise InvalidArgument(f"{field_name}={value!r} must be in (0, 1), e.g. 0.05.")
    return float(value)


def _stream_seeds(seed: int, stream: int, n_tasks: int) -> list[np.random.SeedSequence]:
    """Task seeds of one question: ``spawn_seeds(seed, 6)[stream].spawn(n_tasks)``."""
    return spawn_seeds(seed, _N_STREAMS)[stream].spawn(n_tasks)


def _mean_ci(values: FloatArray1D) -> Estimate:
    """Mean with a normal-approximation 95% interval (mean +- 1.96 s / sqrt(n))."""
    x = np.asarray(values, dtype=np.float64)
    m = float(x.mean())
    half = Z95 * float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else 0.0
    return Estimate(m, m - half, m + half)


def _hf(collateral_eth: FloatArray1D | float, debt_usd: FloatArray1D | float, price_usd: float,
        lt: FloatArray1D | float) -> FloatArray1D:
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
    with mean block length ``block_length`` steps. ``seed`` feeds ``default_rng``.
    """

    s0_usd: float
    n_paths: int
    n_steps: int
    seed: np.random.SeedSequence
    sigma_per_step: float = 0.0
    returns: FloatArray1D | None = field(default=None, repr=False)
    block_length: float = 10.0

    def draw(self) -> FloatArray2D:
        """The (n_paths, n_steps + 1) prices (USD)."""
        rng = np.random.default_rng(self.seed)
        if self.returns is None:
            return gbm_paths(self.s0_usd, self.n_paths, self.n_steps,
                             sigma_per_step=self.sigma_per_step, seed=rng)
        return bootstrap_paths(self.s0_usd, self.n_paths, self.n_steps, returns=self.returns,
                               block_length=self.block_length, seed=rng)


def _specs(s0_usd: float, n_paths: int, n_steps: int, seed: int, stream: int, *,
           sigma_per_step: float = 0.0, returns: FloatArray1D | None = None,
           block_length: float = 10.0) -> list[PathSpec]:
    sizes = chunk_sizes(n_paths, CHUNK_PATHS)
    seeds = _stream_seeds(seed, stream, len(sizes))
    return [PathSpec(s0_usd, size, n_steps, ss, sigma_per_step, returns, block_length)
            for size, ss in zip(sizes, seeds, strict=True)]


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
class _Engine:
    """What every engine task shares (all picklable)."""

    market: UnwindMarket
    lending: LendingParams
    oracle: OracleLike
    step_hours: float

    def run(self, position: UnwindPosition, strategies: Sequence[Strategy],
            paths: FloatArray2D) -> Any:
        cfg = SimConfig(step_hours=self.step_hours, chunk_paths=max(paths.shape[0], 1))
        return simulate_strategies(position, list(strategies), paths, market=self.market,
                                   lending=self.lending, oracle=self.oracle, config=cfg)


# ---------------------------------------------------------------------------------------------
# 1. Concentration vs liquidity


@dataclass(frozen=True)
class _SizeTask:
    engine: _Engine
    position: UnwindPosition
    strategy: Strategy
    scale: float
    paths: PathSpec


def _size_task(task: _SizeTask) -> dict[str, FloatArray1D]:
    exo = task.paths.draw()
    pos = scaled_position(task.position, task.scale)
    r = task.engine.run(pos, [task.strategy], exo).results[0]
    # Impact cost: what the sales would have fetched at the unimpacted (exogenous) price of
    # their step, minus the proceeds. Its mean equals mark x sold - proceeds on martingale
    # paths, without the paths' own noise.
    at_exo = (exo[:, 1:] * r.sold_eth[:, 1:]).sum(axis=1)
    return {"cost_usd": at_exo - r.proceeds_usd, "liquidated": r.liquidated.astype(np.float64),
            "sold_eth": r.sold_total_eth.copy(),
            "discount_usd": r.liquidity_discount_usd.copy()}


@dataclass(frozen=True)
class SizeStats:
    """One strategy at one scale: the measured cost and risk.

    Attributes
    ----------
    scale : multiple of the position. eth : its ETH.
    cost_frac : mean impact cost / marked value at the start, with a 95% interval (normal).
    p_liquidation : share of paths with a liquidation, Clopper-Pearson 95% interval.
    share_unwound : mean ETH sold / ETH held (below 1 where caps held sales back).
    discount_frac : the engine's liquidity discount (against each step's pre-trade mid) over
        the marked value, mean.
    """

    scale: float
    eth: float
    cost_frac: Estimate
    p_liquidation: Estimate
    share_unwound: float
    discount_frac: float

    def to_dict(self) -> dict[str, Any]:
        """``scale, eth, cost_frac{value,low,high}, p_liquidation{...}, share_unwound,
        discount_frac``."""
        return {"scale": self.scale, "eth": self.eth, "cost_frac": self.cost_frac.to_dict(),
                "p_liquidation": self.p_liquidation.to_dict(),
                "share_unwound": self.share_unwound, "discount_frac": self.discount_frac}


@dataclass(frozen=True)
class PositionLimit:
    """The largest position one strategy unwinds within the caps.

    ``limiting`` names the constraint that binds first: ``"cost"`` (mean impact cost at the
    cap), ``"liquidation"`` (P(liquidation) at alpha) or ``"withdrawal"`` (the ETH cannot all
    be withdrawn and sold within the horizon: Aave's HF floor on withdrawals and the WETH
    reserve's free liquidity; mean share sold below ``UNWOUND_MIN``); ``"<name> at any size"``
    when even a 0.001 scale fails it (scale 0); ``"none up to max_scale"``.
    ``at_current`` is the same strategy measured on the position as it is (scale 1).
    """

    strategy: str
    limiting: str
    at_limit: SizeStats
    evaluations: int
    at_current: SizeStats | None = None

    def to_dict(self) -> dict[str, Any]:
        """``strategy, limiting, scale, eth, at_limit{SizeStats}, at_current{SizeStats},
        evaluations``."""
        return {"strategy": self.strategy, "limiting": self.limiting,
                "scale": self.at_limit.scale, "eth": self.at_limit.eth,
                "at_limit": self.at_limit.to_dict(),
                "at_current": None if self.at_current is None else self.at_current.to_dict(),
                "evaluations": self.evaluations}


@dataclass(frozen=True)
class MaxPositionResult:
    """:func:`max_position`'s answer: per strategy (TWAP first), and the inputs."""

    current_eth: float
    mark_price_usd: float
    horizon_days: float
    max_cost_frac: float
    alpha: float
    n_paths: int
    limits: tuple[PositionLimit, ...]

    @property
    def twap(self) -> PositionLimit:
        """The TWAP limit (the headline)."""
        return self.limits[0]

    def to_dict(self) -> dict[str, Any]:
        """``current_eth, mark_price_usd, horizon_days, max_cost_frac, alpha, n_paths,
        limits{strategy: PositionLimit}``."""
        return {"current_eth": self.current_eth, "mark_price_usd": self.mark_price_usd,
                "horizon_days": self.horizon_days, "max_cost_frac": self.max_cost_frac,
                "alpha": self.alpha, "n_paths": self.n_paths,
                "limits": {lim.strategy: lim.to_dict() for lim in self.limits}}


def max_position(
    position: UnwindPosition,
    market: UnwindMarket,
    lending: LendingParams,
    *,
    mark_price_usd: float,
    horizon_days: float = 5.0,
    step_hours: float = 1.0,
    max_cost_frac: float = 0.02,
    alpha: float = 0.05,
    n_paths: int = 1_000,
    seed: int = 0,
    sigma_daily: float | None = None,
    strategies: Sequence[Strategy] | None = None,
    max_scale: float = 1_024.0,
    rel_tol: float = 1e-3,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    client: Client | None = None,
    progress: Progress | None = None,
) -> MaxPositionResult:
    """The largest multiple of ``position`` that can be unwound within the caps.

    Parameters
    ----------
    position : the accounts; scaled by ``s`` (collateral and debt together, same HF).
    market, lending : as :func:`delever.sim.unwind.simulate_strategies` (pass a market with a
        book and followers to include the cascade).
    mark_price_usd : start price (USD).
    horizon_days, step_hours : the unwind window (default 5 days of hourly steps).
    max_cost_frac : cap on the mean impact cost over the marked value (default 0.02).
    alpha : cap on P(liquidation) (default 0.05).
    n_paths, seed : GBM paths (zero drift, ``sigma_daily`` default the market's), the same
        for every ``s`` (common random numbers).
    strategies : default TWAP over the horizon and Almgren-Chriss over the horizon.
    max_scale : search ceiling; rel_tol : relative precision of ``s``.
    oracle, client, progress : the oracle; a Dask client (None: here); (tasks done, total).

    Returns
    -------
    MaxPositionResult

    Notes
    -----
    Impact cost on a path: ``sum_k exo_k sold_k - proceeds`` (the unimpacted price of each
    step times the ETH sold then, minus what the sales fetched). The cost rises with ``s``
    (square-root law, about ``sqrt(s)``) and is continuous on common paths, so its crossing
    of the cap is found with Brent's method (scipy ``brentq``) in ``s``; P(liquidation) is a
    step function of ``s``, assumed non-decreasing (a bigger sale pushes the same paths
    lower), and its last ``s`` within alpha is found by bisection in ``log s``; so is the
    last ``s`` at which the ETH can all be sold within the horizon (the withdrawal rule and
    the WETH reserve's free liquidity in ``lending``; ``weth_reserve=None`` lifts the latter).
    """
    mark = check_positive("mark_price_usd", mark_price_usd)
    check_positive("horizon_days", horizon_days)
    check_positive("step_hours", step_hours)
    cap = _open_fraction("max_cost_frac", max_cost_frac)
    alpha = _open_fraction("alpha", alpha)
    paths_n = check_whole("n_paths", n_paths)
    check_whole("seed", seed, 0)
    check_positive("max_scale", max_scale)
    n_steps = max(1, round(horizon_days * 24.0 / step_hours))
    sigma = market.impact.sigma_daily if sigma_daily is None else check_non_negative(
        "sigma_daily", sigma_daily)
    specs = _specs(mark, paths_n, n_steps, seed, _STREAM_SIZE,
                   sigma_per_step=sigma * math.sqrt(step_hours / 24.0))
    strats = list(strategies) if strategies is not None else [
        TWAP(n_batches=n_steps), AlmgrenChriss(n_steps=n_steps)]
    engine = _Engine(market, lending, oracle, float(step_hours))
    value0 = position.total_eth * mark
    done = [0]

    def measure_for(strategy: Strategy) -> Callable[[float], SizeStats]:
        cache: dict[float, SizeStats] = {}

        def measure(scale: float) -> SizeStats:
            if scale in cache:
                return cache[scale]
            tasks = [_SizeTask(engine, position, strategy, scale, spec) for spec in specs]
            parts = map_tasks(client, _size_task, tasks)
            cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            value = value0 * scale
            stats = SizeStats(
                scale=scale, eth=position.total_eth * scale,
                cost_frac=_scaled_estimate(_mean_ci(cat["cost_usd"]), 1.0 / value),
                p_liquidation=binomial_ci(int(cat["liquidated"].sum()), paths_n),
                share_unwound=float(cat["sold_eth"].mean() / (position.total_eth * scale)),
                discount_frac=float(cat["discount_usd"].mean() / value))
            cache[scale] = stats
            done[0] += len(tasks)
            if progress is not None:
                progress(done[0], done[0])
            return stats

        return measure

    limits = []
    for strategy in strats:
        measure = measure_for(strategy)
        limit = _search(measure, cap, alpha, max_scale, rel_tol)
        limits.append(replace(limit, strategy=strategy.name, at_current=measure(1.0)))
    return MaxPositionResult(position.total_eth, mark, float(horizon_days), cap, alpha,
                             paths_n, tuple(limits))


def _scaled_estimate(e: Estimate, k: float) -> Estimate:
    return Estimate(e.value * k, e.low * k, e.high * k)


UNWOUND_MIN = 1.0 - 1e-3  # mean share of the ETH sold for "fully unwound"


def _search(measure: Callable[[float], SizeStats], cap: float, alpha: float,
            max_scale: float, rel_tol: float) -> PositionLimit:
    """Largest scale meeting every constraint; each assumed to fail from some scale on."""
    calls = [0]

    def m(scale: float) -> SizeStats:
        calls[0] += 1
        return measure(scale)

    checks: dict[str, Callable[[SizeStats], bool]] = {
        "cost": lambda st: st.cost_frac.value <= cap,
        "liquidation": lambda st: st.p_liquidation.value <= alpha,
        "withdrawal": lambda st: st.share_unwound >= UNWOUND_MIN,
    }

    def failing(st: SizeStats) -> list[str]:
        return [name for name, ok in checks.items() if not ok(st)]

    lo = min(1e-3, max_scale)
    bad = failing(m(lo))
    if bad:
        return PositionLimit("", f"{bad[0]} at any size", replace(m(lo), scale=0.0, eth=0.0),
                             calls[0])
    hi = min(1.0, max_scale)
    while not failing(m(hi)):
        if hi >= max_scale:
            return PositionLimit("", "none up to max_scale", m(hi), calls[0])
        lo, hi = hi, min(hi * 2.0, max_scale)
    # Each constraint that fails at hi: its last good scale in [lo, hi]; the smallest binds.
    best: tuple[float, str] = (hi, "")
    for name in failing(m(hi)):
        if name == "cost":
            # Continuous on common paths: Brent's method on cost - cap.
            s = float(optimize.brentq(lambda x: m(x).cost_frac.value - cap, lo, hi,
                                      xtol=1e-12, rtol=rel_tol))
            while not checks["cost"](m(s)):  # brentq's point may sit a hair past the cap
                s *= 1.0 - rel_tol
        else:
            a, b = lo, hi
            while b / a > 1.0 + rel_tol:
                mid = math.sqrt(a * b)
                if checks[name](m(mid)):
                    a = mid
                else:
                    b = mid
            s = a
        if s < best[0] or not best[1]:
            best = (min(s, best[0]), name)
    return PositionLimit("", best[1], m(best[0]), calls[0])


# ---------------------------------------------------------------------------------------------
# 2. Margin buffer

OWN_IMPACT = (
    "own impact = the square-root impact (permanent and transient) of the owner's own stated "
    "sales (sell_eth_per_day, sold evenly every step; 0: the position holds) on the mid, "
    "with the proceeds repaying debt in the survival test; the position is never liquidated "
    "in the window at the required HF (by construction), hence no own-liquidation selling; "
    "the market's book cascade and followers act on the mid as the market passed in defines "
    "them; interest over the window is ignored"
)


@dataclass(frozen=True)
class _WindowTask:
    engine: _Engine
    position: UnwindPosition
    sell_eth_per_step: float
    window_steps: tuple[int, ...]
    paths: PathSpec


def _window_task(task: _WindowTask) -> FloatArray2D:
    """Per path, the running minimum of the survival ratio (see :func:`margin_buffer`)."""
    exo = task.paths.draw()
    pos = replace(task.position, debt_usd=np.zeros_like(task.position.debt_usd))
    n = exo.shape[1] - 1
    if task.sell_eth_per_step > 0:
        strategy: Strategy = Schedule(tuple([task.sell_eth_per_step] * n), label="stated-sale")
    else:
        strategy = Hold()
    res = task.engine.run(pos, [strategy], exo).results[0]
    c0 = pos.total_eth
    p0 = res.mid_usd[:, :1]
    lt = float(np.dot(pos.collateral_eth, pos.liquidation_threshold) / c0)
    sold = np.cumsum(res.sold_eth, axis=1)
    # with no debt the proceeds stay in cash: cash_usd is the proceeds so far
    ratio = (1.0 - sold / c0) * (res.mid_usd / p0) + res.cash_usd / (c0 * p0 * lt)
    running = np.minimum.accumulate(ratio, axis=1)
    out: FloatArray2D = np.ascontiguousarray(running[:, list(task.window_steps)])
    return out


@dataclass(frozen=True)
class AccountBuffer:
    """One account (or the total) against a required HF.

    ``add_collateral_eth = max(0, H d / (p LT) - c)``, ``repay_debt_usd = max(0,
    d - c p LT / H)`` (either alone reaches ``H``; from ``HF = c p LT / d``).
    """

    name: str
    collateral_eth: float
    debt_usd: float
    current_hf: float
    required_hf: float
    add_collateral_eth: float
    repay_debt_usd: float

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, and ``liquidatable_now`` (HF below 1 at the mark)."""
        return {"name": self.name, "collateral_eth": self.collateral_eth,
                "debt_usd": self.debt_usd, "current_hf": self.current_hf,
                "required_hf": self.required_hf, "add_collateral_eth": self.add_collateral_eth,
                "repay_debt_usd": self.repay_debt_usd,
                "liquidatable_now": self.liquidatable_now}

    @property
    def liquidatable_now(self) -> bool:
        """HF below 1 at the mark: Aave lets anyone liquidate it now."""
        return self.current_hf < 1.0


def account_buffers(position: UnwindPosition, price_usd: float,
                    required_hf: float) -> tuple[AccountBuffer, ...]:
    """Per account, then ``"total"`` (sums; its HF is the aggregate ``sum c p LT / sum d``)."""
    c, d, lt = position.collateral_eth, position.debt_usd, position.liquidation_threshold
    h = float(required_hf)
    rows = []
    for i, name in enumerate(position.names):
        hf = float(_hf(c[i], d[i], price_usd, lt[i]))
        add = max(0.0, h * d[i] / (price_usd * lt[i]) - c[i]) if d[i] > 0 else 0.0
        repay = max(0.0, d[i] - c[i] * price_usd * lt[i] / h)
        rows.append(AccountBuffer(name, float(c[i]), float(d[i]), hf, h, float(add),
                                  float(repay)))
    total_hf = float(_hf(float((c * lt).sum()), float(d.sum()), price_usd, 1.0))
    rows.append(AccountBuffer("total", float(c.sum()), float(d.sum()), total_hf, h,
                              math.fsum(r.add_collateral_eth for r in rows),
                              math.fsum(r.repay_debt_usd for r in rows)))
    return tuple(rows)


@dataclass(frozen=True)
class BufferRow:
    """One path source and window: the worst-case ratio and what it asks of the accounts.

    ``ratio``: the ``quantile`` (default 1st percentile) over paths of min over the window of
    mid / start, with its order-statistic 95% interval; ``required_hf = 1 / ratio`` (its
    interval ``[1/high, 1/low]``).
    """

    source: str
    window_days: float
    ratio: Estimate
    required_hf: Estimate
    accounts: tuple[AccountBuffer, ...]

    def to_dict(self) -> dict[str, Any]:
        """``source, window_days, ratio{value,low,high}, required_hf{...}, accounts[...]``."""
        return {"source": self.source, "window_days": self.window_days,
                "ratio": self.ratio.to_dict(), "required_hf": self.required_hf.to_dict(),
                "accounts": [a.to_dict() for a in self.accounts]}


@dataclass(frozen=True)
class MarginBufferResult:
    """:func:`margin_buffer`'s answer. ``recommended_hf``: the largest required HF of all rows
    (the longest window, the worse source)."""

    quantile: float
    n_paths: int
    mark_price_usd: float
    sell_eth_per_day: float
    own_impact: str
    rows: tuple[BufferRow, ...]

    @property
    def recommended_hf(self) -> float:
        """The largest required HF over the rows."""
        return max(r.required_hf.value for r in self.rows)

    def row(self, source: str, window_days: float) -> BufferRow:
        """The row of ``source`` and ``window_days``."""
        for r in self.rows:
            if r.source == source and r.window_days == window_days:
                return r
        raise KeyError((source, window_days))

    def to_dict(self) -> dict[str, Any]:
        """``quantile, n_paths, mark_price_usd, sell_eth_per_day, own_impact,
        recommended_hf, rows[BufferRow]``."""
        return {"quantile": self.quantile, "n_paths": self.n_paths,
                "mark_price_usd": self.mark_price_usd,
                "sell_eth_per_day": self.sell_eth_per_day, "own_impact": self.own_impact,
                "recommended_hf": self.recommended_hf,
                "rows": [r.to_dict() for r in self.rows]}


def margin_buffer(
    position: UnwindPosition,
    market: UnwindMarket,
    lending: LendingParams,
    *,
    mark_price_usd: float,
    windows_days: Sequence[float] = (3.0, 7.0),
    quantile: float = 0.01,
    n_paths: int = 2_000,
    seed: int = 0,
    model_step_hours: float = 1.0,
    sigma_daily: float | None = None,
    bootstrap_returns: FloatArray1D | None = None,
    bootstrap_step_hours: float = 24.0,
    block_length: float = 10.0,
    sell_eth_per_day: float = 0.0,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    client: Client | None = None,
    progress: Progress | None = None,
) -> MarginBufferResult:
    """The lowest HF that survives a k-day move at the 99th percentile, per account.

    Parameters
    ----------
    position, market, lending : the accounts, the market (its impact, book and followers act
        on the mid), the reserves.
    mark_price_usd : start price (USD).
    windows_days : the windows k (default 3 and 7 days).
    quantile : the tail probability (default 0.01: the 99th percentile move).
    n_paths, seed : paths per source; the model and bootstrap streams are independent.
    model_step_hours, sigma_daily : GBM steps (hourly) and daily sigma (default the market's).
    bootstrap_returns, bootstrap_step_hours, block_length : log returns to bootstrap (default
        :func:`historical_log_returns`, daily, demeaned), their step, mean block length.
        ``bootstrap_returns`` of size 0 skips the bootstrap source.
    sell_eth_per_day : the owner's stated sales during the window (default 0: hold).
    oracle, client, progress : as :func:`max_position`.

    Returns
    -------
    MarginBufferResult (rows: model then bootstrap, each window in order).

    Notes
    -----
    HF is linear in the price for single-collateral WETH against stablecoin debt
    (``HF = c p LT / d``). Selling ``s_t`` ETH (cumulative) for ``q_t`` USD and repaying debt
    with it, the position survives a path iff ``(c0 - s_t) p_t LT >= d0 - q_t`` at every step,
    i.e. iff ``HF0 * r >= 1`` with ``r = min_t [(1 - s_t / c0) p_t / p_0 + q_t / (c0 p_0 LT)]``
    (``min p_t / p_0`` when holding). The required HF at tail probability ``q`` is
    ``1 / r_q``, ``r_q`` the ``q``-quantile of ``r`` over paths (the position as one account;
    stated sales are taken from the accounts in proportion to their collateral). What "own
    impact" covers: see :data:`OWN_IMPACT`. Daily bootstrap steps see only daily closes, so
    they understate intraday lows (the model source is hourly).
    """
    mark = check_positive("mark_price_usd", mark_price_usd)
    q = _open_fraction("quantile", quantile)
    paths_n = check_whole("n_paths", n_paths)
    check_whole("seed", seed, 0)
    check_non_negative("sell_eth_per_day", sell_eth_per_day)
    windows = tuple(float(check_positive("windows_days", w)) for w in windows_days)
    if not windows:
        raise InvalidArgument("windows_days is empty; give at least one window, e.g. 3.")
    sigma = market.impact.sigma_daily if sigma_daily is None else check_non_negative(
        "sigma_daily", sigma_daily)
    returns = historical_log_returns() if bootstrap_returns is None else np.asarray(
        bootstrap_returns, dtype=np.float64)
    sources: list[tuple[str, float, int, FloatArray1D | None]] = [
        ("model", check_positive("model_step_hours", model_step_hours), _STREAM_BUF_MODEL,
         None)]
    if returns.size:
        sources.append(("bootstrap", check_positive("bootstrap_step_hours",
                                                    bootstrap_step_hours),
                        _STREAM_BUF_BOOT, returns))
    tasks: list[_WindowTask] = []
    owners: list[int] = []
    for j, (_, step_h, stream, rets) in enumerate(sources):
        steps = tuple(max(1, round(w * 24.0 / step_h)) for w in windows)
        specs = _specs(mark, paths_n, max(steps), seed, stream,
                       sigma_per_step=sigma * math.sqrt(step_h / 24.0), returns=rets,
                       block_length=block_length)
        engine = _Engine(market, lending, oracle, step_h)
        per_step = sell_eth_per_day * step_h / 24.0
        tasks += [_WindowTask(engine, position, per_step, steps, spec) for spec in specs]
        owners += [j] * len(specs)
    parts = map_tasks(client, _window_task, tasks, progress=progress)
    rows = []
    for j, (name, _, _, _) in enumerate(sources):
        mins = np.concatenate([p for p, o in zip(parts, owners, strict=True) if o == j])
        for col, w in enumerate(windows):
            r = quantile_ci(mins[:, col], q)
            hf = Estimate(1.0 / r.value, 1.0 / r.high, 1.0 / r.low)
            rows.append(BufferRow(name, w, r, hf, account_buffers(position, mark, hf.value)))
    return MarginBufferResult(q, paths_n, mark, float(sell_eth_per_day), OWN_IMPACT,
                              tuple(rows))


# ---------------------------------------------------------------------------------------------
# 3. Staged deleveraging


@dataclass(frozen=True)
class Batch:
    """One batch of the plan: at ``time_hours`` sell ``eth`` (split over accounts by need).

    ``mid_usd`` is the pre-trade mid, ``discount_frac = 1 - fill / mid``,
    ``sqrt_law_discount_frac`` the fresh-market ``(2/3) Y sigma sqrt(q / V)`` (the capped
    one); ``hf_after`` (aggregate) and ``hf_after_by_account`` are at the mid one interval
    later, when the transient impact has decayed (the next batch's pre-trade mid).
    """

    time_hours: float
    eth: float
    mid_usd: float
    fill_price_usd: float
    discount_frac: float
    sqrt_law_discount_frac: float
    hf_after: float
    hf_after_by_account: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """``time_hours, eth, mid_usd, fill_price_usd, discount_frac, sqrt_law_discount_frac,
        hf_after, hf_after_by_account``."""
        return {"time_hours": self.time_hours, "eth": self.eth, "mid_usd": self.mid_usd,
                "fill_price_usd": self.fill_price_usd, "discount_frac": self.discount_frac,
                "sqrt_law_discount_frac": self.sqrt_law_discount_frac,
                "hf_after": self.hf_after,
                "hf_after_by_account": list(self.hf_after_by_account)}


@dataclass(frozen=True)
class StagedPlan:
    """:func:`staged_deleveraging`'s answer.

    ``needed_eth`` is the ETH the batches sell in all (their sum); ``needed_eth_no_impact``
    the closed form at the mark with no discount, ``sum_i (H d_i - c_i p LT_i) / (p (H -
    LT_i))`` over accounts below ``H``. ``reached`` says whether every account ends at
    ``target_hf`` or above (False when ``max_batches`` ran out, or when an account is in
    ``unreachable``: selling its collateral cannot bring it to ``target_hf`` because what the
    collateral fetches does not cover its debt (``c f <= d``: an insolvent account, already
    liquidatable); the batches then serve the other accounts, and that account needs
    collateral added or debt repaid from outside).
    """

    target_hf: float
    max_batch_discount: float
    interval_hours: float
    max_batch_eth: float
    needed_eth: float
    needed_eth_no_impact: float
    proceeds_usd: float
    reached: bool
    batches: tuple[Batch, ...]
    unreachable: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields, ``batches`` a list of :meth:`Batch.to_dict`."""
        return {"target_hf": self.target_hf, "max_batch_discount": self.max_batch_discount,
                "interval_hours": self.interval_hours, "max_batch_eth": self.max_batch_eth,
                "needed_eth": self.needed_eth,
                "needed_eth_no_impact": self.needed_eth_no_impact,
                "proceeds_usd": self.proceeds_usd, "reached": self.reached,
                "unreachable_accounts": list(self.unreachable),
                "n_batches": len(self.batches),
                "batches": [b.to_dict() for b in self.batches]}


def _area(a: float, q: float, adv: float) -> float:
    """``2/3 ((a + q)^1.5 - a^1.5) / sqrt(V)``: the integral of ``sqrt(x / V)`` over
    ``[a, a + q]`` (the engine's metaorder walk, :mod:`delever.kernels.unwind`)."""
    return (2.0 / 3.0) * (math.pow(a + q, 1.5) - math.pow(a, 1.5)) / math.sqrt(adv)


def staged_deleveraging(
    position: UnwindPosition,
    market: UnwindMarket,
    *,
    mark_price_usd: float,
    target_hf: float,
    max_batch_discount: float = 0.01,
    interval_hours: float = 24.0,
    max_batches: int = 200,
) -> StagedPlan:
    """Batches of sales (proceeds repaying each account's debt) that bring it to ``target_hf``.

    Parameters
    ----------
    position, market : the accounts; the square-root market (``market.impact``, its
        permanent share and ``market.transient_half_life_hours``).
    mark_price_usd : the exogenous price, held flat over the plan (USD).
    target_hf : the HF to reach, e.g. :attr:`MarginBufferResult.recommended_hf`.
    max_batch_discount : cap on a batch's square-root discount ``(2/3) Y sigma sqrt(q / V)``
        (default 0.01), so a batch is at most ``V (1.5 cap / (Y sigma))^2`` ETH.
    interval_hours : time between batches (default 24 h, so the transient part decays).
    max_batches : give up after this many (``reached`` False).

    Returns
    -------
    StagedPlan

    Notes
    -----
    Fills follow the engine's metaorder rule (:mod:`delever.kernels.unwind`): with ``Q_all``
    sold before (permanent) and ``Q_mem`` its decayed memory (transient), a batch ``q`` at
    exogenous price ``P`` fetches ``P (q - Y sigma (perm F(Q_all, q) + (1 - perm)
    F(Q_mem, q)))``, ``F(a, q) = 2/3 ((a + q)^1.5 - a^1.5) / sqrt(V)``; the pre-trade mid is
    ``P (1 - Y sigma (perm sqrt(Q_all / V) + (1 - perm) sqrt(Q_mem / V)))`` and the HF is
    taken at the mid one interval after the batch (its permanent part and what is left of
    its transient part), so the HF holds until the next batch. Account ``i`` needs
    ``x_i = (H d_i - c_i m LT_i) / (H f - m LT_i)`` at that mid ``m`` (sell ``x_i`` at fill
    ``f``, repay, reach ``H``; the HF ladder's rule); each batch is
    ``min(cap, sum x_i)`` split in proportion to ``x_i``, ``f`` found by fixed-point
    iteration. The discount of a batch against its pre-trade mid is at most the fresh-market
    ``(2/3) Y sigma sqrt(q / V)`` (``F`` is concave), so the cap holds. An account whose
    ``x_i`` is negative, above ``c_i`` or not finite (its collateral at the fill does not
    cover its debt) cannot reach ``H`` by selling: it is listed in ``unreachable`` and left
    out of the batches.
    """
    p = check_positive("mark_price_usd", mark_price_usd)
    h = check_positive("target_hf", target_hf)
    if h < 1.0:
        raise InvalidArgument(f"target_hf={h!r} must be at least 1 (Aave liquidates below 1).")
    cap = _open_fraction("max_batch_discount", max_batch_discount)
    interval = check_positive("interval_hours", interval_hours)
    check_whole("max_batches", max_batches)
    imp = market.impact
    ys, adv, perm = imp.y_sigma, float(imp.adv_eth), float(imp.permanent_frac)
    q_cap = adv * (1.5 * cap / ys) ** 2 if ys > 0 else math.inf
    decay = market.decay_per_step(interval)
    c = position.collateral_eth.astype(np.float64).copy()
    d = position.debt_usd.astype(np.float64).copy()
    lt = position.liquidation_threshold
    below = _hf(c, d, p, lt) < h
    below = below & (c * p > d)  # an insolvent account cannot get there by selling
    no_impact = float(np.sum(np.where(below, (h * d - c * p * lt) / (p * (h - lt)), 0.0)))
    q_all = q_mem = 0.0
    mid = p
    batches: list[Batch] = []
    proceeds_total = 0.0
    # Accounts that selling cannot bring to h (insolvent at the fill): left out of the batches.
    stuck = np.zeros(c.shape, dtype=bool)

    def fill(q: float) -> float:
        if q <= 0:
            return mid
        lost = ys * (perm * _area(q_all, q, adv) + (1.0 - perm) * _area(q_mem, q, adv))
        return p * (q - lost) / q

    def settled(q: float) -> float:
        """The mid one interval after a batch ``q`` (the next batch's pre-trade mid)."""
        return p * (1.0 - ys * (perm * math.sqrt((q_all + q) / adv)
                                + (1.0 - perm) * decay * math.sqrt((q_mem + q) / adv)))

    for k in range(int(max_batches)):
        q_mem *= decay * decay  # the transient memory decays between batches
        mid = p * (1.0 - ys * (perm * math.sqrt(q_all / adv)
                               + (1.0 - perm) * math.sqrt(q_mem / adv)))
        if np.all((_hf(c, d, mid, lt) >= h * (1.0 - 1e-12)) | stuck):
            break
        need = np.zeros_like(c)
        q = 0.0
        for _ in range(100):  # fixed point: the need grows as the fill and the mid fall
            f, m_after = fill(q), settled(q)
            with np.errstate(divide="ignore", invalid="ignore"):
                need = np.where(_hf(c, d, m_after, lt) < h,
                                (h * d - c * m_after * lt) / (h * f - m_after * lt), 0.0)
            stuck |= (need < 0) | (need > c) | ~np.isfinite(need)
            need = np.where(stuck, 0.0, need)
            q_new = min(q_cap, float(need.sum()))
            if abs(q_new - q) <= 1e-13 * max(q_new, 1.0):
                q = q_new
                break
            q = q_new
        if q <= 0.0:
            break  # nothing left that selling can fix
        f, m_after = fill(q), settled(q)
        x = q * need / need.sum()
        c -= x
        d = np.maximum(d - x * f, 0.0)
        proceeds_total += q * f
        q_all += q
        q_mem += q
        hfs = _hf(c, d, m_after, lt)
        batches.append(Batch(
            time_hours=k * interval, eth=q, mid_usd=mid, fill_price_usd=f,
            discount_frac=1.0 - f / mid,
            sqrt_law_discount_frac=(2.0 / 3.0) * ys * math.sqrt(q / adv),
            hf_after=float(_hf(float((c * lt).sum()), float(d.sum()), m_after, 1.0)),
            hf_after_by_account=tuple(float(v) for v in hfs)))
    final_mid = p * (1.0 - ys * (perm * math.sqrt(q_all / adv)
                                 + (1.0 - perm) * math.sqrt(q_mem * decay * decay / adv)))
    reached = bool(np.all(_hf(c, d, final_mid, lt) >= h * (1.0 - 1e-9)))
    return StagedPlan(h, cap, interval, q_cap, math.fsum(b.eth for b in batches), no_impact,
                      proceeds_total, reached, tuple(batches),
                      tuple(name for name, s in zip(position.names, stuck, strict=True) if s))


# ---------------------------------------------------------------------------------------------
# 4. After the unwind


@dataclass(frozen=True)
class _AfterTask:
    engine: _Engine
    position: UnwindPosition
    strategies: tuple[Strategy, ...]
    paths: PathSpec


def _after_task(task: _AfterTask) -> list[dict[str, FloatArray1D]]:
    exo = task.paths.draw()
    res = task.engine.run(task.position, task.strategies, exo)
    return [{"recovery_step": r.recovery_step.astype(np.float64),
             "total_pnl_usd": r.total_pnl_usd.copy(),
             "liquidated": r.liquidated.astype(np.float64)} for r in res.results]


@dataclass(frozen=True)
class Distribution:
    """Quantiles (``SUMMARY_QUANTILES``) and mean of a per-path outcome.

    ``quantiles[i]`` is an observed value (inverted CDF); None where it is "never" (infinite).
    ``mean`` is over the finite values only.
    """

    quantiles: tuple[float | None, ...]
    mean: float | None

    @classmethod
    def of(cls, values: FloatArray1D) -> Distribution:
        """From per-path values (inf = never)."""
        x = np.sort(np.asarray(values, dtype=np.float64))
        qs = np.quantile(x, SUMMARY_QUANTILES, method="inverted_cdf")
        finite = x[np.isfinite(x)]
        return cls(tuple(float(v) if math.isfinite(v) else None for v in qs),
                   float(finite.mean()) if finite.size else None)

    def to_dict(self) -> dict[str, Any]:
        """``p05, p25, p50, p75, p95, mean``."""
        keys = [f"p{round(100 * q):02d}" for q in SUMMARY_QUANTILES]
        return {**dict(zip(keys, self.quantiles, strict=True)), "mean": self.mean}


@dataclass(frozen=True, eq=False)
class AfterRow:
    """One strategy on one path source: time to recover the cost basis and final P&L.

    ``recovery_days``: first day the mid (own impact included) is at or above the cost
    basis; ``share_recovered`` the share of paths where that happens within the horizon.
    Per-path arrays are kept for the figures (``recovery_days`` inf where never).
    """

    source: str
    strategy: str
    share_recovered: float
    p_liquidation: float
    recovery: Distribution
    final_pnl: Distribution
    recovery_days: FloatArray1D = field(repr=False)
    final_pnl_usd: FloatArray1D = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """``source, strategy, share_recovered, p_liquidation, recovery_days{p05..p95,mean},
        final_pnl_usd{p05..p95,mean}``."""
        return {"source": self.source, "strategy": self.strategy,
                "share_recovered": self.share_recovered, "p_liquidation": self.p_liquidation,
                "recovery_days": self.recovery.to_dict(),
                "final_pnl_usd": self.final_pnl.to_dict()}


@dataclass(frozen=True)
class AfterUnwindResult:
    """:func:`after_unwind`'s answer: rows (source x strategy) and the inputs."""

    horizon_days: float
    step_hours: float
    n_paths: int
    cost_basis_usd_per_eth: float
    demeaned: bool
    rows: tuple[AfterRow, ...]

    def row(self, source: str, strategy: str) -> AfterRow:
        """The row of ``source`` and ``strategy``."""
        for r in self.rows:
            if r.source == source and r.strategy == strategy:
                return r
        raise KeyError((source, strategy))

    def to_dict(self) -> dict[str, Any]:
        """``horizon_days, step_hours, n_paths, cost_basis_usd_per_eth, bootstrap_demeaned,
        rows[AfterRow]``."""
        return {"horizon_days": self.horizon_days, "step_hours": self.step_hours,
                "n_paths": self.n_paths, "cost_basis_usd_per_eth": self.cost_basis_usd_per_eth,
                "bootstrap_demeaned": self.demeaned, "rows": [r.to_dict() for r in self.rows]}


def after_unwind(
    position: UnwindPosition,
    market: UnwindMarket,
    lending: LendingParams,
    *,
    mark_price_usd: float,
    horizon_days: float = 730.0,
    step_hours: float = 24.0,
    n_paths: int = 1_000,
    seed: int = 0,
    sigma_daily: float | None = None,
    bootstrap_returns: FloatArray1D | None = None,
    block_length: float = 10.0,
    rebounds: SellIntoRebounds | None = None,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    client: Client | None = None,
    progress: Progress | None = None,
) -> AfterUnwindResult:
    """Hold, or sell into rebounds, after the unwind: recovery time and final P&L.

    Parameters
    ----------
    position, market, lending : the position left after the unwind (its cost basis), the
        market and the reserves.
    mark_price_usd : start price (USD).
    horizon_days, step_hours : default 730 days of daily steps.
    n_paths, seed : paths per source.
    sigma_daily : GBM daily sigma (default the market's); the model paths use the step.
    bootstrap_returns, block_length : log returns per step (default the shipped daily
        returns, demeaned: :func:`historical_log_returns`); size 0 skips the bootstrap.
    rebounds : the rebound rule (default :class:`SellIntoRebounds`'s illustrative 3% / 10%).
    oracle, client, progress : as :func:`max_position`.

    Returns
    -------
    AfterUnwindResult (rows: bootstrap hold, bootstrap rebound, model hold, model rebound).
    """
    mark = check_positive("mark_price_usd", mark_price_usd)
    check_positive("horizon_days", horizon_days)
    check_positive("step_hours", step_hours)
    paths_n = check_whole("n_paths", n_paths)
    check_whole("seed", seed, 0)
    n_steps = max(1, round(horizon_days * 24.0 / step_hours))
    sigma = market.impact.sigma_daily if sigma_daily is None else check_non_negative(
        "sigma_daily", sigma_daily)
    demeaned = bootstrap_returns is None
    returns = historical_log_returns() if bootstrap_returns is None else np.asarray(
        bootstrap_returns, dtype=np.float64)
    strategies: tuple[Strategy, ...] = (Hold(), rebounds or SellIntoRebounds())
    engine = _Engine(market, lending, oracle, float(step_hours))
    sources: list[tuple[str, int, FloatArray1D | None]] = []
    if returns.size:
        sources.append(("bootstrap", _STREAM_AFTER_BOOT, returns))
    sources.append(("model", _STREAM_AFTER_MODEL, None))
    tasks: list[_AfterTask] = []
    owners: list[int] = []
    for j, (_, stream, rets) in enumerate(sources):
        specs = _specs(mark, paths_n, n_steps, seed, stream,
                       sigma_per_step=sigma * math.sqrt(step_hours / 24.0), returns=rets,
                       block_length=block_length)
        tasks += [_AfterTask(engine, position, strategies, spec) for spec in specs]
        owners += [j] * len(specs)
    parts = map_tasks(client, _after_task, tasks, progress=progress)
    rows = []
    for j, (name, _, _) in enumerate(sources):
        mine = [p for p, o in zip(parts, owners, strict=True) if o == j]
        for s, strategy in enumerate(strategies):
            rec = np.concatenate([p[s]["recovery_step"] for p in mine])
            days = np.where(rec >= 0, rec * step_hours / 24.0, np.inf)
            pnl = np.concatenate([p[s]["total_pnl_usd"] for p in mine])
            liq = np.concatenate([p[s]["liquidated"] for p in mine])
            days.setflags(write=False)
            pnl.setflags(write=False)
            rows.append(AfterRow(name, strategy.name, float(np.isfinite(days).mean()),
                                 float(liq.mean()), Distribution.of(days),
                                 Distribution.of(pnl), days, pnl))
    return AfterUnwindResult(float(horizon_days), float(step_hours), paths_n,
                             position.cost_basis_usd_per_eth, demeaned, tuple(rows))


# ---------------------------------------------------------------------------------------------
# 5. Leverage heatmap


@dataclass(frozen=True)
class _HeatRowTask:
    engine: _Engine
    leverage: float
    entry_prices_usd: tuple[float, ...]
    equity_usd: float
    mark_price_usd: float
    liquidation_threshold: float
    liquidation_bonus: float
    protocol_fee: float
    paths: PathSpec


def _cell_position(task: _HeatRowTask, entry: float) -> UnwindPosition:
    return UnwindPosition(
        ("cell",), np.array([task.leverage * task.equity_usd / entry]),
        np.array([(task.leverage - 1.0) * task.equity_usd]),
        np.array([task.liquidation_threshold]), np.array([task.liquidation_bonus]),
        np.array([task.protocol_fee]), entry)


def _heat_row_task(task: _HeatRowTask) -> FloatArray2D:
    """(n_entry, 3): HF now, P(liquidation), mean loss (USD) of each cell of the row."""
    exo = task.paths.draw()
    mark = task.mark_price_usd
    out = np.empty((len(task.entry_prices_usd), 3))
    for j, entry in enumerate(task.entry_prices_usd):
        pos = _cell_position(task, entry)
        c, d = float(pos.collateral_eth[0]), float(pos.debt_usd[0])
        hf = float(_hf(c, d, mark, task.liquidation_threshold))
        if hf < 1.0:
            # Already liquidatable at the mark: liquidated (P = 1), at least the bonus on the
            # whole debt lost on top of the price move (a full close below HF 0.95).
            left = max(0.0, c * mark - (1.0 + task.liquidation_bonus) * d)
            out[j] = (hf, 1.0, task.equity_usd - left)
            continue
        r = task.engine.run(pos, [Hold()], exo).results[0]
        equity = r.eth_left * r.mid_usd[:, -1] + r.final_cash_usd - r.final_debt_usd
        out[j] = (hf, float(r.liquidated.mean()), task.equity_usd - float(equity.mean()))
    return out


@dataclass(frozen=True, eq=False)
class HeatmapResult:
    """:func:`leverage_heatmap`'s grid: rows = leverage, columns = entry price.

    ``hf_now``, ``p_liquidation``, ``expected_loss_usd``: (n_leverage, n_entry) arrays;
    ``expected_loss_frac`` = loss / equity. Loss = entry equity - mean equity at the horizon
    (``ETH left x final mid + cash - debt``), so it includes the move from the entry price to
    the mark.
    """

    leverages: FloatArray1D
    entry_prices_usd: FloatArray1D
    entry_multiples: FloatArray1D
    equity_usd: float
    mark_price_usd: float
    horizon_days: float
    n_paths: int
    hf_now: FloatArray2D
    p_liquidation: FloatArray2D
    expected_loss_usd: FloatArray2D

    @property
    def expected_loss_frac(self) -> FloatArray2D:
        """Expected loss over the entry equity."""
        out: FloatArray2D = self.expected_loss_usd / self.equity_usd
        return out

    def to_dict(self) -> dict[str, Any]:
        """``leverages, entry_prices_usd, entry_multiples, equity_usd, mark_price_usd,
        horizon_days, n_paths, hf_now, p_liquidation, expected_loss_usd, expected_loss_frac``
        (grids as lists of rows, one row per leverage)."""
        return {"leverages": self.leverages.tolist(),
                "entry_prices_usd": self.entry_prices_usd.tolist(),
                "entry_multiples": self.entry_multiples.tolist(),
                "equity_usd": self.equity_usd, "mark_price_usd": self.mark_price_usd,
                "horizon_days": self.horizon_days, "n_paths": self.n_paths,
                "hf_now": self.hf_now.tolist(), "p_liquidation": self.p_liquidation.tolist(),
                "expected_loss_usd": self.expected_loss_usd.tolist(),
                "expected_loss_frac": self.expected_loss_frac.tolist()}


DEFAULT_LEVERAGES = (1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
DEFAULT_ENTRY_MULTIPLES = tuple(round(0.8 + 0.1 * i, 1) for i in range(11))  # 0.8 .. 1.8


def leverage_heatmap(
    market: UnwindMarket,
    lending: LendingParams,
    *,
    mark_price_usd: float,
    equity_usd: float,
    leverages: Sequence[float] = DEFAULT_LEVERAGES,
    entry_multiples: Sequence[float] = DEFAULT_ENTRY_MULTIPLES,
    liquidation_threshold: float = RESERVES["WETH"].liquidation_threshold,
    liquidation_bonus: float = RESERVES["WETH"].liquidation_bonus,
    protocol_fee: float = RESERVES["WETH"].liquidation_protocol_fee,
    horizon_days: float = 30.0,
    step_hours: float = 4.0,
    n_paths: int = 500,
    seed: int = 0,
    sigma_daily: float | None = None,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    client: Client | None = None,
    progress: Progress | None = None,
) -> HeatmapResult:
    """HF now, P(liquidation) and expected loss of a position entered with leverage ``L``.

    Parameters
    ----------
    market, lending : the market (impact, book, followers) and the reserves.
    mark_price_usd : the price now (USD).
    equity_usd : the equity ``E0`` put in at entry; collateral ``L E0 / P_e`` ETH, debt
        ``(L - 1) E0`` USD (one WETH account, e.g. the scenario's equity at its cost basis).
    leverages, entry_multiples : the grid; entry price ``P_e = multiple x mark``.
    liquidation_threshold, liquidation_bonus, protocol_fee : WETH on Aave v3 Ethereum
        (0.83, 5%, 10%: the reserve parameters of :data:`delever.protocol.RESERVES`).
    horizon_days, step_hours : holding window (default 30 days of 4-hour steps).
    n_paths, seed : GBM paths (zero drift, ``sigma_daily`` default the market's); the same
        paths for every cell (one seed for every row).
    oracle, client, progress : as :func:`max_position`; one task per leverage row.

    Returns
    -------
    HeatmapResult

    Notes
    -----
    ``HF now = L / (L - 1) x (mark / P_e) x LT``. Cells below 1 are reported liquidated
    (P = 1) and not simulated; their loss is ``E0 - max(0, c p - (1 + bonus) d)`` (a full
    close with the bonus, a lower bound on the loss). The others hold over the paths.
    """
    mark = check_positive("mark_price_usd", mark_price_usd)
    e0 = check_positive("equity_usd", equity_usd)
    levs = np.array([float(x) for x in leverages], dtype=np.float64)
    mults = np.array([float(x) for x in entry_multiples], dtype=np.float64)
    if levs.size == 0 or mults.size == 0:
        raise InvalidArgument("leverages and entry_multiples must not be empty.")
    if np.any(~np.isfinite(levs)) or np.any(levs <= 1.0):
        raise InvalidArgument(f"leverages={levs.tolist()} must all be finite and > 1.")
    if np.any(~np.isfinite(mults)) or np.any(mults <= 0.0):
        raise InvalidArgument(f"entry_multiples={mults.tolist()} must all be > 0.")
    check_positive("horizon_days", horizon_days)
    check_positive("step_hours", step_hours)
    paths_n = check_whole("n_paths", n_paths)
    check_whole("seed", seed, 0)
    n_steps = max(1, round(horizon_days * 24.0 / step_hours))
    sigma = market.impact.sigma_daily if sigma_daily is None else check_non_negative(
        "sigma_daily", sigma_daily)
    # One seed for every row: the same paths in every cell (common random numbers).
    ss = _stream_seeds(seed, _STREAM_HEAT, 1)[0]
    spec = PathSpec(mark, paths_n, n_steps, ss, sigma * math.sqrt(step_hours / 24.0))
    entries = tuple(float(m * mark) for m in mults)
    engine = _Engine(market, lending, oracle, float(step_hours))
    tasks = [_HeatRowTask(engine, float(lev), entries, e0, mark, liquidation_threshold,
                          liquidation_bonus, protocol_fee, spec) for lev in levs]
    rows = map_tasks(client, _heat_row_task, tasks, progress=progress)
    grid = np.stack(rows)
    out = [np.ascontiguousarray(grid[:, :, i]) for i in range(3)]
    for arr in (*out, levs, mults):
        arr.setflags(write=False)
    entry_arr = np.array(entries)
    entry_arr.setflags(write=False)
    return HeatmapResult(levs, entry_arr, mults, e0, mark, float(horizon_days), paths_n,
                         out[0], out[1], out[2])


# ---------------------------------------------------------------------------------------------
# 6. All of it


@dataclass(frozen=True)
class Advice:
    """The five answers (:func:`advise`)."""

    max_position: MaxPositionResult
    margin_buffer: MarginBufferResult
    staged: StagedPlan
    after_unwind: AfterUnwindResult
    heatmap: HeatmapResult
    seed: int
    n_paths: int

    def to_dict(self) -> dict[str, Any]:
        """``seed, n_paths, max_position, margin_buffer, staged_deleveraging, after_unwind,
        leverage_heatmap`` (each its result's ``to_dict()``)."""
        return {"seed": self.seed, "n_paths": self.n_paths,
                "max_position": self.max_position.to_dict(),
                "margin_buffer": self.margin_buffer.to_dict(),
                "staged_deleveraging": self.staged.to_dict(),
                "after_unwind": self.after_unwind.to_dict(),
                "leverage_heatmap": self.heatmap.to_dict()}


STAGES = ("max_position", "margin_buffer", "staged_deleveraging", "after_unwind",
          "leverage_heatmap")


def advise(
    position: UnwindPosition,
    market: UnwindMarket,
    lending: LendingParams,
    *,
    mark_price_usd: float,
    n_paths: int = 1_000,
    seed: int = 0,
    alpha: float = 0.05,
    max_cost_frac: float = 0.02,
    horizon_days: float = 5.0,
    buffer_windows_days: Sequence[float] = (3.0, 7.0),
    max_batch_discount: float = 0.01,
    buffer_sell_eth_per_day: float = 0.0,
    after_horizon_days: float = 730.0,
    heatmap_horizon_days: float = 30.0,
    equity_usd: float | None = None,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    client: Client | None = None,
    progress: StageProgress | None = None,
) -> Advice:
    """Run the five analyses on one position and market.

    Parameters
    ----------
    position, market, lending, mark_price_usd : the accounts, market, reserves, price now.
    n_paths, seed : paths per Monte Carlo evaluation; one seed (independent streams per
        question).
    alpha, max_cost_frac, horizon_days : :func:`max_position`'s caps and unwind horizon.
    buffer_windows_days : :func:`margin_buffer`'s windows; its ``recommended_hf`` is the
        target of :func:`staged_deleveraging` (``max_batch_discount``, 24 h apart).
    buffer_sell_eth_per_day : the owner's sales during the buffer's windows (0: hold; e.g.
        the plan's daily sales), whose own impact and repayments the buffer counts.
    after_horizon_days : :func:`after_unwind`'s horizon (daily steps).
    heatmap_horizon_days, equity_usd : :func:`leverage_heatmap`'s window and equity (default
        the position's equity at its cost basis, ``ETH x cost - debt``, floored at 1 USD).
    oracle, client : as :func:`max_position`.
    progress : called with (stage name, tasks done, tasks in stage).

    Returns
    -------
    Advice
    """
    def stage(name: str) -> Progress | None:
        if progress is None:
            return None
        cb = progress

        def call(done: int, total: int) -> None:
            cb(name, done, total)

        return call

    mark = check_positive("mark_price_usd", mark_price_usd)
    size = max_position(position, market, lending, mark_price_usd=mark,
                        horizon_days=horizon_days, max_cost_frac=max_cost_frac, alpha=alpha,
                        n_paths=n_paths, seed=seed, oracle=oracle, client=client,
                        progress=stage("max_position"))
    buffer = margin_buffer(position, market, lending, mark_price_usd=mark,
                           windows_days=buffer_windows_days, n_paths=n_paths, seed=seed,
                           sell_eth_per_day=buffer_sell_eth_per_day,
                           oracle=oracle, client=client, progress=stage("margin_buffer"))
    plan = staged_deleveraging(position, market, mark_price_usd=mark,
                               target_hf=buffer.recommended_hf,
                               max_batch_discount=max_batch_discount)
    if progress is not None:
        progress("staged_deleveraging", 1, 1)
    after = after_unwind(position, market, lending, mark_price_usd=mark,
                         horizon_days=after_horizon_days, n_paths=n_paths, seed=seed,
                         oracle=oracle, client=client, progress=stage("after_unwind"))
    e0 = (position.total_eth * position.cost_basis_usd_per_eth - position.total_debt_usd
          if equity_usd is None else equity_usd)
    lt = float(position.liquidation_threshold[0])
    heat = leverage_heatmap(market, lending, mark_price_usd=mark, equity_usd=max(e0, 1.0),
                            liquidation_threshold=lt,
                            liquidation_bonus=float(position.liquidation_bonus[0]),
                            protocol_fee=float(position.protocol_fee[0]),
                            horizon_days=heatmap_horizon_days,
                            n_paths=max(1, min(n_paths, 500)), seed=seed, oracle=oracle,
                            client=client, progress=stage("leverage_heatmap"))
    return Advice(size, buffer, plan, after, heat, int(seed), int(n_paths))


__all__ = [
    "CHUNK_PATHS",
    "DEFAULT_ENTRY_MULTIPLES",
    "DEFAULT_LEVERAGES",
    "OWN_IMPACT",
    "STAGES",
    "AccountBuffer",
    "Advice",
    "AfterRow",
    "AfterUnwindResult",
    "Batch",
    "BufferRow",
    "Distribution",
    "HeatmapResult",
    "MarginBufferResult",
    "MaxPositionResult",
    "PathSpec",
    "PositionLimit",
    "SizeStats",
    "StagedPlan",
    "account_buffers",
    "advise",
    "after_unwind",
    "historical_log_returns",
    "leverage_heatmap",
    "margin_buffer",
    "max_position",
    "scaled_position",
    "staged_deleveraging",
]

"""1. Concentration vs liquidity: the largest multiple of the position that TWAP (and
Almgren-Chriss) can unwind within a horizon at a mean impact cost below a cap, with
P(liquidation) <= alpha."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import optimize

from delever._results import ResultContract
from delever._typing import FloatArray1D
from delever.errors import check_positive
from delever.sim.advise.common import (
    AdviceRun,
    Engine,
    PathSpec,
    Progress,
    open_fraction,
    scaled_position,
)
from delever.sim.estimators import Estimate, binomial_ci, mean_ci
from delever.sim.montecarlo import Stream, map_chunks
from delever.sim.unwind import UnwindPosition
from delever.strategy import TWAP, AlmgrenChriss
from delever.strategy.base import Strategy


@dataclass(frozen=True)
class _SizeTask:
    engine: Engine
    position: UnwindPosition
    strategy: Strategy
    scale: float
    paths: PathSpec


def _size_task(task: _SizeTask) -> dict[str, FloatArray1D]:
    exo, oracle = task.paths.draw_exo()
    pos = scaled_position(task.position, task.scale)
    r = task.engine.run(pos, [task.strategy], exo, oracle).results[0]
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
class MaxPositionResult(ResultContract):
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


@dataclass(eq=False)
class _Measure:
    """One strategy's :class:`SizeStats` at a scale, cached (the search revisits scales)."""

    run: AdviceRun
    engine: Engine
    position: UnwindPosition
    strategy: Strategy
    specs: list[PathSpec]
    progress: Progress | None
    done: list[int]
    cache: dict[float, SizeStats] = field(default_factory=dict)

    def __call__(self, scale: float) -> SizeStats:
        if scale in self.cache:
            return self.cache[scale]
        tasks = [_SizeTask(self.engine, self.position, self.strategy, scale, spec)
                 for spec in self.specs]
        parts = list(map_chunks(_size_task, tasks, client=self.run.client))
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        value = self.position.total_eth * self.run.mark_price_usd * scale
        stats = SizeStats(
            scale=scale, eth=self.position.total_eth * scale,
            cost_frac=mean_ci(cat["cost_usd"], single=0.0).scaled(1.0 / value),
            p_liquidation=binomial_ci(int(cat["liquidated"].sum()), int(self.run.n_paths)),
            share_unwound=float(cat["sold_eth"].mean() / (self.position.total_eth * scale)),
            discount_frac=float(cat["discount_usd"].mean() / value))
        self.cache[scale] = stats
        self.done[0] += len(tasks)
        if self.progress is not None:
            self.progress(self.done[0], self.done[0])
        return stats


def max_position(
    position: UnwindPosition,
    run: AdviceRun,
    *,
    horizon_days: float = 5.0,
    step_hours: float = 1.0,
    max_cost_frac: float = 0.02,
    alpha: float = 0.05,
    strategies: Sequence[Strategy] | None = None,
    max_scale: float = 1_024.0,
    rel_tol: float = 1e-3,
    progress: Progress | None = None,
) -> MaxPositionResult:
    """The largest multiple of ``position`` that can be unwound within the caps.

    Parameters
    ----------
    position : the accounts; scaled by ``s`` (collateral and debt together, same HF).
    run : the market, reserves, mark, paths (GBM, zero drift; the same for every ``s``:
        common random numbers), oracle and client; its ``Stream.MAX_POSITION`` chunks.
    horizon_days, step_hours : the unwind window (default 5 days of hourly steps).
    max_cost_frac : cap on the mean impact cost over the marked value (default 0.02).
    alpha : cap on P(liquidation) (default 0.05).
    strategies : default TWAP over the horizon and Almgren-Chriss over the horizon.
    max_scale : search ceiling; rel_tol : relative precision of ``s``.
    progress : (tasks done, total).

    Notes
    -----
    Impact cost on a path: ``sum_k exo_k sold_k - proceeds`` (the unimpacted price of each
    step times the ETH sold then, minus what the sales fetched). The cost rises with ``s``
    (about ``sqrt(s)``) and is continuous on common paths, so its crossing of the cap is
    found with Brent's method in ``s``; P(liquidation) is a step function of ``s``, assumed
    non-decreasing, and its last ``s`` within alpha is found by bisection in ``log s``; so
    is the last ``s`` at which the ETH can all be sold within the horizon (the withdrawal
    rule and the WETH reserve's free liquidity in ``run.lending``).
    """
    check_positive("horizon_days", horizon_days)
    check_positive("step_hours", step_hours)
    cap = open_fraction("max_cost_frac", max_cost_frac)
    alpha = open_fraction("alpha", alpha)
    check_positive("max_scale", max_scale)
    n_steps = max(1, round(horizon_days * 24.0 / step_hours))
    specs = run.specs(Stream.MAX_POSITION, n_steps, step_hours)
    strats = list(strategies) if strategies is not None else [
        TWAP(n_batches=n_steps), AlmgrenChriss(n_steps=n_steps)]
    engine = run.engine(step_hours)
    done = [0]
    limits = []
    for strategy in strats:
        measure = _Measure(run, engine, position, strategy, specs, progress, done)
        limit = _search(measure, cap, alpha, max_scale, rel_tol)
        limits.append(replace(limit, strategy=strategy.name, at_current=measure(1.0)))
    return MaxPositionResult(position.total_eth, float(run.mark_price_usd),
                             float(horizon_days), cap, alpha, int(run.n_paths), tuple(limits))


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



__all__ = ["UNWOUND_MIN", "MaxPositionResult", "PositionLimit", "SizeStats", "max_position"]

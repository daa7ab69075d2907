"""The liquidation-aware optimal unwind: minimise E[loss] + lambda * CVaR s.t. P(liq) <= alpha.

A *plan* is the schedule, out of a family of schedules, that minimises

    J = E[L] + lambda * CVaR_beta(L)    subject to    P(liquidation within the horizon) <= alpha

where ``L`` is the loss of the owner's equity over the horizon, marked at the end
(``L = equity_0 - equity_T``, ``equity = ETH held * mid - debt + cash``): the liquidity
discount of the sales, the permanent impact left on the ETH still held, the market's move on
that ETH, liquidation penalties, interest. Every candidate is evaluated on the same paths
(common random numbers), in the unwind engine (:mod:`delever.sim.unwind`), so the owner's own
impact, the protocol's liquidations, the WETH reserve's liquidity and, when the market carries
a borrower book and followers, the cascade are all in ``L``.

Families searched (:data:`FAMILIES`):

- ``almgren-chriss``: the AC trajectory ``x_j / X = sinh(u (1 - j/N_w)) / sinh(u)`` over an
  execution window of ``N_w`` steps, parameters (urgency ``u = kappa T >= 0``, window hours);
- ``hf-ladder``: when an account's HF falls below a trigger, sell back to a target;
  parameters (trigger, target - trigger);
- ``piecewise``: ``K`` pieces of the horizon, each selling a fraction ``f_j`` of the initial
  ETH at a constant rate (``sum f_j <= 1``, scaled down otherwise).

The search is a coarse grid for each family (all grid points in one batch of evaluations),
then scipy's Nelder–Mead from the best grid point on the penalised objective
``J + M * max(0, P_liq - alpha)`` (``M`` = 100 x the notional per unit of probability); only
points with ``P_liq <= alpha`` can be the plan. The plan's P(liquidation) is measured again on
fresh paths (another seed) and reported with its interval: an optimizer that picks among many
noisy candidates favours those whose in-sample estimate is low.

Evaluations run as Dask tasks (one per chunk of paths, every candidate of a batch in the same
task) through :func:`delever.sim.distributed.map_tasks`; chunk ``k`` draws its paths from
chunk ``k`` of the ``Stream.PLAN`` stream of :class:`delever.sim.montecarlo.MonteCarlo` and the
per-path results are joined in chunk order, so the plan is the same, byte for byte, with no
Dask, 1 worker or 2. Estimators: :mod:`delever.sim.estimators`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import scipy.optimize as sco

from delever._results import ResultContract
from delever._typing import BoolArray, FloatArray1D, FloatArray2D
from delever.errors import (
    InvalidArgument,
    check_finite,
    check_non_negative,
    check_positive,
    unknown_name,
)
from delever.market.paths import (
    DEFAULT_JUMP_INTENSITY_PER_DAY,
    DEFAULT_JUMP_MEAN,
    DEFAULT_JUMP_STD,
    gbm_paths,
    merton_paths,
)
from delever.sim.api import PathModel, ScenarioLike, build_inputs, engine_frame_of
from delever.sim.distributed import map_tasks, share
from delever.sim.estimators import (
    Estimate,
    binomial_ci,
    cvar_influence,
    half_width,
    mean_ci,
    standard_error,
    var_cvar,
    z_value,
)
from delever.sim.montecarlo import CHUNK_PATHS, MonteCarlo, Stream, chunk_sizes
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    LendingParams,
    OracleLike,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    simulate_strategies,
)
from delever.strategy import TWAP, AlmgrenChriss, HFLadder, Hold, SellAll, Strategy
from delever.strategy.rules import Schedule

if TYPE_CHECKING:
    from distributed import Client

FAMILIES = ("almgren-chriss", "hf-ladder", "piecewise")
RiskMeasure = Literal["cvar", "variance"]

# Defaults, all ILLUSTRATIVE choices of the user (not fitted): lambda = 0.1 (a dollar of
# expected loss weighs as much as ten dollars of the 95% CVaR; at lambda = 1 the CVaR of the
# ETH still held dominates and every family degenerates to selling as fast as Aave allows),
# a 5% cap on P(liq), a 7-day horizon of hourly steps, 4 pieces for the piecewise family.
DEFAULT_RISK_AVERSION = 0.1
DEFAULT_CVAR_LEVEL = 0.95
DEFAULT_ALPHA = 0.05
DEFAULT_HORIZON_HOURS = 168
DEFAULT_PIECES = 4
DEFAULT_MAXFEV = 24  # Nelder-Mead evaluations per family after the grid


# ---------------------------------------------------------------------------------------------
# Objective and metrics


@dataclass(frozen=True)
class PlanObjective:
    """What the plan minimises and under which constraint.

    Attributes
    ----------
    risk_aversion : lambda. With ``risk_measure='cvar'`` dimensionless (J = E + lambda CVaR,
        USD); with ``'variance'`` per USD (J = E + lambda Var, the Almgren–Chriss objective).
    cvar_level : beta, the CVaR's confidence level (mean of the worst 1 - beta of losses).
    alpha : the cap on P(liquidation) within the horizon (1 turns the constraint off).
    risk_measure : ``'cvar'`` (default) or ``'variance'``.
    """

    risk_aversion: float = DEFAULT_RISK_AVERSION
    cvar_level: float = DEFAULT_CVAR_LEVEL
    alpha: float = DEFAULT_ALPHA
    risk_measure: RiskMeasure = "cvar"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.risk_aversion) and self.risk_aversion >= 0):
            raise InvalidArgument(f"risk_aversion={self.risk_aversion!r} must be finite and "
                                  ">= 0; e.g. 1.0.")
        if not (0.0 < self.cvar_level < 1.0):
            raise InvalidArgument(f"cvar_level={self.cvar_level!r} must be in (0, 1); "
                                  "e.g. 0.95.")
        if not (0.0 < self.alpha <= 1.0):
            raise InvalidArgument(f"alpha={self.alpha!r} must be in (0, 1]; e.g. 0.05 for a "
                                  "5% cap on P(liquidation).")
        if self.risk_measure not in ("cvar", "variance"):
            raise unknown_name("risk_measure", self.risk_measure, ("cvar", "variance"))


@dataclass(frozen=True, eq=False)
class Outcomes:
    """Per-path outcomes of one candidate (what the evaluator returns).

    Attributes
    ----------
    loss_usd : (n_paths,) equity at the start minus equity at the end of the horizon.
    liquidated : (n_paths,) any liquidation of the owner within the horizon.
    sold_frac : (n_paths,) share of the initial ETH the owner sold.
    mean_sold_eth : (n_steps + 1,) mean over paths of ETH the owner sold in each step.
    liquidated_by_step : (n_steps + 1,) share of paths liquidated by each step.
    """

    loss_usd: FloatArray1D
    liquidated: BoolArray
    sold_frac: FloatArray1D
    mean_sold_eth: FloatArray1D
    liquidated_by_step: FloatArray1D


def _cvar(loss: FloatArray1D, level: float) -> tuple[float, float]:
    """(VaR, CVaR) at ``level`` (:func:`delever.sim.estimators.var_cvar`)."""
    return var_cvar(loss, level)


@dataclass(frozen=True)
class PlanMetrics:
    """A candidate's figures over the evaluation paths, with 95% intervals.

    ``objective_usd = mean_loss + lambda * risk``; intervals are normal-theory from each
    estimator's influence function (the CVaR's ``VaR + (L - VaR)+ / (1 - beta)``,
    Hong & Liu 2009) and Clopper–Pearson for P(liquidation).
    """

    label: str
    family: str
    params: tuple[float, ...]
    n_paths: int
    mean_loss_usd: Estimate
    cvar_loss_usd: Estimate
    std_loss_usd: float
    objective_usd: Estimate
    p_liquidation: Estimate
    mean_sold_frac: float
    feasible: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (stable keys)."""
        return {
            "label": self.label,
            "family": self.family,
            "params": list(self.params),
            "n_paths": self.n_paths,
            "mean_loss_usd": self.mean_loss_usd.to_dict(),
            "cvar_loss_usd": self.cvar_loss_usd.to_dict(),
            "std_loss_usd": self.std_loss_usd,
            "objective_usd": self.objective_usd.to_dict(),
            "p_liquidation": self.p_liquidation.to_dict(),
            "mean_sold_frac": self.mean_sold_frac,
            "feasible": self.feasible,
        }


def _estimate(values: FloatArray1D) -> Estimate:
    return mean_ci(values)


def objective_influence(loss: FloatArray1D, objective: PlanObjective
                        ) -> tuple[float, FloatArray1D, float, FloatArray1D]:
    """The objective's estimate and per-path influence values, and the CVaR's.

    Returns ``(J, psi_J, CVaR, psi_CVaR)``: ``J = mean + lambda R``; the influence of the CVaR
    is ``VaR + (L - VaR)+ / (1 - beta)`` (Hong & Liu 2009), of the variance ``(L - mean)^2``.
    ``std(psi) / sqrt(n)`` is the estimate's standard error, and ``psi_a - psi_b`` on the
    same paths gives the standard error of a difference (common random numbers).
    """
    n = loss.shape[0]
    lam = objective.risk_aversion
    cvar, cvar_infl = cvar_influence(loss, objective.cvar_level)
    if objective.risk_measure == "cvar":
        return float(loss.mean()) + lam * cvar, loss + lam * cvar_infl, cvar, cvar_infl
    centred = loss - loss.mean()
    value = float(loss.mean()) + lam * float(loss.var(ddof=1) if n > 1 else 0.0)
    return value, loss + lam * centred * centred, cvar, cvar_infl


def _half(psi: FloatArray1D) -> float:
    return half_width(psi)


def metrics(out: Outcomes, objective: PlanObjective, *, label: str, family: str,
            params: Sequence[float] = ()) -> PlanMetrics:
    """The figures of one candidate's outcomes under ``objective``."""
    loss = out.loss_usd
    n = loss.shape[0]
    value, influence, cvar, cvar_infl = objective_influence(loss, objective)
    half_cvar = _half(cvar_infl)
    half_obj = _half(influence)
    p = binomial_ci(int(out.liquidated.sum()), n)
    return PlanMetrics(
        label=label, family=family, params=tuple(float(x) for x in params), n_paths=n,
        mean_loss_usd=_estimate(loss),
        cvar_loss_usd=Estimate(cvar, cvar - half_cvar, cvar + half_cvar),
        std_loss_usd=float(loss.std(ddof=1)) if n > 1 else 0.0,
        objective_usd=Estimate(value, value - half_obj, value + half_obj),
        p_liquidation=p,
        mean_sold_frac=float(out.sold_frac.mean()),
        feasible=p.value <= objective.alpha,
    )


# ---------------------------------------------------------------------------------------------
# Candidates


def ac_sale_fractions(urgency: float, window_steps: int, n_steps: int) -> FloatArray1D:
    """Fractions of the initial ETH sold at each step by the AC trajectory with urgency u.

    Holdings ``x_j / X = sinh(u (1 - j / N_w)) / sinh(u)`` for ``j <= N_w`` (Almgren &
    Chriss 2000; ``u = kappa T``, ``u = 0`` is TWAP), nothing after the window.
    """
    w = max(1, min(int(window_steps), int(n_steps)))
    j = np.arange(w + 1, dtype=np.float64)
    u = float(urgency)
    if u < 1e-9:
        hold = 1.0 - j / w
    else:
        # sinh(u - t) / sinh(u) = exp(-t) (1 - exp(-2 (u - t))) / (1 - exp(-2 u)): no overflow
        t = u * j / w
        hold = np.exp(-t) * (-np.expm1(-2.0 * (u - t))) / (-np.expm1(-2.0 * u))
    hold[-1] = 0.0
    out = np.zeros(int(n_steps))
    out[:w] = hold[:-1] - hold[1:]
    return out


def piecewise_sale_fractions(fractions: Sequence[float], n_steps: int) -> FloatArray1D:
    """Piece ``j`` of ``K`` equal pieces of the horizon sells ``f_j`` of the initial ETH evenly.

    Negative values count as 0; when ``sum f > 1`` all are scaled down to sum to 1.
    """
    f = np.clip(np.asarray(fractions, dtype=np.float64), 0.0, None)
    total = float(f.sum())
    if total > 1.0:
        f = f / total
    edges = np.linspace(0, int(n_steps), f.shape[0] + 1).round().astype(np.int64)
    out = np.zeros(int(n_steps))
    for j in range(f.shape[0]):
        a, b = int(edges[j]), int(edges[j + 1])
        if b > a:
            out[a:b] = f[j] / (b - a)
    return out


@dataclass(frozen=True)
class Candidate:
    """One member of a family: ``family`` and its parameters (see the module docstring)."""

    family: str
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise unknown_name("family", self.family, FAMILIES)

    def canonical(self, n_steps: int, step_hours: float, *, complete: bool = False
                  ) -> Candidate:
        """The same schedule with canonical parameters (equal schedules, equal parameters).

        AC: urgency >= 0, window a whole number of steps within the horizon; ladder: trigger
        >= 1, gap >= 0; piecewise: fractions >= 0 summing to at most 1 (to exactly 1 with
        ``complete``, when any is > 0).
        """
        if self.family == "almgren-chriss":
            urgency, window_hours = self.params
            steps = max(1, min(round(window_hours / step_hours), int(n_steps)))
            return Candidate(self.family, (max(float(urgency), 0.0), steps * float(step_hours)))
        if self.family == "hf-ladder":
            trigger, gap = self.params
            return Candidate(self.family, (max(float(trigger), 1.0), max(float(gap), 0.0)))
        f = np.clip(np.asarray(self.params, dtype=np.float64), 0.0, None)
        if f.sum() > 1.0 or (complete and f.sum() > 0.0):
            f = f / f.sum()
        return Candidate(self.family, tuple(f.tolist()))

    def sale_fractions(self, n_steps: int, step_hours: float) -> FloatArray1D | None:
        """The schedule (fractions of the initial ETH per step), None for the HF ladder."""
        if self.family == "almgren-chriss":
            urgency, window_hours = self.params
            return ac_sale_fractions(max(urgency, 0.0), round(window_hours / step_hours),
                                     n_steps)
        if self.family == "piecewise":
            return piecewise_sale_fractions(self.params, n_steps)
        return None

    def strategy(self, name: str, initial_eth: float, n_steps: int,
                 step_hours: float) -> Strategy:
        """The candidate as a Strategy named ``name``."""
        if self.family == "hf-ladder":
            trigger, gap = self.params
            trigger = max(trigger, 1.0)
            return _Renamed(HFLadder(trigger=trigger, target=trigger + max(gap, 0.0)), name)
        frac = self.sale_fractions(n_steps, step_hours)
        assert frac is not None
        return Schedule(tuple((frac * initial_eth).tolist()), label=name)

    def describe(self) -> str:
        """One line for tables."""
        if self.family == "almgren-chriss":
            return (f"Almgren-Chriss, urgency kappa*T = {self.params[0]:.2f} over "
                    f"{self.params[1] / 24.0:.2f} days")
        if self.family == "hf-ladder":
            trigger = max(self.params[0], 1.0)
            if trigger <= 1.0:
                # below HF 1 Aave refuses the withdrawal the sale needs: the rule never acts
                return "HF ladder with trigger 1.000, which never sells: in effect, hold"
            return (f"HF ladder: below HF {trigger:.3f} sell back to HF "
                    f"{trigger + max(self.params[1], 0.0):.3f}")
        f = np.clip(np.asarray(self.params), 0.0, None)
        f = f / f.sum() if f.sum() > 1 else f
        return ("piecewise: " + ", ".join(f"{100 * x:.1f}%" for x in f)
                + f" of the ETH in {len(f)} equal pieces")


def baseline_strategies(n_steps: int) -> dict[str, Strategy]:
    """The comparison set: hold, sell-now, TWAP, AC and the HF ladder, built-in defaults.

    TWAP and AC use their built-in 120 hourly steps, shortened to the horizon.
    """
    n = min(120, int(n_steps))
    return {"hold": Hold(), "sell-now": SellAll(), "twap": TWAP(n_batches=n),
            "almgren-chriss": AlmgrenChriss(n_steps=n), "hf-ladder": HFLadder()}


# ---------------------------------------------------------------------------------------------
# Evaluators


class Evaluator(Protocol):
    """Evaluates candidates and named strategies on fixed paths (common random numbers)."""

    @property
    def n_steps(self) -> int: ...

    @property
    def step_hours(self) -> float: ...

    @property
    def notional_usd(self) -> float: ...

    @property
    def initial_eth(self) -> float: ...

    @property
    def paths_description(self) -> dict[str, Any]: ...

    def evaluate(self, candidates: Sequence[Candidate | Strategy]) -> list[Outcomes]: ...

    def fresh(self, seed_offset: int) -> Evaluator: ...


@dataclass(frozen=True)
class Jumps:
    """Merton jumps added to the paths (the total daily variance stays ``sigma_daily²``).

    Defaults: :data:`delever.market.paths.DEFAULT_JUMP_INTENSITY_PER_DAY` etc., ILLUSTRATIVE
    (one jump in about 50 days, log size N(-5%, 5%)), not fitted.
    """

    intensity_per_day: float = DEFAULT_JUMP_INTENSITY_PER_DAY
    mean_log: float = DEFAULT_JUMP_MEAN
    std_log: float = DEFAULT_JUMP_STD

    def __post_init__(self) -> None:
        check_non_negative("intensity_per_day", self.intensity_per_day)
        check_finite("mean_log", self.mean_log)
        check_non_negative("std_log", self.std_log)

    def diffusion_variance_daily(self, sigma_daily: float) -> float:
        """``sigma_daily² - intensity (mean² + std²)``; must stay > 0."""
        jump_var = self.intensity_per_day * (self.mean_log ** 2 + self.std_log ** 2)
        out = sigma_daily * sigma_daily - jump_var
        if out <= 0:
            raise InvalidArgument(
                f"jump variance per day {jump_var:.6g} (intensity x (mean² + std²)) must be "
                f"below sigma_daily² = {sigma_daily ** 2:.6g}; lower the intensity or sizes.")
        return out


@dataclass(frozen=True, eq=False)
class _Static:
    """What every task of an evaluator needs (sent once per worker)."""

    position: UnwindPosition
    market: UnwindMarket
    lending: LendingParams
    oracle: OracleLike
    config: SimConfig
    s0_usd: float
    sigma_daily: float
    step_hours: float
    n_steps: int
    jumps: Jumps | None = None
    path_model: PathModel | None = None

    def draw_exo(self, n_paths: int, seed: np.random.SeedSequence
                 ) -> tuple[FloatArray2D, FloatArray2D | None]:
        """The chunk's ``(mid, oracle)`` paths: the path model's (a loop's), else
        :meth:`draw` with the oracle following the mid."""
        if self.path_model is not None:
            return self.path_model.draw(n_paths, self.n_steps, self.step_hours, seed)
        return self.draw(n_paths, seed), None

    def draw(self, n_paths: int, seed: np.random.SeedSequence) -> FloatArray2D:
        """The chunk's paths: zero-drift GBM, or Merton with the same total variance."""
        rng = np.random.default_rng(seed)
        days = self.step_hours / 24.0
        if self.jumps is None:
            return gbm_paths(self.s0_usd, n_paths, self.n_steps,
                             sigma_per_step=self.sigma_daily * math.sqrt(days), seed=rng)
        j = self.jumps
        return merton_paths(
            self.s0_usd, n_paths, self.n_steps,
            sigma_per_step=math.sqrt(j.diffusion_variance_daily(self.sigma_daily) * days),
            jump_intensity_per_step=j.intensity_per_day * days, jump_mean=j.mean_log,
            jump_std=j.std_log, seed=rng)


@dataclass(frozen=True, eq=False)
class _UnwindTask:
    """One chunk of paths for every candidate of a batch (a Dask task)."""

    n_paths: int
    seed: np.random.SeedSequence
    items: tuple[Candidate | Strategy, ...]


def _as_strategies(items: Sequence[Candidate | Strategy], eth0: float, n_steps: int,
                   step_hours: float) -> list[Strategy]:
    out: list[Strategy] = []
    for idx, item in enumerate(items):
        name = f"c{idx}"
        if isinstance(item, Candidate):
            out.append(item.strategy(name, eth0, n_steps, step_hours))
        else:
            out.append(_Renamed(item, name))
    return out


class _Renamed(Strategy):
    """A strategy under another name (so two candidates never clash)."""

    def __init__(self, inner: Strategy, label: str) -> None:
        self._inner = inner
        self._label = label
        self.floor_hf = inner.floor_hf

    @property
    def name(self) -> str:
        """The label."""
        return self._label

    def rule_spec(self, context: Any) -> Any:
        """The inner strategy's spec."""
        return self._inner.rule_spec(context)

    def decide(self, obs: Any) -> FloatArray1D:
        """The inner strategy's decision."""
        return self._inner.decide(obs)


def run_unwind_task(task: _UnwindTask, static: _Static) -> list[Outcomes]:
    """Draw the chunk's GBM paths and evaluate every item on them (the worker's job)."""
    paths, oracle_paths = static.draw_exo(task.n_paths, task.seed)
    pos = static.position
    eth0 = pos.total_eth
    strategies = _as_strategies(task.items, eth0, static.n_steps, static.config.step_hours)
    sim = simulate_strategies(pos, strategies, paths, market=static.market,
                              lending=static.lending, oracle=static.oracle,
                              config=static.config, oracle_paths=oracle_paths)
    equity0 = eth0 * static.s0_usd - pos.total_debt_usd
    out = []
    for r in sim.results:
        equity_end = r.eth_left * r.mid_usd[:, -1] - r.final_debt_usd + r.final_cash_usd
        first = r.first_liquidation_step
        by_step = np.cumsum(np.bincount(first[first >= 0], minlength=static.n_steps + 1)
                            ).astype(np.float64)
        out.append(Outcomes(
            loss_usd=equity0 - equity_end,
            liquidated=r.liquidated.copy(),
            sold_frac=r.sold_total_eth / eth0 if eth0 > 0 else np.zeros(r.n_paths),
            mean_sold_eth=r.sold_eth.sum(axis=0),  # summed here, divided after joining
            liquidated_by_step=by_step,
        ))
    return out


def _join(parts: list[list[Outcomes]], n_total: int) -> list[Outcomes]:
    """Concatenate per-chunk outcomes in chunk order; per-step sums become means."""
    joined = []
    for j in range(len(parts[0])):
        chunk = [p[j] for p in parts]
        joined.append(Outcomes(
            loss_usd=np.concatenate([c.loss_usd for c in chunk]),
            liquidated=np.concatenate([c.liquidated for c in chunk]),
            sold_frac=np.concatenate([c.sold_frac for c in chunk]),
            mean_sold_eth=np.sum([c.mean_sold_eth for c in chunk], axis=0) / n_total,
            liquidated_by_step=np.sum([c.liquidated_by_step for c in chunk], axis=0) / n_total,
        ))
    return joined


@dataclass(frozen=True, eq=False)
class UnwindEvaluator:
    """Candidates through the unwind engine on zero-drift GBM paths drawn chunk by chunk.

    Chunk ``k`` of ``chunk_paths`` paths is drawn from chunk ``k`` of ``Stream.PLAN`` on
    whichever worker runs it; every candidate of a batch sees the same paths (common random
    numbers) and every batch the same paths as the others.
    """

    position: UnwindPosition
    market: UnwindMarket
    lending: LendingParams
    s0_usd: float
    sigma_daily: float
    n_paths: int = 10_000
    n_steps: int = DEFAULT_HORIZON_HOURS
    step_hours: float = 1.0
    seed: int = 0
    chunk_paths: int = CHUNK_PATHS
    oracle: OracleLike = CHAINLINK_ETH_USD
    config: SimConfig = field(default_factory=SimConfig)
    jumps: Jumps | None = None  # None: GBM
    client: Client | None = None
    progress: Callable[[int], None] | None = None  # called with evaluations done
    path_model: PathModel | None = None  # a loop's exchange-rate paths instead of GBM
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_positive("s0_usd", self.s0_usd)
        if self.path_model is not None and self.jumps is not None:
            raise InvalidArgument("jumps apply to the GBM paths; a loop's exchange-rate paths "
                                  "have their own slashing jumps: drop jumps.")
        check_positive("step_hours", self.step_hours)
        if self.jumps is not None:
            self.jumps.diffusion_variance_daily(self.sigma_daily)
        chunk_sizes(self.n_paths, self.chunk_paths)  # validates both
        if isinstance(self.n_steps, bool) or int(self.n_steps) < 1:
            raise InvalidArgument(f"n_steps={self.n_steps!r} must be a whole number >= 1.")

    @property
    def notional_usd(self) -> float:
        """The position's ETH at the start price."""
        return self.position.total_eth * self.s0_usd

    @property
    def initial_eth(self) -> float:
        """The position's ETH."""
        return self.position.total_eth

    @property
    def paths_description(self) -> dict[str, Any]:
        """The path model for reports: ``model`` (gbm / merton), its numbers, the seed."""
        if self.path_model is not None:
            return {**self.path_model.describe(), "seed": self.seed,
                    "chunk_paths": self.chunk_paths}
        j = self.jumps
        return {"model": "gbm" if j is None else "merton", "sigma_daily": self.sigma_daily,
                "jumps": None if j is None else dataclasses.asdict(j),
                "seed": self.seed, "chunk_paths": self.chunk_paths}

    def _config(self) -> SimConfig:
        return dataclasses.replace(self.config, step_hours=float(self.step_hours))

    def _shared(self) -> Any:
        """The static inputs; with a client, scattered to the workers once per evaluator."""
        if "static" not in self._cache:
            static = _Static(self.position, self.market, self.lending, self.oracle,
                             self._config(), float(self.s0_usd), float(self.sigma_daily),
                             float(self.step_hours), int(self.n_steps), self.jumps,
                             self.path_model)
            self._cache["static"] = (static if self.client is None
                                     else share(self.client, static))
        return self._cache["static"]

    def evaluate(self, candidates: Sequence[Candidate | Strategy]) -> list[Outcomes]:
        """Per-path outcomes of each candidate, in order."""
        items = tuple(candidates)
        if not items:
            return []
        mc = MonteCarlo(self.seed, self.n_paths, self.chunk_paths)
        sizes = mc.sizes
        seeds = mc.chunk_seeds(Stream.PLAN)
        tasks = [_UnwindTask(size, ss, items) for size, ss in zip(sizes, seeds, strict=True)]
        parts = map_tasks(self.client, run_unwind_task, tasks, shared=self._shared())
        if self.progress is not None:
            self.progress(len(items))
        return _join(parts, self.n_paths)

    def fresh(self, seed_offset: int) -> UnwindEvaluator:
        """The same evaluator on other paths: seed ``seed + seed_offset``."""
        return dataclasses.replace(self, seed=self.seed + int(seed_offset))


@dataclass(frozen=True, eq=False)
class LinearImpactEvaluator:
    """The Almgren–Chriss world, for checking the optimizer against the closed form.

    Arithmetic Brownian price ``S_j = S_{j-1} + sigma sqrt(tau) xi_j - gamma n_j``, trade ``j``
    filled at ``S_{j-1} - eta n_j / tau``, loss ``X S_0 - sum n_j fill_j`` (Almgren & Chriss
    2000, section 2), no lending and no liquidation. With ``whiten=True`` the normal draws are
    transformed so that their sample mean is 0 and sample covariance the identity: the Monte
    Carlo mean and variance of a linear-impact loss are then exactly the model's.
    Only schedule candidates (``almgren-chriss``, ``piecewise``) apply.
    """

    qty_eth: float
    s0_usd: float
    sigma_usd_per_sqrt_day: float
    eta: float
    gamma: float
    n_steps: int
    step_hours: float = 24.0
    n_paths: int = 4_000
    seed: int = 0
    whiten: bool = True

    @property
    def notional_usd(self) -> float:
        """X S_0."""
        return self.qty_eth * self.s0_usd

    @property
    def initial_eth(self) -> float:
        """X."""
        return self.qty_eth

    @property
    def paths_description(self) -> dict[str, Any]:
        """The arithmetic random walk of the Almgren-Chriss model."""
        return {"model": "arithmetic-brownian", "sigma_usd_per_sqrt_day":
                self.sigma_usd_per_sqrt_day, "jumps": None, "seed": self.seed,
                "whiten": self.whiten}

    def _normals(self) -> FloatArray2D:
        mc = MonteCarlo(self.seed, self.n_paths)
        z = np.concatenate([d.rng.standard_normal((d.paths.stop - d.paths.start, self.n_steps))
                            for d in mc.chunks(Stream.PLAN)])
        if self.whiten:
            z = z - z.mean(axis=0)
            cov = np.cov(z, rowvar=False, ddof=1).reshape(self.n_steps, self.n_steps)
            chol = np.linalg.cholesky(cov)
            z = np.linalg.solve(chol, z.T).T
        return z

    def evaluate(self, candidates: Sequence[Candidate | Strategy]) -> list[Outcomes]:
        """Per-path losses of each schedule candidate."""
        z = self._normals()
        tau = self.step_hours / 24.0
        out = []
        for c in candidates:
            if not isinstance(c, Candidate) or c.family == "hf-ladder":
                raise InvalidArgument("LinearImpactEvaluator evaluates schedule candidates "
                                      "(almgren-chriss, piecewise) only.")
            frac = c.sale_fractions(self.n_steps, self.step_hours)
            assert frac is not None
            trades = frac * self.qty_eth
            # S_{j-1} = S_0 + sigma sqrt(tau) sum_{i<j} xi_i - gamma sum_{i<j} n_i
            noise = self.sigma_usd_per_sqrt_day * math.sqrt(tau) * np.cumsum(z, axis=1)
            before = np.empty_like(noise)
            before[:, 0] = self.s0_usd
            before[:, 1:] = self.s0_usd + noise[:, :-1]
            perm = self.gamma * np.concatenate(([0.0], np.cumsum(trades)[:-1]))
            fill = before - perm - self.eta * trades / tau
            sold = float(trades.sum())
            # unsold ETH is marked at the last price
            end = self.s0_usd + noise[:, -1] - self.gamma * sold
            value = fill @ trades + (self.qty_eth - sold) * end
            n = self.n_paths
            out.append(Outcomes(
                loss_usd=self.qty_eth * self.s0_usd - value,
                liquidated=np.zeros(n, dtype=bool),
                sold_frac=np.full(n, sold / self.qty_eth),
                mean_sold_eth=np.concatenate(([0.0], trades)),
                liquidated_by_step=np.zeros(self.n_steps + 1),
            ))
        return out

    def fresh(self, seed_offset: int) -> LinearImpactEvaluator:
        """Other paths."""
        return dataclasses.replace(self, seed=self.seed + int(seed_offset))


# ---------------------------------------------------------------------------------------------
# The search


@dataclass(frozen=True)
class FamilyBest:
    """The best feasible member of a family (None if none was feasible)."""

    family: str
    candidate: Candidate | None
    metrics: PlanMetrics | None
    evaluations: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (stable keys)."""
        return {
            "family": self.family,
            "description": self.candidate.describe() if self.candidate else None,
            "metrics": self.metrics.to_dict() if self.metrics else None,
            "evaluations": self.evaluations,
        }


def param_names(family: str, n_params: int) -> tuple[str, ...]:
    """Names of a family's parameters (units in the names)."""
    if family == "almgren-chriss":
        return ("urgency", "window_hours")
    if family == "hf-ladder":
        return ("trigger_hf", "gap_hf")
    return tuple(f"piece_{i + 1}_frac" for i in range(n_params))


@dataclass(frozen=True)
class NearOptimal:
    """The schedules of the plan's family that Monte Carlo cannot tell from the best.

    A feasible candidate is in the set when the paired interval of its objective minus the
    best one's (same paths; 95% simultaneous over the candidates compared, Bonferroni)
    includes 0. ``best`` is the raw argmin (a noisy point when the
    objective is flat); the plan is ``centre``'s nearest member: the candidate closest to
    the median of the set's parameters, each scaled by its search bounds.
    ``objective_tolerance_usd`` is the largest objective gap to the best inside the set.
    """

    family: str
    n_candidates: int
    objective_tolerance_usd: float
    parameter_ranges: dict[str, tuple[float, float]]
    centre: dict[str, float]
    best: Candidate
    best_objective_usd: float

    def to_dict(self) -> dict[str, Any]:
        """``family, n_candidates, objective_tolerance_usd, parameter_ranges{name: [lo, hi]},
        centre{name: value}, best_params, best_objective_usd``."""
        return {"family": self.family, "n_candidates": self.n_candidates,
                "objective_tolerance_usd": self.objective_tolerance_usd,
                "parameter_ranges": {k: list(v) for k, v in self.parameter_ranges.items()},
                "centre": dict(self.centre), "best_params": list(self.best.params),
                "best_objective_usd": self.best_objective_usd}

    def ranges_text(self) -> str:
        """``trigger_hf 1.15-1.25, target_hf 1.30-1.49`` (the ranges over the set)."""
        return ", ".join(f"{k} {lo:.3g}-{hi:.3g}" for k, (lo, hi)
                         in self.parameter_ranges.items())

    def text(self, numeraire: str = "USD") -> str:
        """One sentence: how wide the near-optimal set is, and that the plan is its centre
        (values in ``numeraire``: USD, or a loop's ETH)."""
        if self.n_candidates <= 1:
            return ("No other schedule evaluated in this family is within Monte Carlo error "
                    "of the best.")
        tolerance = (f"${self.objective_tolerance_usd:,.0f}" if numeraire == "USD" else
                     f"{self.objective_tolerance_usd:,.4g} {numeraire}")
        return (f"{self.n_candidates} schedules of the {self.family} family are within Monte "
                f"Carlo error of the best (objective within "
                f"{tolerance}, paired simultaneous 95% intervals): "
                f"{self.ranges_text()}; the plan is the centre of that set, not its noisiest "
                "point.")


def _near_optimal(search: _Search, best: Candidate, pieces: int
                  ) -> tuple[NearOptimal, Candidate]:
    """The near-optimal set around ``best`` (see :class:`NearOptimal`) and its centre."""
    ev, objective = search.evaluator, search.objective
    best_key = (best.family, best.params)
    value_best, psi_best, _, _ = objective_influence(search.outcomes[best_key].loss_usd,
                                                     objective)
    members = [key for key, m in search.seen.items()
               if key[0] == best.family and m.feasible and key != best_key]
    # Simultaneous 95% intervals (Bonferroni over the comparisons): the best of many noisy
    # candidates is itself biased low, so one-at-a-time intervals would exclude ties.
    z = z_value(1.0 - 0.05 / max(1, len(members)))
    keys = [best_key]
    gaps = [0.0]
    for key in members:
        value, psi, _, _ = objective_influence(search.outcomes[key].loss_usd, objective)
        gap = value - value_best
        diff = psi - psi_best
        half = z * standard_error(diff)  # nan below two paths
        if gap - half <= 0.0:  # the interval of the difference holds 0
            keys.append(key)
            gaps.append(gap)
    params = np.array([k[1] for k in keys], dtype=np.float64)
    names = list(param_names(best.family, params.shape[1]))
    if best.family == "hf-ladder":  # the level the ladder sells back to
        params = np.column_stack([params, params[:, 0] + params[:, 1]])
        names.append("target_hf")
    lo, hi = _bounds(best.family, ev.n_steps, ev.step_hours, pieces)
    if best.family == "hf-ladder":
        lo, hi = np.append(lo, lo[0] + lo[1]), np.append(hi, hi[0] + hi[1])
    scaled = (params - lo) / np.where(hi > lo, hi - lo, 1.0)
    centre = np.median(scaled, axis=0)
    dist = np.sqrt(((scaled - centre) ** 2).sum(axis=1))
    i = min(range(len(keys)), key=lambda j: (dist[j], gaps[j], keys[j][1]))
    chosen = Candidate(best.family, keys[i][1])
    centre_raw = np.median(params, axis=0)
    near = NearOptimal(
        family=best.family, n_candidates=len(keys),
        objective_tolerance_usd=float(max(gaps)),
        parameter_ranges={n: (float(params[:, j].min()), float(params[:, j].max()))
                          for j, n in enumerate(names)},
        centre={n: float(centre_raw[j]) for j, n in enumerate(names)},
        best=best, best_objective_usd=float(value_best))
    return near, chosen


@dataclass(frozen=True, eq=False)
class PlanResult(ResultContract):
    """The optimum, the families' bests, the baselines, and which constraint binds.

    ``binding`` is ``'liquidation'`` when the best schedule ignoring the cap on P(liq) breaks
    it (the cap costs ``constraint_cost_usd`` of objective), ``'none'`` when it does not,
    ``'infeasible'`` when no schedule evaluated meets the cap (the plan is then the one with
    the lowest P(liq)). ``withdrawal_shortfall_eth`` is the mean ETH of a schedule plan's
    intended sales that Aave's withdrawal rule (HF >= 1 after each withdrawal) or the WETH
    reserve's free liquidity kept it from selling within the horizon (0 for the HF ladder,
    which has no fixed intent). ``plan_gain_usd[name]`` is the baseline's objective minus the
    plan's with a 95% interval paired on the same paths (common random numbers): an interval
    above 0 means the plan is better beyond Monte Carlo error.
    """

    objective: PlanObjective
    plan: Candidate
    plan_metrics: PlanMetrics
    fresh_p_liquidation: Estimate
    families: tuple[FamilyBest, ...]
    baselines: tuple[PlanMetrics, ...]
    unconstrained: PlanMetrics
    binding: Literal["liquidation", "none", "infeasible"]
    constraint_cost_usd: float
    withdrawal_shortfall_eth: float
    evaluations: int
    n_paths: int
    n_steps: int
    step_hours: float
    initial_eth: float
    plan_mean_sold_eth: FloatArray1D = field(repr=False)
    plan_liquidated_by_step: FloatArray1D = field(repr=False)
    baseline_mean_sold_eth: dict[str, FloatArray1D] = field(repr=False)
    plan_gain_usd: dict[str, Estimate] = field(default_factory=dict)
    paths: dict[str, Any] = field(default_factory=dict)
    near_optimal: NearOptimal | None = None

    def binding_text(self, numeraire: str = "USD") -> str:
        """One sentence saying which constraint binds."""
        a = self.objective.alpha
        u = self.unconstrained
        if self.binding == "infeasible":
            text = (f"No schedule evaluated keeps P(liquidation) <= {a:.1%}; the plan is the "
                    f"one with the lowest, {self.plan_metrics.p_liquidation.value:.2%}.")
        elif self.binding == "liquidation":
            text = (f"The liquidation cap binds: the best schedule without it ({u.label}) has "
                    f"P(liquidation) {u.p_liquidation.value:.2%} > {a:.1%}; meeting the cap "
                    + (f"costs ${self.constraint_cost_usd:,.0f} of objective."
                       if numeraire == "USD" else
                       f"costs {self.constraint_cost_usd:,.4g} {numeraire} of objective."))
        else:
            text = (f"The liquidation cap does not bind: the best schedule has P(liquidation) "
                    f"{self.plan_metrics.p_liquidation.value:.2%} <= {a:.1%}.")
        if self.withdrawal_shortfall_eth > 1e-3 * self.initial_eth:
            text += (f" Aave's withdrawal rule or the WETH reserve's free liquidity kept "
                     f"{self.withdrawal_shortfall_eth:,.0f} ETH of the plan's sales from "
                     "being made (mean over paths).")
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (stable keys; see the README)."""
        obj = self.objective
        return {
            "objective": {"risk_aversion": obj.risk_aversion, "cvar_level": obj.cvar_level,
                          "alpha": obj.alpha, "risk_measure": obj.risk_measure},
            "n_paths": self.n_paths,
            "n_steps": self.n_steps,
            "step_hours": self.step_hours,
            "paths": dict(self.paths),
            "initial_eth": self.initial_eth,
            "plan": {"family": self.plan.family, "params": list(self.plan.params),
                     "description": self.plan.describe(),
                     "metrics": self.plan_metrics.to_dict(),
                     "fresh_p_liquidation": self.fresh_p_liquidation.to_dict(),
                     "daily_sold_eth": self.daily_sold_eth().tolist()},
            "binding": self.binding,
            "binding_text": self.binding_text(),
            # NaN when infeasible (no constrained plan to compare): null by design
            "constraint_cost_usd": (None if math.isnan(self.constraint_cost_usd)
                                    else self.constraint_cost_usd),
            "withdrawal_shortfall_eth": self.withdrawal_shortfall_eth,
            "unconstrained": self.unconstrained.to_dict(),
            "families": [f.to_dict() for f in self.families],
            "baselines": [b.to_dict() for b in self.baselines],
            "plan_gain_usd": {k: v.to_dict() for k, v in self.plan_gain_usd.items()},
            "evaluations": self.evaluations,
            "near_optimal": None if self.near_optimal is None else self.near_optimal.to_dict(),
        }

    def paths_label(self) -> str:
        """``GBM``, ``Merton (jumps)`` or the model's name."""
        model = str(self.paths.get("model", "?"))
        return {"gbm": "GBM", "merton": "Merton (jumps)"}.get(model, model)

    def daily_sold_eth(self) -> FloatArray1D:
        """The plan's mean ETH sold per day of the horizon (the batches to place)."""
        per_step = self.plan_mean_sold_eth[1:]
        steps_per_day = max(1, round(24.0 / self.step_hours))
        n_days = math.ceil(per_step.shape[0] / steps_per_day)
        padded = np.zeros(n_days * steps_per_day)
        padded[: per_step.shape[0]] = per_step
        out: FloatArray1D = padded.reshape(n_days, steps_per_day).sum(axis=1)
        return out

    def table(self) -> list[PlanMetrics]:
        """The plan first, then the baselines."""
        return [self.plan_metrics, *self.baselines]

    def summary(self) -> str:
        """A few lines for the terminal."""
        m = self.plan_metrics
        lines = [
            f"Plan ({self.n_paths:,} {self.paths_label()} paths x {self.n_steps} steps of "
            f"{self.step_hours:g} h, "
            f"{self.evaluations} candidates): {self.plan.describe()}",
            f"  objective ${m.objective_usd.value:,.0f} (E[loss] ${m.mean_loss_usd.value:,.0f} "
            f"+ {self.objective.risk_aversion:g} x CVaR{self.objective.cvar_level:.0%} "
            f"${m.cvar_loss_usd.value:,.0f}), P(liq) {m.p_liquidation.value:.2%} "
            f"(fresh paths {self.fresh_p_liquidation.value:.2%})",
            "  " + self.binding_text(),
        ]
        if self.near_optimal is not None:
            lines.append("  " + self.near_optimal.text())
        for b in self.baselines:
            lines.append(f"  {b.label:>15}: objective ${b.objective_usd.value:,.0f}, "
                         f"P(liq) {b.p_liquidation.value:.2%}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _grid(family: str, n_steps: int, step_hours: float, pieces: int) -> list[Candidate]:
    horizon_h = n_steps * step_hours
    if family == "almgren-chriss":
        windows = sorted({min(h, horizon_h) for h in (24.0, 48.0, 72.0, 120.0, horizon_h)})
        return [Candidate(family, (u, w)) for u in (0.0, 1.0, 3.0, 8.0) for w in windows]
    if family == "hf-ladder":
        return [Candidate(family, (t, g)) for t in (1.05, 1.15, 1.3, 1.5, 1.8)
                for g in (0.1, 0.3, 0.6)]
    out = []
    for total in (0.25, 0.5, 0.75, 1.0):
        for weights in ("even", "front", "first"):
            if weights == "even":
                w = np.full(pieces, 1.0 / pieces)
            elif weights == "front":
                w = np.arange(pieces, 0, -1, dtype=np.float64)
                w /= w.sum()
            else:
                w = np.zeros(pieces)
                w[0] = 1.0
            out.append(Candidate(family, tuple((total * w).tolist())))
    return out


def _bounds(family: str, n_steps: int, step_hours: float, pieces: int
            ) -> tuple[FloatArray1D, FloatArray1D]:
    if family == "almgren-chriss":
        return np.array([0.0, step_hours]), np.array([30.0, n_steps * step_hours])
    if family == "hf-ladder":
        return np.array([1.0, 0.0]), np.array([4.0, 3.0])
    return np.zeros(pieces), np.ones(pieces)


@dataclass
class _Search:
    """The bookkeeping of one optimisation: every evaluation, its metrics, the best ones."""

    evaluator: Evaluator
    objective: PlanObjective
    seen: dict[tuple[str, tuple[float, ...]], PlanMetrics] = field(default_factory=dict)
    outcomes: dict[tuple[str, tuple[float, ...]], Outcomes] = field(default_factory=dict)

    def run(self, cands: Sequence[Candidate]) -> list[PlanMetrics]:
        todo = [c for c in dict.fromkeys(cands) if (c.family, c.params) not in self.seen]
        if todo:
            for c, out in zip(todo, self.evaluator.evaluate(todo), strict=True):
                key = (c.family, c.params)
                self.seen[key] = metrics(out, self.objective, label=c.family,
                                         family=c.family, params=c.params)
                self.outcomes[key] = out
        return [self.seen[(c.family, c.params)] for c in cands]

    def penalised(self, m: PlanMetrics) -> float:
        excess = max(0.0, m.p_liquidation.value - self.objective.alpha)
        return m.objective_usd.value + 100.0 * self.evaluator.notional_usd * excess


def optimize_family(search: _Search, family: str, *, pieces: int = DEFAULT_PIECES,
                    maxfev: int = DEFAULT_MAXFEV, complete: bool = False) -> FamilyBest:
    """Grid, then Nelder–Mead on the penalised objective within the family's bounds.

    ``complete``: piecewise schedules sell all the ETH (as AC's do), as in the Almgren–Chriss
    problem; otherwise they may sell part of it and keep the rest.
    """
    ev = search.evaluator
    grid = [c.canonical(ev.n_steps, ev.step_hours, complete=complete)
            for c in _grid(family, ev.n_steps, ev.step_hours, pieces)]
    before = len(search.seen)
    scored = search.run(grid)
    lo, hi = _bounds(family, ev.n_steps, ev.step_hours, pieces)
    best_i = min(range(len(grid)), key=lambda i: (search.penalised(scored[i]), i))
    x0 = np.clip(np.asarray(grid[best_i].params, dtype=np.float64), lo, hi)

    def f(x: FloatArray1D) -> float:
        params = tuple(float(v) for v in np.clip(x, lo, hi))
        cand = Candidate(family, params).canonical(ev.n_steps, ev.step_hours,
                                                   complete=complete)
        return search.penalised(search.run([cand])[0])

    if maxfev > 0:
        # initial simplex: 20% of each bound's range from the start (inside the box)
        step = 0.2 * (hi - lo)
        simplex = [x0]
        for d in range(x0.shape[0]):
            x = x0.copy()
            x[d] = x[d] + step[d] if x[d] + step[d] <= hi[d] else x[d] - step[d]
            simplex.append(x)
        sco.minimize(f, x0, method="Nelder-Mead",
                     options={"maxfev": int(maxfev), "initial_simplex": np.array(simplex),
                              "xatol": 1e-6, "fatol": 1e-9 * ev.notional_usd})
    members = [(k, m) for k, m in search.seen.items() if k[0] == family]
    feasible = [(k, m) for k, m in members if m.feasible]
    evaluations = len(search.seen) - before
    if not feasible:
        return FamilyBest(family, None, None, evaluations)
    k, m = min(feasible, key=lambda km: (km[1].objective_usd.value, km[0][1]))
    cand = Candidate(family, k[1])
    return FamilyBest(family, cand, _relabel(m, "plan: " + family), evaluations)


def _relabel(m: PlanMetrics, label: str) -> PlanMetrics:
    return dataclasses.replace(m, label=label)


def _check_families(families: Sequence[str], pieces: int) -> list[str]:
    """The families, each once, in order; InvalidArgument for none, an unknown one or bad
    ``pieces``."""
    fams = list(dict.fromkeys(families))
    if not fams:
        raise InvalidArgument("families is empty; give at least one of " + ", ".join(FAMILIES))
    for fam in fams:
        if fam not in FAMILIES:
            raise unknown_name("family", fam, FAMILIES)
    if isinstance(pieces, bool) or int(pieces) < 1:
        raise InvalidArgument(f"pieces={pieces!r} must be a whole number >= 1.")
    return fams


def _choose(search: _Search, feasible: list[FamilyBest], fams: list[str], pieces: int
            ) -> tuple[Candidate, PlanMetrics, NearOptimal | None]:
    """The plan: the centre of the near-optimal set of the best feasible family; with none
    feasible, the candidate least often liquidated."""
    if feasible:
        top = min(feasible, key=lambda b: (b.metrics.objective_usd.value  # type: ignore[union-attr]
                                           , fams.index(b.family)))
        assert top.candidate is not None and top.metrics is not None
        # The argmin is one noisy point of a flat objective: recommend the centre of the
        # schedules Monte Carlo cannot tell from it.
        near, plan = _near_optimal(search, top.candidate, pieces)
        return plan, _relabel(search.seen[(plan.family, plan.params)],
                              "plan: " + plan.family), near
    k = min(list(search.seen), key=lambda key: (search.seen[key].p_liquidation.value,
                                                search.seen[key].objective_usd.value))
    return Candidate(k[0], k[1]), _relabel(search.seen[k], "plan: " + k[0]), None


def _binding(any_feasible: bool, free: PlanMetrics, plan_m: PlanMetrics
             ) -> tuple[Literal["liquidation", "none", "infeasible"], float]:
    """Which constraint binds, and what it costs (objective of the plan minus the free one)."""
    if not any_feasible:
        return "infeasible", math.nan
    if free.objective_usd.value < plan_m.objective_usd.value and not free.feasible:
        return "liquidation", plan_m.objective_usd.value - free.objective_usd.value
    return "none", 0.0


def _gains(plan_out: Outcomes, plan_m: PlanMetrics, base: dict[str, Outcomes],
           objective: PlanObjective) -> list[tuple[str, Estimate]]:
    """Each baseline's objective minus the plan's, with its paired interval (same paths)."""
    _, psi_plan, _, _ = objective_influence(plan_out.loss_usd, objective)
    gains = []
    for name, o in base.items():
        value_b, psi_b, _, _ = objective_influence(o.loss_usd, objective)
        diff = psi_b - psi_plan
        gain = value_b - plan_m.objective_usd.value
        gains.append((name, Estimate(gain, gain - _half(diff), gain + _half(diff))))
    return gains


def optimize_schedule(
    evaluator: Evaluator,
    objective: PlanObjective = PlanObjective(),
    *,
    families: Sequence[str] = FAMILIES,
    pieces: int = DEFAULT_PIECES,
    maxfev: int = DEFAULT_MAXFEV,
    complete: bool = False,
    baselines: dict[str, Strategy] | None = None,
    fresh_seed_offset: int = 1_000_003,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Search the families for the plan; compare with the baselines; re-check on fresh paths.

    Parameters
    ----------
    evaluator : :class:`UnwindEvaluator` (the engine) or :class:`LinearImpactEvaluator`.
    objective : lambda, the CVaR level, the cap alpha on P(liquidation).
    families : subset of :data:`FAMILIES`.
    pieces : K of the piecewise family.
    maxfev : Nelder–Mead evaluations per family after the grid (0: grid only).
    complete : piecewise schedules must sell all the ETH within the horizon.
    baselines : named strategies to compare (default :func:`baseline_strategies`; ``{}``
        for none, e.g. with the linear evaluator).
    fresh_seed_offset : the fresh paths use seed ``seed + offset``.
    progress : called with a short message as each stage starts.

    Returns
    -------
    PlanResult
    """
    fams = _check_families(families, pieces)
    search = _Search(evaluator, objective)
    bests = []
    for fam in fams:
        if progress is not None:
            progress(f"searching {fam}")
        bests.append(optimize_family(search, fam, pieces=int(pieces), maxfev=maxfev,
                                     complete=complete))
    base = baseline_strategies(evaluator.n_steps) if baselines is None else baselines
    if progress is not None and base:
        progress("baselines")
    base_out = evaluator.evaluate(list(base.values())) if base else []
    base_metrics = tuple(metrics(o, objective, label=name, family="baseline")
                         for name, o in zip(base, base_out, strict=True))
    feasible = [b for b in bests if b.metrics is not None]
    keys = list(search.seen)  # the searched candidates (before the near-optimal centre)
    plan, plan_m, near = _choose(search, feasible, fams, int(pieces))
    k_free = min(keys, key=lambda key: (search.seen[key].objective_usd.value, key[1]))
    free = _relabel(search.seen[k_free], "unconstrained: " + k_free[0])
    binding, gap = _binding(bool(feasible), free, plan_m)
    if progress is not None:
        progress("fresh paths")
    fresh = evaluator.fresh(fresh_seed_offset).evaluate([plan])[0]
    fresh_p = binomial_ci(int(fresh.liquidated.sum()), fresh.liquidated.shape[0])
    plan_out = search.outcomes[(plan.family, plan.params)]
    gains = _gains(plan_out, plan_m, dict(zip(base, base_out, strict=True)), objective)
    initial_eth = evaluator.initial_eth
    intended = plan.sale_fractions(int(evaluator.n_steps), float(evaluator.step_hours))
    shortfall = 0.0 if intended is None else max(
        float(intended.sum()) - plan_m.mean_sold_frac, 0.0) * float(initial_eth)
    return PlanResult(
        objective=objective, plan=plan, plan_metrics=plan_m, fresh_p_liquidation=fresh_p,
        families=tuple(bests), baselines=base_metrics, unconstrained=free, binding=binding,
        constraint_cost_usd=gap, withdrawal_shortfall_eth=shortfall, evaluations=len(search.seen),
        n_paths=int(plan_out.loss_usd.shape[0]), n_steps=int(evaluator.n_steps),
        step_hours=float(evaluator.step_hours), initial_eth=float(initial_eth),
        plan_mean_sold_eth=plan_out.mean_sold_eth,
        plan_liquidated_by_step=plan_out.liquidated_by_step,
        baseline_mean_sold_eth={name: o.mean_sold_eth
                                for name, o in zip(base, base_out, strict=True)},
        plan_gain_usd=dict(gains),
        paths=evaluator.paths_description,
        near_optimal=near,
    )


DEFAULT_PLAN_PATHS = MonteCarlo(0, 10_000)  # seed 0, 10,000 paths, the service's chunks


@dataclass(frozen=True)
class PlanSearch:
    """How hard the plan searches: the families, K pieces of the piecewise family and the
    Nelder–Mead evaluations per family after the grid (see :func:`optimize_schedule`)."""

    families: Sequence[str] = FAMILIES
    pieces: int = DEFAULT_PIECES
    maxfev: int = DEFAULT_MAXFEV


def plan_for_scenario(
    scenario: ScenarioLike,
    objective: PlanObjective = PlanObjective(),
    *,
    mc: MonteCarlo = DEFAULT_PLAN_PATHS,
    horizon_hours: float = float(DEFAULT_HORIZON_HOURS),
    step_hours: float = 1.0,
    market: UnwindMarket | None = None,
    lending: LendingParams | None = None,
    search: PlanSearch = PlanSearch(),
    jumps: Jumps | None = None,
    client: Client | None = None,
    progress: Callable[[str], None] | None = None,
    on_evaluations: Callable[[int], None] | None = None,
) -> PlanResult:
    """The plan for a scenario's position (:func:`optimize_schedule` on its unwind engine).

    Parameters
    ----------
    scenario : a :class:`delever.Scenario` (or any ``ScenarioLike``).
    objective : lambda, the CVaR level, alpha.
    mc : the paths, the seed and the chunk size (one Dask task each); the GBM paths (zero
        drift, the scenario's daily sigma) are its ``Stream.PLAN`` chunks.
    horizon_hours, step_hours : ``horizon_hours / step_hours`` steps.
    market : default :func:`delever.sim.api.build_inputs`'s square-root market; pass
        ``delever.scenario.market.scenario_market(scenario)`` for the book and followers.
    lending : default the reserves on the scenario's day (``build_inputs``).
    search : families, pieces, maxfev (see :func:`optimize_schedule`).
    jumps : Merton jumps on the paths (:class:`Jumps`); None (default) plain GBM.
    client : ``distributed.Client``; None evaluates here.
    progress : called with the stage's name; ``on_evaluations`` with candidates evaluated.
    """
    check_positive("horizon_hours", horizon_hours)
    check_positive("step_hours", step_hours)
    n_steps = round(horizon_hours / step_hours)
    if n_steps < 1 or abs(n_steps * step_hours - horizon_hours) > 1e-9 * horizon_hours:
        raise InvalidArgument(f"horizon_hours={horizon_hours!r} must be a whole number of "
                              f"steps of {step_hours!r} h.")
    mark = float(scenario.mark_price_usd)
    inputs = build_inputs(scenario, n_steps=n_steps, step_hours=step_hours,
                          paths=np.full((1, n_steps + 1), mark), market=market,
                          lending=lending)
    frame = engine_frame_of(scenario)
    evaluator = UnwindEvaluator(inputs.position, inputs.market, inputs.lending, mark,
                                scenario.market_parameters().sigma_daily, n_paths=mc.n_paths,
                                n_steps=n_steps, step_hours=step_hours, seed=mc.seed,
                                chunk_paths=mc.chunk_paths, jumps=jumps, client=client,
                                progress=on_evaluations,
                                path_model=None if frame is None else frame.path_model)
    return optimize_schedule(evaluator, objective, families=search.families,
                             pieces=search.pieces, maxfev=search.maxfev, progress=progress)


__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_CVAR_LEVEL",
    "DEFAULT_HORIZON_HOURS",
    "DEFAULT_RISK_AVERSION",
    "FAMILIES",
    "Candidate",
    "Evaluator",
    "FamilyBest",
    "Jumps",
    "LinearImpactEvaluator",
    "NearOptimal",
    "Outcomes",
    "PlanMetrics",
    "PlanObjective",
    "PlanResult",
    "PlanSearch",
    "UnwindEvaluator",
    "ac_sale_fractions",
    "baseline_strategies",
    "metrics",
    "objective_influence",
    "optimize_family",
    "optimize_schedule",
    "param_names",
    "piecewise_sale_fractions",
    "plan_for_scenario",
    "run_unwind_task",
]

"""``delever.simulate``: a scenario (or any object shaped like one) through the unwind engine.

``sim`` sits below ``scenario``, so this module does not import it: it takes anything with the
attributes it reads (:class:`ScenarioLike`): ``accounts`` (named Aave accounts), ``name``,
``mark_price_usd``, ``market_parameters()`` (sigma_daily, adv_eth, impact_y) and ``pnl()``
(for the cost basis). A :class:`delever.Scenario` is one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Protocol

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray2D
from delever.errors import InvalidArgument, check_positive
from delever.kernels.records import ImpactLaw, LiquidationRules
from delever.market.impact import SquareRootImpact
from delever.market.models import DEFAULT_PERMANENT_FRAC, DEFAULT_TRANSIENT_HALF_LIFE_HOURS
from delever.market.paths import gbm_paths
from delever.protocol import RESERVES, Account, ReserveParams
from delever.protocol.base import LendingProtocol, RiskParams
from delever.protocol.reserve_history import reserve_state_on
from delever.sim.estimators import RunningMoments
from delever.sim.montecarlo import MonteCarlo, Stream
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
from delever.strategy import DEFAULT_STRATEGIES, Strategy, strategy_by_name

# Defaults of the engine when the caller gives none. ESTIMATES, labelled:
# - the square-root market's permanent share and transient half-life: see
#   delever.market.models.DEFAULT_PERMANENT_FRAC (ILLUSTRATIVE, not fitted);
# - the reserves on 2026-02-06 (the day of the scenario's mark): utilization inferred from the
#   th3nolo/aave-v3-data daily snapshot by inverting the rate curve; total supplies are
#   ESTIMATES with their sources in delever.protocol.reserve_history (WETH ~3.0M ETH,
#   TokenLogic 2026-04-18; USDT 6.66B, aavescan 2026-01-29; USDC 4.05B, aavescan 2026-02-01).
#   The WETH reserve caps withdrawals at its free liquidity (the rates channel).
DEFAULT_RESERVE_DAY = date(2026, 2, 6)


class MarketParametersLike(Protocol):
    """Square-root-law inputs."""

    @property
    def sigma_daily(self) -> float: ...

    @property
    def adv_eth(self) -> float: ...

    @property
    def impact_y(self) -> float: ...


class NamedAccountLike(Protocol):
    """An account with a name."""

    @property
    def name(self) -> str: ...

    @property
    def account(self) -> Account: ...


class PnLLike(Protocol):
    """The cost basis of the held ETH."""

    @property
    def average_cost_usd(self) -> float: ...


class ScenarioLike(Protocol):
    """What :func:`simulate` reads from a scenario."""

    @property
    def name(self) -> str: ...

    @property
    def accounts(self) -> Sequence[NamedAccountLike]: ...

    @property
    def mark_price_usd(self) -> float: ...

    @property
    def reserves(self) -> Mapping[str, ReserveParams]: ...

    @property
    def protocol(self) -> LendingProtocol: ...

    def market_parameters(self) -> MarketParametersLike: ...

    def engine_law(self, step_s: float) -> ImpactLaw | None:
        """The impact law the engines walk at ``step_s``; None: the default square-root
        market built from :meth:`market_parameters`."""
        ...

    def pnl(self) -> PnLLike: ...


class PathModel(Protocol):
    """Exogenous paths other than the default GBM (a loop's exchange-rate paths).

    ``s0``: the start price in the engine's numeraire. ``draw`` returns ``(mid, oracle)``,
    each ``(n_paths, n_steps + 1)``; ``oracle`` None where the oracle follows the mid.
    """

    @property
    def s0(self) -> float: ...

    def draw(self, n_paths: int, n_steps: int, step_hours: float,
             seed: np.random.SeedSequence) -> tuple[FloatArray2D, FloatArray2D | None]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class EngineFrame:
    """How the engines count a position that is not ETH against stablecoins.

    The engines' arithmetic holds for any collateral priced in any debt asset; their names say
    ETH (the collateral) and USD (the debt and every value). A loop (wstETH against WETH) runs
    with the collateral in units of ``asset`` where they say ETH and ``numeraire`` (ETH) where
    they say USD. ``collateral_symbol`` / ``debt_symbols``: the reserves the accounts may hold;
    ``emode``: accounts in e-mode allowed; ``risk``: the LT, bonus and fee (the e-mode
    category's); ``lending``: the debt reserve (WETH's, for a loop); ``path_model``: the
    exogenous paths (the exchange-rate model).
    """

    asset: str
    numeraire: str
    collateral_symbol: str
    debt_symbols: tuple[str, ...]
    emode: bool
    risk: RiskParams
    lending: LendingParams
    path_model: PathModel


@dataclass(frozen=True)
class SimulationInputs:
    """Everything :func:`simulate` built from the scenario (for reports and replays)."""

    position: UnwindPosition
    market: UnwindMarket
    lending: LendingParams
    paths: FloatArray2D
    oracle_paths: FloatArray2D | None = None


def engine_frame_of(scenario: object) -> EngineFrame | None:
    """The scenario's :class:`EngineFrame` (``scenario.engine_frame()``), None for ETH against
    stablecoins (and for scenario-like objects without the method)."""
    method = getattr(scenario, "engine_frame", None)
    frame = method() if callable(method) else None
    return frame if isinstance(frame, EngineFrame) else None


def engine_view(scenario: ScenarioLike) -> ScenarioLike:
    """The scenario as the engines take it: ``scenario.for_engines()`` where it has one (a
    loop counted in ETH), else the scenario itself."""
    method = getattr(scenario, "for_engines", None)
    view: ScenarioLike = method() if callable(method) else scenario
    return view


def position_of(scenario: ScenarioLike) -> UnwindPosition:
    """The engines' position: the accounts with debt, in the scenario's frame."""
    accounts = [(a.name, a.account) for a in scenario.accounts if a.account.has_debt]
    if not accounts:
        raise InvalidArgument(f"scenario {scenario.name!r} has no account with debt to unwind.")
    frame = engine_frame_of(scenario)
    if frame is not None:
        return UnwindPosition.from_accounts(
            accounts, scenario.pnl().average_cost_usd, reserves=scenario.reserves,
            risk=frame.risk, collateral_symbol=frame.collateral_symbol,
            debt_symbols=frame.debt_symbols, allow_emode=frame.emode)
    # the scenario's reserves, overrides included: every engine prices the same protocol
    return UnwindPosition.from_accounts(accounts, scenario.pnl().average_cost_usd,
                                        reserves=scenario.reserves,
                                        risk=scenario.protocol.market_risk())


def draw_chunk(scenario: ScenarioLike, seed: np.random.SeedSequence, n_paths: int,
               n_steps: int, step_hours: float) -> tuple[FloatArray2D, FloatArray2D | None]:
    """One chunk's exogenous ``(mid, oracle)`` paths: the frame's path model, else zero-drift
    GBM at the scenario's sigma from the mark (oracle None: it follows the mid)."""
    frame = engine_frame_of(scenario)
    if frame is not None:
        return frame.path_model.draw(n_paths, n_steps, step_hours, seed)
    sigma = scenario.market_parameters().sigma_daily * math.sqrt(step_hours / 24.0)
    return gbm_paths(float(scenario.mark_price_usd), n_paths, n_steps, sigma_per_step=sigma,
                     seed=np.random.default_rng(seed)), None


def default_lending(
    debt_symbol: str = "USDT",
    day: date = DEFAULT_RESERVE_DAY,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    rules: LiquidationRules | None = None,
) -> LendingParams:
    """The debt and WETH reserves on ``day`` from the shipped snapshots (sizes are estimates);
    the rate curves from ``reserves`` (a scenario's, with its overrides); ``rules`` the
    protocol's liquidation rules (default Aave v3.6)."""
    debt_state, _ = reserve_state_on(debt_symbol, day)
    weth_state, _ = reserve_state_on("WETH", day)
    return LendingParams(
        debt_reserve=debt_state,
        debt_curve=reserves[debt_symbol].rate_curve_on(day),
        weth_reserve=weth_state,
        weth_curve=reserves["WETH"].rate_curve_on(day),
        **({} if rules is None else {"rules": rules}),
    )


def debt_symbol_of(accounts: Sequence[tuple[str, Account]]) -> str:
    """The debt reserve the engine tracks: USDC when every debt is USDC, else USDT."""
    symbols = {s for _, acc in accounts for s, a in acc.debt.items() if a > 0}
    return "USDC" if symbols == {"USDC"} else "USDT"


def _count(field: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise InvalidArgument(f"{field}={value!r} must be a whole number >= 1.")
    return int(value)


def resolve_strategies(strategies: Sequence[Strategy | str] | None) -> list[Strategy]:
    """Strategy objects from objects or built-in names (default: every built-in)."""
    items: Sequence[Strategy | str] = DEFAULT_STRATEGIES if strategies is None else strategies
    out = [strategy_by_name(s) if isinstance(s, str) else s for s in items]
    if not out:
        raise InvalidArgument("strategies is empty; give at least one strategy.")
    for s in out:
        if not isinstance(s, Strategy):
            raise InvalidArgument(f"strategy {s!r} is not a delever.strategy.Strategy.")
    return out


def gbm_chunk(mc: MonteCarlo, stream: Stream, index: int, s0_usd: float, n_steps: int,
              sigma_per_step: float) -> FloatArray2D:
    """Chunk ``index`` of ``stream``: zero-drift GBM from ``s0_usd`` (n_chunk, n_steps + 1)."""
    draw = mc.chunk(stream, index)
    n = draw.paths.stop - draw.paths.start
    return gbm_paths(s0_usd, n, n_steps, sigma_per_step=sigma_per_step, seed=draw.rng)


def gbm_chunk_paths(mc: MonteCarlo, stream: Stream, s0_usd: float, n_steps: int,
                    sigma_per_step: float) -> FloatArray2D:
    """Every chunk of ``stream`` (:func:`gbm_chunk`), stacked in chunk order."""
    return np.concatenate([gbm_chunk(mc, stream, k, s0_usd, n_steps, sigma_per_step)
                           for k in range(mc.n_chunks)])


def build_inputs(
    scenario: ScenarioLike,
    *,
    n_paths: int = 1_000,
    n_steps: int = 720,
    step_hours: float = 1.0,
    seed: int = 0,
    paths: FloatArray2D | None = None,
    market: UnwindMarket | None = None,
    lending: LendingParams | None = None,
) -> SimulationInputs:
    """The position, market, reserves and GBM paths :func:`simulate` uses by default.

    Paths: GBM with the scenario's daily sigma scaled to the step, zero drift, from the mark
    (:func:`gbm_chunk_paths`: the :data:`Stream.SIMULATE` chunks of ``seed``).
    """
    check_positive("step_hours", step_hours)
    position = position_of(scenario)
    accounts = [(a.name, a.account) for a in scenario.accounts if a.account.has_debt]
    frame = engine_frame_of(scenario)
    params = scenario.market_parameters()
    if market is None:
        market = UnwindMarket(
            SquareRootImpact(params.sigma_daily, params.adv_eth, params.impact_y,
                             DEFAULT_PERMANENT_FRAC),
            DEFAULT_TRANSIENT_HALF_LIFE_HOURS, law=scenario.engine_law(3600.0 * step_hours))
    if lending is None:
        lending = (frame.lending if frame is not None else
                   default_lending(debt_symbol_of(accounts), reserves=scenario.reserves,
                                   rules=scenario.protocol.kernel_rules()))
    oracle_paths = None
    if paths is None:
        mc = MonteCarlo(int(seed), _count("n_paths", n_paths))
        steps = _count("n_steps", n_steps)
        drawn = [draw_chunk(scenario, ss, size, steps, step_hours)
                 for size, ss in zip(mc.sizes, mc.chunk_seeds(Stream.SIMULATE), strict=True)]
        paths = np.concatenate([mid for mid, _ in drawn])
        if drawn[0][1] is not None:
            oracle_paths = np.concatenate([o for _, o in drawn if o is not None])
    return SimulationInputs(position, market, lending, np.asarray(paths, dtype=np.float64),
                            oracle_paths)


def simulate(
    scenario: ScenarioLike,
    strategies: Sequence[Strategy | str] | None = None,
    *,
    n_paths: int = 1_000,
    n_steps: int = 720,
    step_hours: float = 1.0,
    seed: int = 0,
    paths: FloatArray2D | None = None,
    market: UnwindMarket | None = None,
    lending: LendingParams | None = None,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    config: SimConfig | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Run unwind strategies on a scenario's position over Monte Carlo price paths.

    Parameters
    ----------
    scenario : a :class:`delever.Scenario` (or any :class:`ScenarioLike`).
    strategies : Strategy objects or built-in names; default every built-in.
    n_paths, n_steps, step_hours, seed : GBM paths (ignored when ``paths`` is given; then
        ``step_hours`` must be the paths' step).
    paths : (n_paths, n_steps + 1) exogenous prices (USD), e.g. a replay.
    market, lending : default: the scenario's square-root market with the permanent share and
        transient half-life above; the debt reserve estimate above.
    oracle : heartbeat and deviation (default Chainlink ETH/USD, 3,600 s and 0.5%).
    config : loop settings; its ``step_hours`` is replaced by ``step_hours``.
    progress : callback (paths done, total) after each chunk.

    Returns
    -------
    SimulationResult (``to_frame()``: one row per strategy; ``paths_frame()``: per path).
    """
    scenario = engine_view(scenario)
    inputs = build_inputs(scenario, n_paths=n_paths, n_steps=n_steps, step_hours=step_hours,
                          seed=seed, paths=paths, market=market, lending=lending)
    cfg = replace(config if config is not None else SimConfig(), step_hours=float(step_hours))
    return simulate_strategies(inputs.position, resolve_strategies(strategies), inputs.paths,
                               market=inputs.market, lending=inputs.lending, oracle=oracle,
                               config=cfg, progress=progress, oracle_paths=inputs.oracle_paths)


SAMPLE_PATHS = 1_000  # paths a streamed run keeps whole, for figures (the first chunks)


# The means of UnwindResult.summary_dict: summary key -> per-path array.
_MEAN_KEYS = {
    "realized_pnl_usd": "realized_pnl_usd", "unrealized_pnl_usd": "unrealized_pnl_usd",
    "total_pnl_usd": "total_pnl_usd", "liquidity_discount_usd": "liquidity_discount_usd",
    "eth_left": "eth_left", "sold_eth": "sold_total_eth", "seized_eth": "seized_total_eth",
    "bad_debt_usd": "bad_debt_usd", "interest_usd": "interest_usd",
    "book_sold_eth": "book_sold_eth", "follower_sold_eth": "follower_sold_eth",
}


@dataclass(frozen=True, eq=False)
class StrategyTally:
    """One strategy's running estimators over the chunks merged so far.

    What :meth:`delever.sim.unwind.UnwindResult.summary_dict` reports, kept without the
    per-path arrays: the means as :class:`RunningMoments` (Chan's merge: exact up to
    rounding, with their standard errors), counts of liquidated and recovered paths, the
    histogram of the recovery step (an exact median) and, for the exact 5th percentile of
    the P&L, the per-path total P&L (8 bytes a path).
    """

    strategy: str
    step_hours: float
    n_paths: int
    moments: Mapping[str, RunningMoments]
    liquidated: int
    recovery_counts: np.ndarray  # paths recovered at step k, k = 0..n_steps
    pnl_parts: tuple[np.ndarray, ...]  # each chunk's per-path total P&L, in order

    @property
    def total_pnl_usd(self) -> np.ndarray:
        """Every path's total P&L (USD), in path order."""
        return np.concatenate(self.pnl_parts)

    @classmethod
    def of(cls, r: UnwindResult) -> StrategyTally:
        """The tally of one chunk's result."""
        rec = r.recovery_step
        return cls(r.strategy, r.step_hours, r.n_paths,
                   {k: RunningMoments.of(getattr(r, a)) for k, a in _MEAN_KEYS.items()},
                   int(r.liquidated.sum()),
                   np.bincount(rec[rec >= 0], minlength=r.n_steps + 1),
                   (np.asarray(r.total_pnl_usd, dtype=np.float64).copy(),))

    def merge(self, other: StrategyTally) -> StrategyTally:
        """Both chunks' tally (``other`` after this one, in path order)."""
        return StrategyTally(
            self.strategy, self.step_hours, self.n_paths + other.n_paths,
            {k: m.merge(other.moments[k]) for k, m in self.moments.items()},
            self.liquidated + other.liquidated, self.recovery_counts + other.recovery_counts,
            self.pnl_parts + other.pnl_parts)

    def _median_recovery_hours(self) -> float:
        counts = self.recovery_counts
        m = int(counts.sum())
        if m == 0:
            return math.nan
        cum = np.cumsum(counts)
        lo, hi = (int(np.searchsorted(cum, i, side="right")) for i in ((m - 1) // 2, m // 2))
        return (lo * self.step_hours + hi * self.step_hours) / 2.0

    def summary_dict(self) -> dict[str, float]:
        """The keys and definitions of :meth:`UnwindResult.summary_dict`, over every path."""
        mean = {k: m.mean for k, m in self.moments.items()}
        n = self.n_paths
        return {
            "p_liquidation": self.liquidated / n,
            "realized_pnl_usd": mean["realized_pnl_usd"],
            "unrealized_pnl_usd": mean["unrealized_pnl_usd"],
            "total_pnl_usd": mean["total_pnl_usd"],
            "total_pnl_usd_p05": float(np.quantile(self.total_pnl_usd, 0.05)),
            "liquidity_discount_usd": mean["liquidity_discount_usd"],
            "eth_left": mean["eth_left"],
            "sold_eth": mean["sold_eth"],
            "seized_eth": mean["seized_eth"],
            "bad_debt_usd": mean["bad_debt_usd"],
            "interest_usd": mean["interest_usd"],
            "share_recovered": int(self.recovery_counts.sum()) / n,
            "median_recovery_hours": self._median_recovery_hours(),
            "book_sold_eth": mean["book_sold_eth"],
            "follower_sold_eth": mean["follower_sold_eth"],
        }

    def standard_errors(self) -> dict[str, float]:
        """The standard error of each mean of :meth:`summary_dict` (and of the proportions)."""
        n = self.n_paths
        out = {k: m.standard_error for k, m in self.moments.items()}
        for key, k in (("p_liquidation", self.liquidated),
                       ("share_recovered", int(self.recovery_counts.sum()))):
            p = k / n
            out[key] = math.sqrt(p * (1.0 - p) / n)
        return out


@dataclass(frozen=True, eq=False)
class StreamedSimulation(ResultContract):
    """Strategies over ``n_paths`` paths run chunk by chunk, memory bounded by a chunk.

    ``tallies``: each strategy's running estimators over every path (:class:`StrategyTally`).
    ``sample``: the first ``sample.results[0].n_paths`` paths (:data:`SAMPLE_PATHS`, or all
    when fewer) with every per-step array, for figures: per-step bands drawn from it are
    estimates from that sample.
    """

    n_paths: int
    tallies: tuple[StrategyTally, ...]
    sample: SimulationResult

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategies' names, in run order."""
        return tuple(t.strategy for t in self.tallies)

    def to_dict(self) -> dict[str, Any]:
        """Per-strategy summaries over every path (the keys of
        :meth:`SimulationResult.to_dict`)."""
        return {t.strategy: t.summary_dict() for t in self.tallies}


def simulate_streamed(
    scenario: ScenarioLike,
    strategies: Sequence[Strategy | str] | None = None,
    *,
    n_paths: int = 1_000,
    n_steps: int = 720,
    step_hours: float = 1.0,
    seed: int = 0,
    sample_paths: int = SAMPLE_PATHS,
    oracle: OracleLike = CHAINLINK_ETH_USD,
    config: SimConfig | None = None,
    progress: ProgressCallback | None = None,
) -> StreamedSimulation:
    """:func:`simulate` (same paths, same per-path numbers) one chunk at a time.

    Each chunk of the :data:`Stream.SIMULATE` stream is drawn, run through every strategy,
    folded into each strategy's :class:`StrategyTally` and dropped; only the first
    ``sample_paths`` paths keep their per-step arrays. Peak memory: one chunk's per-step
    arrays plus the sample, whatever ``n_paths`` (and 8 bytes a path for the P&L quantile).
    """
    strats = resolve_strategies(strategies)
    scenario = engine_view(scenario)
    mc = MonteCarlo(int(seed), _count("n_paths", n_paths))
    steps = _count("n_steps", n_steps)
    _count("sample_paths", sample_paths)
    placeholder = np.full((1, steps + 1), float(scenario.mark_price_usd))
    inputs = build_inputs(scenario, n_steps=steps, step_hours=step_hours, paths=placeholder)
    cfg = replace(config if config is not None else SimConfig(), step_hours=float(step_hours),
                  chunk_paths=mc.chunk_paths)
    tallies: list[StrategyTally] = []
    sample: list[SimulationResult] = []
    seeds = mc.chunk_seeds(Stream.SIMULATE)
    for k in range(mc.n_chunks):
        exo, oracle_paths = draw_chunk(scenario, seeds[k], mc.sizes[k], steps, step_hours)
        part = simulate_strategies(inputs.position, strats, exo, market=inputs.market,
                                   lending=inputs.lending, oracle=oracle, config=cfg,
                                   oracle_paths=oracle_paths)
        chunk = [StrategyTally.of(r) for r in part.results]
        tallies = chunk if not tallies else [t.merge(c) for t, c in zip(tallies, chunk,
                                                                       strict=True)]
        if mc.chunk_slice(k).start < sample_paths:
            sample.append(part)
        del part, exo
        if progress is not None:
            progress(mc.chunk_slice(k).stop * len(strats), mc.n_paths * len(strats))
    return StreamedSimulation(mc.n_paths, tuple(tallies), _join_sample(sample, sample_paths))


def _join_sample(parts: Sequence[SimulationResult], sample_paths: int) -> SimulationResult:
    # imported here: distributed imports this module
    from delever.sim.distributed import concat_results

    joined = concat_results(parts)
    return joined if joined.results[0].n_paths <= sample_paths else _head(joined, sample_paths)


def _head(result: SimulationResult, n: int) -> SimulationResult:
    """The first ``n`` paths of every array."""
    out = []
    for r in result.results:
        kwargs = {f.name: (getattr(r, f.name)[:n].copy()
                           if isinstance(getattr(r, f.name), np.ndarray) else getattr(r, f.name))
                  for f in fields(UnwindResult)}
        out.append(UnwindResult(**kwargs))
    return SimulationResult(tuple(out))


__all__ = [
    "DEFAULT_PERMANENT_FRAC",
    "DEFAULT_RESERVE_DAY",
    "DEFAULT_TRANSIENT_HALF_LIFE_HOURS",
    "SAMPLE_PATHS",
    "EngineFrame",
    "PathModel",
    "ScenarioLike",
    "SimulationInputs",
    "StrategyTally",
    "StreamedSimulation",
    "build_inputs",
    "debt_symbol_of",
    "default_lending",
    "draw_chunk",
    "engine_frame_of",
    "engine_view",
    "gbm_chunk",
    "gbm_chunk_paths",
    "position_of",
    "resolve_strategies",
    "simulate",
    "simulate_streamed",
]

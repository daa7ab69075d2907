"""``delever.simulate``: a scenario (or any object shaped like one) through the unwind engine.

``sim`` sits below ``scenario``, so this module does not import it: it takes anything with the
attributes it reads (:class:`ScenarioLike`): ``accounts`` (named Aave accounts), ``name``,
``mark_price_usd``, ``market_parameters()`` (sigma_daily, adv_eth, impact_y) and ``pnl()``
(for the cost basis). A :class:`delever.Scenario` is one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from delever._typing import FloatArray2D
from delever.errors import InvalidArgument, check_positive
from delever.market.impact import SquareRootImpact
from delever.market.paths import gbm_paths
from delever.protocol import RESERVES, Account, ReserveParams
from delever.protocol.reserve_history import reserve_state_on
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    LendingParams,
    OracleLike,
    ProgressCallback,
    SimConfig,
    SimulationResult,
    UnwindMarket,
    UnwindPosition,
    simulate_strategies,
)
from delever.strategy import DEFAULT_STRATEGIES, Strategy, strategy_by_name

# Defaults of the engine when the caller gives none. ESTIMATES, labelled:
# - the permanent share of the square-root impact, 2/3 ("fair pricing", Bouchaud, Bonart,
#   Donier & Gould 2018, "Trades, Quotes and Prices", ch. 12), and a 6-hour half-life of the
#   transient third: ILLUSTRATIVE, not fitted;
DEFAULT_PERMANENT_FRAC = 2.0 / 3.0
DEFAULT_TRANSIENT_HALF_LIFE_HOURS = 6.0
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

    def market_parameters(self) -> MarketParametersLike: ...

    def pnl(self) -> PnLLike: ...


@dataclass(frozen=True)
class SimulationInputs:
    """Everything :func:`simulate` built from the scenario (for reports and replays)."""

    position: UnwindPosition
    market: UnwindMarket
    lending: LendingParams
    paths: FloatArray2D


def default_lending(
    debt_symbol: str = "USDT",
    day: date = DEFAULT_RESERVE_DAY,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
) -> LendingParams:
    """The debt and WETH reserves on ``day`` from the shipped snapshots (sizes are estimates);
    the rate curves from ``reserves`` (a scenario's, with its overrides)."""
    debt_state, _ = reserve_state_on(debt_symbol, day)
    weth_state, _ = reserve_state_on("WETH", day)
    return LendingParams(
        debt_reserve=debt_state,
        debt_curve=reserves[debt_symbol].rate_curve_on(day),
        weth_reserve=weth_state,
        weth_curve=reserves["WETH"].rate_curve_on(day),
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
    (:func:`delever.market.gbm_paths`, seeded by ``seed``).
    """
    check_positive("step_hours", step_hours)
    accounts = [(a.name, a.account) for a in scenario.accounts if a.account.has_debt]
    if not accounts:
        raise InvalidArgument(f"scenario {scenario.name!r} has no account with debt to unwind.")
    # the scenario's reserves, overrides included: every engine prices the same protocol
    position = UnwindPosition.from_accounts(accounts, scenario.pnl().average_cost_usd,
                                            reserves=scenario.reserves)
    params = scenario.market_parameters()
    if market is None:
        market = UnwindMarket(
            SquareRootImpact(params.sigma_daily, params.adv_eth, params.impact_y,
                             DEFAULT_PERMANENT_FRAC),
            DEFAULT_TRANSIENT_HALF_LIFE_HOURS)
    if lending is None:
        lending = default_lending(debt_symbol_of(accounts), reserves=scenario.reserves)
    if paths is None:
        paths = gbm_paths(scenario.mark_price_usd, _count("n_paths", n_paths),
                          _count("n_steps", n_steps),
                          sigma_per_step=params.sigma_daily * math.sqrt(step_hours / 24.0),
                          seed=int(seed))
    return SimulationInputs(position, market, lending, np.asarray(paths, dtype=np.float64))


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
    inputs = build_inputs(scenario, n_paths=n_paths, n_steps=n_steps, step_hours=step_hours,
                          seed=seed, paths=paths, market=market, lending=lending)
    base = config if config is not None else SimConfig()
    cfg = SimConfig(step_hours=float(step_hours),
                    liquidator_sell_frac=base.liquidator_sell_frac,
                    repay_with_collateral=base.repay_with_collateral,
                    max_liquidation_rounds=base.max_liquidation_rounds,
                    chunk_paths=base.chunk_paths)
    return simulate_strategies(inputs.position, resolve_strategies(strategies), inputs.paths,
                               market=inputs.market, lending=inputs.lending, oracle=oracle,
                               config=cfg, progress=progress)


__all__ = [
    "DEFAULT_PERMANENT_FRAC",
    "DEFAULT_RESERVE_DAY",
    "DEFAULT_TRANSIENT_HALF_LIFE_HOURS",
    "ScenarioLike",
    "SimulationInputs",
    "build_inputs",
    "debt_symbol_of",
    "default_lending",
    "resolve_strategies",
    "simulate",
]

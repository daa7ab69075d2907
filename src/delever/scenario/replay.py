"""Build a replay of a scenario's reported sales on the shipped Binance hourly path."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from delever._typing import FloatArray1D
from delever.book.actors import Followers, ImpactParams, LargeAccount
from delever.errors import InvalidArgument
from delever.ledger import Side, Trade
from delever.market.impact import SquareRootImpact
from delever.market.loaders import load_binance_daily_recent, load_binance_hourly
from delever.scenario.build import Scenario
from delever.scenario.market import book_risk
from delever.sim.amplification import AmplificationReport, sale_amplification
from delever.sim.api import (
    DEFAULT_PERMANENT_FRAC,
    DEFAULT_TRANSIENT_HALF_LIFE_HOURS,
    debt_symbol_of,
    default_lending,
)
from delever.sim.replay import (
    START_RULE,
    ReplayInputs,
    ReplayResult,
    StartRebuild,
    own_impact_fraction,
    rebuild_start,
)
from delever.sim.unwind import CHAINLINK_ETH_USD, UnwindMarket, UnwindPosition
from delever.strategy import AlmgrenChriss, HFLadder, Hold, SellAll, Strategy

STEP_HOURS = 1.0


def counterfactual_strategies(n_steps: int) -> list[Strategy]:
    """What the replay sets beside the reported sales: hold, sell everything at once,
    Almgren-Chriss over the window, the HF ladder."""
    return [Hold(), SellAll(), AlmgrenChriss(n_steps=n_steps), HFLadder()]


def _hourly_path(start: datetime, n_steps: int) -> tuple[np.ndarray, int]:
    """Mid at each hour from ``start``: the bar's open, else the previous bar's close.

    A missing 00:00 bar's open is the 23:00 bar's close (Binance klines are contiguous), so
    most gaps are filled exactly; any hour with neither is interpolated in log price and
    counted (returned as the second value).
    """
    bars = load_binance_hourly()
    grid = pd.date_range(start, periods=n_steps + 1, freq="1h", tz=UTC)
    opens = bars["open_usd"].reindex(grid)
    prev_close = bars["close_usd"].reindex(grid - pd.Timedelta(hours=1))
    prices = opens.to_numpy().copy()
    missing_open = np.isnan(prices)
    prices[missing_open] = prev_close.to_numpy()[missing_open]
    still = np.isnan(prices)
    if still.all():
        raise InvalidArgument(
            f"no Binance hourly data from {start:%Y-%m-%d %H:%M}; the shipped excerpt covers "
            "2026-01-15 .. 2026-02-28."
        )
    if still.any():
        index = np.arange(prices.size)
        prices[still] = np.exp(np.interp(index[still], index[~still], np.log(prices[~still])))
    return prices, int(still.sum())


def replay_inputs(scenario: Scenario) -> ReplayInputs:
    """The reported sales of ``scenario`` on the Binance hourly path of their days.

    Rules (stated, estimates): each day's reported quantity is spread evenly over its 24
    hours; the position at the start is the scenario's accounts (the reported end state) with
    the sold ETH and the sale proceeds added back, split so that every account stood at one
    health factor at the start (:func:`delever.sim.replay.rebuild_start`): each account's
    share of every sale is fixed and its proceeds repay its own debt, so the reported
    schedule on the realized path ends at the accounts' ETH and debt. The scenario's
    reserves (with its overrides) set the liquidation threshold, bonus and rate curves.
    """
    sells = _reported_sales(scenario)
    first_day = min(t.time for t in sells).astimezone(UTC).date()
    last_day = max(t.time for t in sells).astimezone(UTC).date()
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    n_days = (last_day - first_day).days + 1
    n_steps = int(24 * n_days / STEP_HOURS)
    realized, n_interpolated = _hourly_path(start, n_steps)
    schedule = _hourly_schedule(sells, first_day, n_steps)
    sold = float(schedule.sum())
    proceeds = math.fsum(t.quantity_eth * t.price_usd for t in sells)

    daily = load_binance_daily_recent()
    window = daily.loc[start : start + timedelta(days=n_days) - timedelta(seconds=1)]
    low = float(window["low_usd"].min()) if len(window) else float(np.min(realized))

    accounts = [(a.name, a.account) for a in scenario.accounts if a.account.has_debt]
    if not accounts:
        raise InvalidArgument(f"scenario {scenario.name!r} has no account with debt.")
    end = UnwindPosition.from_accounts(accounts, scenario.pnl().average_cost_usd,
                                       reserves=scenario.reserves,
                                       risk=scenario.protocol.market_risk())

    params = scenario.market_parameters()
    market = UnwindMarket(
        SquareRootImpact(
            params.sigma_daily, params.adv_eth, params.impact_y, DEFAULT_PERMANENT_FRAC
        ),
        DEFAULT_TRANSIENT_HALF_LIFE_HOURS,
        law=scenario.engine_law(3600.0 * STEP_HOURS),
    )
    lending = default_lending(debt_symbol_of(accounts), day=first_day,
                              reserves=scenario.reserves, rules=scenario.protocol.kernel_rules())
    own = own_impact_fraction(schedule, market, STEP_HOURS)
    if np.any(own >= 1.0):
        raise InvalidArgument("the reported schedule exceeds the square-root law's capacity.")
    rebuild = rebuild_start(end, schedule, realized / (1.0 - own), market=market,
                            lending=lending, oracle=CHAINLINK_ETH_USD,
                            price_usd=proceeds / sold)
    return ReplayInputs(
        start=start,
        step_hours=STEP_HOURS,
        realized_usd=realized,
        schedule_eth=schedule,
        reported_avg_price_usd=proceeds / sold,
        realized_low_usd=low,
        position=rebuild.position,
        market=market,
        lending=lending,
        oracle=CHAINLINK_ETH_USD,
        notes=_replay_notes(params.source, end, rebuild, n_interpolated),
        rebuild=rebuild,
        end_position=end,
    )


def _reported_sales(scenario: Scenario) -> list[Trade]:
    """The scenario's sell trades; refused when it has none."""
    if scenario.ledger is None:
        raise InvalidArgument(f"scenario {scenario.name!r} has no trade list to replay.")
    sells = [t for t in scenario.ledger.trades if t.side is Side.SELL]
    if not sells:
        raise InvalidArgument(f"scenario {scenario.name!r} has no sales to replay.")
    return sells


def _hourly_schedule(sells: list[Trade], first_day: date, n_steps: int) -> FloatArray1D:
    """Each day's reported quantity spread evenly over its 24 hours (a stated rule)."""
    schedule = np.zeros(n_steps)
    for trade in sells:
        day_index = (trade.time.astimezone(UTC).date() - first_day).days
        schedule[day_index * 24 : (day_index + 1) * 24] += trade.quantity_eth / 24.0
    return schedule


def _replay_notes(params_source: str, end: UnwindPosition, rebuild: StartRebuild,
                  n_interpolated: int) -> tuple[str, ...]:
    """What the replay assumed, and how closely the rebuilt start meets the end state."""
    liq_start = ", ".join(f"{n} ${p:,.0f}" for n, p in zip(
        end.names, rebuild.start_liquidation_price_usd, strict=True))
    shares = ", ".join(f"{n} {100 * w:.1f}%" for n, w in zip(
        end.names, rebuild.account_split, strict=True))
    return (
        f"market parameters: {params_source}",
        "each day's reported sale spread evenly over its 24 hours (rule, estimate)",
        START_RULE,
        f"shares of the sales: {shares}; liquidation prices at the start: {liq_start}; "
        f"end state matched to {rebuild.end_eth_gap:.2g} ETH and "
        f"${rebuild.end_debt_gap_usd:,.0f} per account ({rebuild.iterations} engine runs)",
        f"hourly path: Binance ETHUSDT opens (a missing 00:00 bar takes the 23:00 close); "
        f"{n_interpolated} hours interpolated",
        "the low is the lowest daily low of the window (the 2026-02-06 00:00 hourly bar with "
        "the crash low is missing upstream)",
    )


def amplification_report(
    scenario: Scenario, replay: ReplayResult | None = None
) -> AmplificationReport:
    """How much the scenario's reported sale is amplified by its book and followers.

    The exogenous path is the replay's path without the fund's selling (taken from
    ``replay`` when given, so it is not built twice); the fund is one account (its replay
    start position) selling the reported total evenly each hour.
    """
    spec = scenario.spec.book
    if spec is None:
        raise InvalidArgument(f"scenario {scenario.name!r} has no [book] section.")
    if replay is not None:
        inputs, exogenous = replay.inputs, replay.no_fund_usd
    else:
        inputs = replay_inputs(scenario)
        own = own_impact_fraction(inputs.schedule_eth, inputs.market, inputs.step_hours)
        exogenous = inputs.realized_usd / (1.0 - own)
    book = scenario.borrower_book(float(exogenous[0]), book_risk(scenario))
    assert book is not None  # [book] was checked above
    params = scenario.market_parameters()
    seller = LargeAccount(
        inputs.position.total_eth,
        inputs.position.total_debt_usd,
        sell_eth_per_step=float(inputs.schedule_eth.sum()) / inputs.n_steps,
    )
    return sale_amplification(
        book,
        exogenous,
        seller,
        impact=scenario.engine_law(3600.0 * STEP_HOURS)
        or ImpactParams(params.impact_y, params.sigma_daily, params.adv_eth),
        followers=Followers(spec.followers_kappa.value, spec.followers_lag_steps),
        rules=scenario.protocol.kernel_rules(),
    )


__all__ = ["amplification_report", "counterfactual_strategies", "replay_inputs"]

"""A looped staking position through the engines: the scenario counted in ETH.

A loop (wstETH or weETH supplied, WETH borrowed, in the ETH-correlated e-mode) is liquidated
by the asset's rate to ETH, not by ETH/USD, and it is sold for ETH. The unwind engines'
arithmetic holds for any collateral priced in any debt asset, so a loop runs through them in
the ETH frame (:class:`delever.sim.api.EngineFrame`): where the engines say ETH they count
units of the asset, where they say USD they count ETH. :func:`engine_view` builds that
scenario: the mark is the asset's market value in ETH, the cost basis the ETH paid per unit,
the debt reserve WETH's (its utilization drives the borrow rate: the rates channel), the
risk parameters the e-mode category's, and the paths :class:`ExchangeRatePathModel`'s: the
contract rate (what Aave's oracle reads, exogenous) and the market discount (what a sale
gets).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime

from delever.errors import InvalidArgument
from delever.market.calibration import SourcedValue
from delever.market.rate_paths import DepegParams, ExchangeRatePathModel, shipped_depeg_params
from delever.protocol import ReserveState
from delever.protocol.base import RiskParams
from delever.protocol.loop import STAKING_YIELD_DEFAULT
from delever.protocol.reserve_history import reserve_state_on
from delever.scenario.build import Scenario
from delever.scenario.schema import (
    LoopSpec,
    MarketSpec,
    MarkSpec,
    PositionSpec,
    Sourced,
    SummarySpec,
)
from delever.sim.api import DEFAULT_RESERVE_DAY, EngineFrame
from delever.sim.unwind import LendingParams

# ILLUSTRATIVE stress assumptions, not fitted: no slashing has cut stETH's share rate by 1%
# (Lido's oracle reports of 2021-2026 carry validator penalties of far less); one such event
# in twenty years is a round figure for a tail the data do not show.
SLASH_INTENSITY_DEFAULT = 0.05
SLASH_SIZE_DEFAULT = 0.01
SLASH_SOURCE = "illustrative stress assumption (not fitted): one 1% cut of the rate in 20 years"

DAYS_PER_YEAR = 365.0

# The asset/ETH market a loop's exit sales go through: no shipped data calibrates its depth,
# so `delever loop --toml` and `delever snapshot` write these ESTIMATES into [market].
LOOP_ADV_UNITS = 100_000.0
LOOP_ADV_SOURCE = ("estimate: the Curve stETH/ETH pool depth of ~100,000 ETH a side "
                   "(aave-wsteth-risk CurvePoolParams.pool_depth_eth) taken as a day's volume")
LOOP_IMPACT_Y = 1.0
LOOP_Y_SOURCE = "estimate: square-root law Y of order 1 (Toth et al. 2011: 0.5-1.5)"


def loop_market_table() -> dict[str, dict[str, object]]:
    """The ``[market]`` table of a written loop scenario (the estimates above)."""
    return {"adv_eth": {"value": LOOP_ADV_UNITS, "source": LOOP_ADV_SOURCE, "estimate": True},
            "impact_y": {"value": LOOP_IMPACT_Y, "source": LOOP_Y_SOURCE, "estimate": True}}


def loop_asset_of(accounts: list[tuple[dict[str, float], dict[str, float], bool]]
                  ) -> str | None:
    """The asset of a loop: every ``(collateral, debt, emode)`` with debt holds one and the
    same ETH derivative (not WETH) against WETH debt only, in e-mode; else None."""
    assets = set()
    for collateral, debt, emode in accounts:
        if not any(v > 0 for v in debt.values()):
            continue
        held = {s for s, v in collateral.items() if v > 0}
        if (not emode or set(s for s, v in debt.items() if v > 0) != {"WETH"}
                or len(held) != 1 or "WETH" in held):
            return None
        assets |= held
    return assets.pop() if len(assets) == 1 else None


def loop_spec(scenario: Scenario) -> LoopSpec:
    """The scenario's ``[loop]`` section; InvalidArgument where it has none."""
    if scenario.spec.loop is None:
        raise InvalidArgument(f"scenario {scenario.name!r} has no [loop] section.")
    return scenario.spec.loop


def _value(item: Sourced | None, default: float) -> float:
    return default if item is None else float(item.value)


def depeg_params(loop: LoopSpec) -> DepegParams:
    """The discount's OU parameters: the shipped Chainlink fit, each replaced where given."""
    fit = shipped_depeg_params()

    def pick(item: Sourced | None, fitted: SourcedValue) -> SourcedValue:
        return fitted if item is None else SourcedValue(float(item.value), item.source,
                                                        item.estimate)

    return dataclasses.replace(
        fit, mu=pick(loop.depeg_mu, fit.mu),
        kappa_per_year=pick(loop.depeg_kappa_per_year, fit.kappa_per_year),
        sigma_per_sqrt_year=pick(loop.depeg_sigma_per_sqrt_year, fit.sigma_per_sqrt_year))


def path_model(loop: LoopSpec) -> ExchangeRatePathModel:
    """The exchange-rate and discount paths of the ``[loop]`` section."""
    return ExchangeRatePathModel(
        r0=float(loop.exchange_rate.value), d0=_value(loop.market_discount, 0.0),
        staking_yield=_value(loop.staking_yield, STAKING_YIELD_DEFAULT),
        slash_intensity_per_year=_value(loop.slash_intensity_per_year, SLASH_INTENSITY_DEFAULT),
        slash_size=_value(loop.slash_size, SLASH_SIZE_DEFAULT), depeg=depeg_params(loop),
        oracle=loop.oracle)


def _check_accounts(scenario: Scenario, asset: str) -> float:
    """The units of ``asset`` the accounts with debt hold; each must be a loop."""
    units = 0.0
    for named in scenario.accounts:
        acc = named.account
        if not acc.has_debt:
            continue
        other = sorted(s for s, a in acc.collateral.items() if a > 0 and s != asset)
        debts = sorted(s for s, a in acc.debt.items() if a > 0 and s != "WETH")
        if other or debts or not acc.emode:
            raise InvalidArgument(
                f"account {named.name!r}: a [loop] scenario takes {asset} collateral against "
                f"WETH debt in e-mode; it holds {', '.join(other + debts) or 'no e-mode'}.")
        units += acc.collateral.get(asset, 0.0)
    if units <= 0:
        raise InvalidArgument(f"scenario {scenario.name!r}: no account with debt holds {asset}.")
    return units


def _reserve_day(scenario: Scenario) -> date:
    """The day whose WETH reserve state the loop's debt sees: the mark's, where recorded."""
    moment = scenario.spec.mark.time
    if moment is None:
        return DEFAULT_RESERVE_DAY
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    try:
        reserve_state_on("WETH", day)
    except InvalidArgument:
        return DEFAULT_RESERVE_DAY
    return day


def loop_market(scenario: Scenario, model: ExchangeRatePathModel) -> MarketSpec:
    """The asset/ETH market in the engines' frame: the scenario's ``[market]`` (which, in a
    loop scenario, describes that market), sigma derived from the discount fit if not given.

    ``adv_eth`` (the asset's daily volume against ETH, in units) and ``impact_y`` must be
    given: no shipped data calibrates the stETH/ETH market's depth.
    """
    given = scenario.spec.market
    if given is None or given.adv_eth is None or given.impact_y is None:
        raise InvalidArgument(
            f"scenario {scenario.name!r}: a [loop] scenario needs [market] adv_eth (the "
            f"{loop_spec(scenario).asset}/ETH market's daily volume, in units) and impact_y; "
            "no shipped data calibrates that market's depth.")
    sigma = given.sigma_daily
    if sigma is None:
        # the market value's daily log-return std is, to first order, the discount's daily std
        depeg = model.depeg
        sigma = Sourced(value=depeg.sigma_per_sqrt_year.value / math.sqrt(DAYS_PER_YEAR),
                        source="the stETH/ETH discount's OU sigma per sqrt(year) / sqrt(365) "
                        f"({depeg.sigma_per_sqrt_year.source})", estimate=True)
    y = float(given.impact_y.value)
    y_range = given.impact_y_range if given.impact_y_range is not None else [y, y]
    return given.model_copy(update={"sigma_daily": sigma, "impact_y_range": y_range})


def engine_view(scenario: Scenario) -> Scenario:
    """The loop scenario in the engines' ETH frame (see the module docstring)."""
    loop = loop_spec(scenario)
    units = _check_accounts(scenario, loop.asset)
    model = path_model(loop)
    emode = scenario.emode_category
    fee = scenario.reserves[loop.asset].liquidation_protocol_fee
    risk = RiskParams(emode.liquidation_threshold, emode.liquidation_bonus, fee, emode.ltv)
    day = _reserve_day(scenario)
    weth_state, _ = reserve_state_on("WETH", day)
    if loop.weth_utilization is not None:  # a utilization spike: the rates channel
        supplied = weth_state.total_supplied
        weth_state = ReserveState(supplied, float(loop.weth_utilization.value) * supplied)
    lending = LendingParams(debt_reserve=weth_state,
                            debt_curve=scenario.reserves["WETH"].rate_curve_on(day),
                            rules=scenario.protocol.kernel_rules())
    frame = EngineFrame(asset=loop.asset, numeraire="ETH", collateral_symbol=loop.asset,
                        debt_symbols=("WETH",), emode=True, risk=risk, lending=lending,
                        path_model=model)
    entry = loop.entry_exchange_rate or loop.exchange_rate
    mark = Sourced(value=model.s0, source=f"{loop.asset} market value in ETH: exchange rate x "
                   "(1 - market discount)")
    summary = SummarySpec(cost_basis_usd_per_eth=entry, sold_eth=Sourced(value=0.0),
                          avg_sale_price_usd=entry, held_eth=Sourced(value=units))
    spec = scenario.spec.model_copy(update={
        "mark": MarkSpec(price_usd=mark, time=scenario.spec.mark.time),
        "position": PositionSpec(summary=summary),
        "market": loop_market(scenario, model),
    })
    return dataclasses.replace(scenario, spec=spec, mark_price_usd=model.s0, ledger=None,
                               engine=frame)


__all__ = ["LOOP_ADV_SOURCE", "LOOP_ADV_UNITS", "LOOP_IMPACT_Y", "LOOP_Y_SOURCE",
           "SLASH_INTENSITY_DEFAULT", "SLASH_SIZE_DEFAULT", "depeg_params", "engine_view",
           "loop_asset_of", "loop_market", "loop_market_table", "loop_spec", "path_model"]

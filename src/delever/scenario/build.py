"""Turn a validated scenario file into the model objects the engines take."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pandas as pd
from pydantic import BaseModel

from delever.book import BorrowerBook, synthetic_book
from delever.book.loaders import read_book_parquet
from delever.errors import InvalidArgument, unknown_name
from delever.kernels.records import ImpactLaw
from delever.ledger import Ledger, PnL, Side, Trade, pnl_from_summary
from delever.protocol import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    Account,
    EModeCategory,
    LendingProtocol,
    Prices,
    ReserveParams,
    check_whole_units,
    get_protocol,
)
from delever.protocol.base import RiskParams
from delever.scenario.loader import DEFAULT_SCENARIO, read_scenario_spec
from delever.scenario.schema import ScenarioSpec, Sourced
from delever.sim.api import EngineFrame
from delever.sim.position import NamedAccount, PositionReport, analyze_position
from delever.sim.sale import SaleDiscountReport, sale_discount


@dataclass(frozen=True)
class MarketParameters:
    """Square-root-law inputs with where they came from."""

    sigma_daily: float
    adv_eth: float
    impact_y: float
    impact_y_range: tuple[float, float]
    source: str  # "scenario" or "calibrated (cut-off ...)"


@dataclass(frozen=True, eq=False)
class Scenario:
    """A scenario ready for the engines: accounts, reserves, prices and the trade history."""

    spec: ScenarioSpec
    accounts: tuple[NamedAccount, ...]
    reserves: Mapping[str, ReserveParams]
    mark_price_usd: float
    ledger: Ledger | None  # None when the position is known only from reported totals
    # The scenario's `protocol` (default aave-v3.6); engines take its kernel_rules().
    protocol: LendingProtocol = dataclasses.field(default_factory=get_protocol)
    # `[book] file`, resolved against the scenario file's folder; None: the synthetic draw.
    book_file: Path | None = None
    # How the engines count the position where it is not ETH against stablecoins (a loop's
    # ETH frame, set by for_engines()); None: ETH and USD.
    engine: EngineFrame | None = None

    def engine_frame(self) -> EngineFrame | None:
        """The engines' frame (:class:`delever.sim.api.EngineFrame`); None: ETH and USD."""
        return self.engine

    @property
    def is_loop(self) -> bool:
        """Whether the scenario is a looped staking position (a ``[loop]`` section)."""
        return self.spec.loop is not None

    def for_engines(self) -> Scenario:
        """The scenario as the unwind engines take it: itself, or a loop counted in ETH
        (:func:`delever.scenario.loop.engine_view`)."""
        if self.spec.loop is None or self.engine is not None:
            return self
        from delever.scenario.loop import engine_view  # loop.py builds on this module

        return engine_view(self)

    @property
    def name(self) -> str:
        """The scenario's short id."""
        return self.spec.name

    @property
    def prices(self) -> Prices:
        """USD prices at the mark: the scenario's ``prices`` (oracle prices read at a block),
        the others from the mark (ETH derivatives at their default exchange rates)."""
        return scenario_prices(self.spec)

    def pnl(self, mark_price_usd: float | None = None) -> PnL:
        """Realized and unrealized P&L at ``mark_price_usd`` (default: the scenario's mark)."""
        mark = self.mark_price_usd if mark_price_usd is None else mark_price_usd
        if self.ledger is not None:
            return self.ledger.pnl(mark)
        summary = self.spec.position.summary
        assert summary is not None  # the schema guarantees one of the two
        return pnl_from_summary(
            sold_eth=summary.sold_eth.value,
            avg_sale_price_usd=summary.avg_sale_price_usd.value,
            held_eth=summary.held_eth.value,
            cost_basis_per_eth_usd=summary.cost_basis_usd_per_eth.value,
            mark_price_usd=mark,
        )

    def position_report(self) -> PositionReport:
        """Each account's HF and liquidation price, the band and the P&L at the mark."""
        return analyze_position(self.accounts, self.prices, self.pnl(), reserves=self.reserves,
                                protocol=self.protocol, emode_category=self.emode_category)

    @property
    def emode_category(self) -> EModeCategory:
        """The e-mode category of the accounts with ``emode``: delever's ETH-correlated one,
        with the scenario's ``[emode]`` parameters where given."""
        return scenario_emode(self.spec)

    def borrower_book(self, price_usd: float, risk: RiskParams) -> BorrowerBook | None:
        """The other borrowers: the ``[book] file`` (read from the chain) where given, else
        the synthetic book drawn at ``price_usd`` with ``risk``'s LT and bonus; None with no
        ``[book]``."""
        spec = self.spec.book
        if spec is None:
            return None
        if self.book_file is not None:
            return read_book_parquet(self.book_file)
        assert spec.total_collateral_eth is not None  # the schema: a file or a total
        return synthetic_book(spec.n_accounts, spec.total_collateral_eth.value, price_usd,
                              seed=spec.seed, liquidation_threshold=risk.liquidation_threshold,
                              liquidation_bonus=risk.liquidation_bonus)

    def engine_law(self, step_s: float) -> ImpactLaw | None:
        """The impact law the engines walk at a step of ``step_s`` seconds: the ``[market]
        model`` and state-dependent liquidity (:func:`delever.scenario.market.kernel_law`);
        None for the default fixed-depth square-root market, which the engines build from
        :meth:`market_parameters` themselves."""
        from delever.scenario.market import engine_law  # market.py builds on this module

        return engine_law(self, step_s)

    def market_parameters(self) -> MarketParameters:
        """The scenario's ``[market]`` figures; missing ones from `delever calibrate`'s default."""
        spec = self.spec.market
        values: dict[str, float] = {}
        y_range: tuple[float, float] | None = None
        if spec is not None:
            for key in ("sigma_daily", "adv_eth", "impact_y"):
                item = getattr(spec, key)
                if item is not None:
                    values[key] = item.value
            if spec.impact_y_range is not None:
                y_range = (spec.impact_y_range[0], spec.impact_y_range[1])
        source = "the scenario's [market] section"
        if spec is not None and spec.cutoff is not None:
            source += f" (fitted on data before {spec.cutoff})"
        if len(values) < 3 or y_range is None:
            from delever.market.calibration import calibrate  # loads the shipped data

            calibration = calibrate()
            values.setdefault("sigma_daily", calibration.sigma_daily.value)
            values.setdefault("adv_eth", calibration.adv_eth.value)
            values.setdefault("impact_y", calibration.impact_y.value)
            if y_range is None:
                y_range = calibration.impact_y_range
            source = f"calibrated on Binance data before {calibration.cutoff} (estimates)"
        return MarketParameters(
            sigma_daily=values["sigma_daily"],
            adv_eth=values["adv_eth"],
            impact_y=values["impact_y"],
            impact_y_range=y_range,
            source=source,
        )

    def sale_discount_report(self) -> SaleDiscountReport | None:
        """Liquidity discount of the scenario's sales (its sell trades), or None if none."""
        if self.ledger is None:
            return None
        sells = [t for t in self.ledger.trades if t.side is Side.SELL]
        if not sells:
            return None
        params = self.market_parameters()
        market_prices, source = _daily_typical_prices([t.time for t in sells])
        return sale_discount(
            [t.quantity_eth for t in sells],
            [t.price_usd for t in sells],
            sigma_daily=params.sigma_daily,
            adv_eth=params.adv_eth,
            impact_y=params.impact_y,
            impact_y_range=params.impact_y_range,
            market_prices_usd=market_prices,
            market_price_source=source,
        )

    def estimates(self) -> list[str]:
        """Dotted paths of every input figure labelled as an estimate."""
        found: list[str] = []

        def walk(node: object, path: str) -> None:
            if isinstance(node, Sourced):
                if node.estimate:
                    found.append(path)
            elif isinstance(node, dict):
                for key, value in node.items():
                    walk(value, f"{path}.{key}" if path else str(key))
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk(value, f"{path}[{index}]")
            elif isinstance(node, BaseModel):
                for key in type(node).model_fields:
                    if key != "reported":
                        walk(getattr(node, key), f"{path}.{key}" if path else key)

        walk(self.spec, "")
        return found


def _daily_typical_prices(times: Sequence[datetime]) -> tuple[list[float] | None, str]:
    """Binance ETHUSDT daily typical price (H + L + C) / 3 on each trade's UTC day."""
    from delever.market.loaders import load_binance_daily, load_binance_daily_recent

    bars = pd.concat([load_binance_daily(), load_binance_daily_recent()])
    bars = bars[~bars.index.duplicated(keep="last")]
    typical = (bars["high_usd"] + bars["low_usd"] + bars["close_usd"]) / 3.0
    days = pd.DatetimeIndex(typical.index).date
    by_day = {day: float(value) for day, value in zip(days, typical.to_numpy(), strict=True)}
    prices = [by_day.get(t.astimezone(UTC).date()) for t in times]
    if any(p is None for p in prices):
        return None, "no Binance daily bar for every sale day"
    return [float(p) for p in prices if p is not None], (
        "Binance ETHUSDT daily typical price (H+L+C)/3 on each sale day (shipped excerpt)"
    )


def _reserve_symbol(symbol: str, field: str) -> str:
    if symbol in RESERVES:
        return symbol
    by_lower = {name.lower(): name for name in RESERVES}
    if symbol.lower() in by_lower:
        return by_lower[symbol.lower()]
    raise unknown_name(field, symbol, RESERVES)


def _reserves(spec: ScenarioSpec) -> Mapping[str, ReserveParams]:
    reserves = dict(RESERVES)
    for raw_symbol, override in spec.reserve_overrides.items():
        symbol = _reserve_symbol(raw_symbol, "reserve_overrides")
        changes = {
            field: getattr(override, field).value
            for field in (
                "ltv",
                "liquidation_threshold",
                "liquidation_bonus",
                "liquidation_protocol_fee",
            )
            if getattr(override, field) is not None
        }
        try:
            reserves[symbol] = dataclasses.replace(reserves[symbol], **changes)
        except InvalidArgument as exc:
            raise InvalidArgument(f"reserve_overrides.{raw_symbol}: {exc}") from None
    return MappingProxyType(reserves)


def scenario_emode(spec: ScenarioSpec) -> EModeCategory:
    """``ETH_CORRELATED_EMODE`` with the scenario's ``[emode]`` values."""
    emode = spec.emode
    if emode is None:
        return ETH_CORRELATED_EMODE
    values = {key: getattr(emode, key).value
              for key in ("ltv", "liquidation_threshold", "liquidation_bonus")
              if getattr(emode, key) is not None}
    sources = "; ".join(f"{key}: {getattr(emode, key).source}" for key in values
                        if getattr(emode, key).source)
    try:
        return dataclasses.replace(
            ETH_CORRELATED_EMODE, category_id=emode.category_id,
            label=emode.label or ETH_CORRELATED_EMODE.label, **values,
            source=f"scenario [emode] ({sources or 'own input'})",
            estimate=any(getattr(emode, key).estimate for key in values))
    except InvalidArgument as exc:
        raise InvalidArgument(f"emode: {exc}") from None


def scenario_prices(spec: ScenarioSpec) -> Prices:
    """The scenario's oracle prices at the mark (``prices``), the rest from the mark."""
    prices = dict(Prices.from_eth(spec.mark.price_usd.value).usd)
    for raw_symbol, price in spec.prices.items():
        symbol = _reserve_symbol(raw_symbol, "prices")
        if symbol == "WETH":
            raise InvalidArgument(
                "prices.WETH: the WETH price is mark.price_usd; remove it from prices."
            )
        prices[symbol] = price.value
    return Prices(prices)


def _accounts(spec: ScenarioSpec) -> tuple[NamedAccount, ...]:
    built = []
    for index, item in enumerate(spec.accounts):
        where = f"accounts[{index}] ({item.name})"
        collateral = {
            _reserve_symbol(sym, f"{where}.collateral"): amount.value
            for sym, amount in item.collateral.items()
        }
        debt = {
            _reserve_symbol(sym, f"{where}.debt"): amount.value for sym, amount in item.debt.items()
        }
        units = [{_reserve_symbol(sym, f"{where}.{side}_units"): int(text)
                  for sym, text in getattr(item, f"{side}_units").items()}
                 for side in ("collateral", "debt")]
        try:
            account = Account(collateral=collateral, debt=debt, emode=item.emode,
                              collateral_units=units[0] or None, debt_units=units[1] or None)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc}") from None
        check_whole_units(account, where=f"accounts[{index}]")
        built.append(NamedAccount(name=item.name, account=account))
    return tuple(built)


def _ledger(spec: ScenarioSpec) -> Ledger | None:
    if not spec.position.trades:
        return None
    trades = [
        Trade(
            time=item.time,
            side=Side.BUY if item.side == "buy" else Side.SELL,
            quantity_eth=item.quantity_eth.value,
            price_usd=item.price_usd.value,
            fee_usd=item.fee_usd.value,
            note=item.note,
        )
        for item in spec.position.trades
    ]
    try:
        return Ledger.from_trades(trades, method=spec.position.cost_method)
    except InvalidArgument as exc:
        raise InvalidArgument(f"position.trades: {exc}") from None


# The position's ETH (trades or summary) and the ETH its accounts hold as collateral describe
# the same holding; press figures disagree by a few percent, so 10% is allowed, and a gap larger
# than that is a typo (an extra zero) or accounts that belong to another position.
POSITION_VS_ACCOUNTS_REL_TOL = 0.10


def _check_position_matches_accounts(
    spec: ScenarioSpec,
    accounts: Sequence[NamedAccount],
    reserves: Mapping[str, ReserveParams],
    ledger: Ledger | None,
) -> None:
    """Refuse a position far larger (or smaller) than the ETH its accounts hold."""
    if not accounts:
        return  # no Aave accounts: the holding is not on the protocol (e.g. a closed cycle)
    if ledger is not None:
        position_eth, where = ledger.position_eth, "position.trades (net ETH bought)"
    else:
        summary = spec.position.summary
        assert summary is not None  # the schema guarantees one of the two
        position_eth, where = summary.held_eth.value, "position.summary.held_eth"
    prices = scenario_prices(spec)
    collateral_eth = math.fsum(
        amount * prices.price(symbol) / prices.price("WETH")
        for named in accounts
        for symbol, amount in named.account.collateral.items()
        if reserves[symbol].eth_correlated
    )
    gap_eth = abs(position_eth - collateral_eth)
    if gap_eth > POSITION_VS_ACCOUNTS_REL_TOL * max(position_eth, collateral_eth):
        raise InvalidArgument(
            f"{where}={position_eth:,.6g} ETH disagrees with the {collateral_eth:,.6g} ETH the "
            f"accounts hold as collateral by more than {POSITION_VS_ACCOUNTS_REL_TOL:.0%}; the "
            "scenario's accounts must hold the position (check for a missing or extra zero, "
            "or a missing account)."
        )


def build_scenario(spec: ScenarioSpec, *, base_dir: Path | None = None) -> Scenario:
    """Model objects from a validated scenario; bad combinations raise InvalidArgument.

    ``base_dir`` is the folder a ``[book] file`` is relative to (the scenario file's; default
    the current folder).
    """
    accounts = _accounts(spec)
    reserves = _reserves(spec)
    ledger = _ledger(spec)
    _check_position_matches_accounts(spec, accounts, reserves, ledger)
    return Scenario(
        spec=spec,
        accounts=accounts,
        reserves=reserves,
        mark_price_usd=spec.mark.price_usd.value,
        ledger=ledger,
        protocol=_protocol(spec),
        book_file=_book_file(spec, base_dir),
    )


def _book_file(spec: ScenarioSpec, base_dir: Path | None) -> Path | None:
    """The ``[book] file`` resolved against ``base_dir``; it must exist (read when used)."""
    if spec.book is None or spec.book.file is None:
        return None
    path = Path(spec.book.file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise InvalidArgument(f"book.file={spec.book.file!r}: no such file ({path}); give the "
                              "path of a book .parquet file, relative to the scenario file.")
    if path.suffix.lower() != ".parquet":
        raise InvalidArgument(f"book.file={spec.book.file!r} must be a .parquet book "
                              "(delever book fetch).")
    return path


def _protocol(spec: ScenarioSpec) -> LendingProtocol:
    """The scenario's protocol with its market parameters (Morpho Blue's ``lltv``)."""
    params: dict[str, float] = {}
    if spec.lltv is not None:
        params["lltv"] = float(spec.lltv.value)
    return get_protocol(spec.protocol, params=params)


def load_scenario(source: str | Path = DEFAULT_SCENARIO) -> Scenario:
    """Load a built-in scenario by name (default ``trend-2026``) or a TOML file by path."""
    path = Path(str(source))
    base_dir = path.parent if path.is_file() else None
    return build_scenario(read_scenario_spec(source), base_dir=base_dir)


__all__ = ["MarketParameters", "Scenario", "build_scenario", "load_scenario"]

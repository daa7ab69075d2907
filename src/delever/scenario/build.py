"""Turn a validated scenario file into the model objects the engines take."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel

from delever.errors import InvalidArgument, unknown_name
from delever.ledger import Ledger, PnL, Side, Trade, pnl_from_summary
from delever.protocol import RESERVES, Account, Prices, ReserveParams
from delever.scenario.loader import DEFAULT_SCENARIO, read_scenario_spec
from delever.scenario.schema import ScenarioSpec, Sourced
from delever.sim.position import NamedAccount, PositionReport, analyze_position


@dataclass(frozen=True, eq=False)
class Scenario:
    """A scenario ready for the engines: accounts, reserves, prices and the trade history."""

    spec: ScenarioSpec
    accounts: tuple[NamedAccount, ...]
    reserves: Mapping[str, ReserveParams]
    mark_price_usd: float
    ledger: Ledger | None  # None when the position is known only from reported totals

    @property
    def name(self) -> str:
        """The scenario's short id."""
        return self.spec.name

    @property
    def prices(self) -> Prices:
        """USD prices at the mark (ETH derivatives at their default exchange rates)."""
        return Prices.from_eth(self.mark_price_usd)

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
        return analyze_position(self.accounts, self.prices, self.pnl(), reserves=self.reserves)

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
        try:
            account = Account(collateral=collateral, debt=debt, emode=item.emode)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc}") from None
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


def build_scenario(spec: ScenarioSpec) -> Scenario:
    """Model objects from a validated scenario; bad combinations raise InvalidArgument."""
    return Scenario(
        spec=spec,
        accounts=_accounts(spec),
        reserves=_reserves(spec),
        mark_price_usd=spec.mark.price_usd.value,
        ledger=_ledger(spec),
    )


def load_scenario(source: str | Path = DEFAULT_SCENARIO) -> Scenario:
    """Load a built-in scenario by name (default ``trend-2026``) or a TOML file by path."""
    return build_scenario(read_scenario_spec(source))


__all__ = ["Scenario", "build_scenario", "load_scenario"]

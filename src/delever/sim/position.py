"""A snapshot of a leveraged position: each account's health, the liquidation band, P&L.

This is the first thing ``delever run`` shows. It wires the protocol layer (health factor,
liquidation price) and the ledger (P&L) together; it knows nothing of files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from delever._results import ResultContract
from delever.errors import InvalidArgument
from delever.ledger import PnL
from delever.protocol import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    Account,
    EModeCategory,
    Prices,
    ReserveParams,
    account_data,
    liquidation_price_usd,
    rate_distance_to_liquidation,
)
from delever.protocol.base import LendingProtocol, RiskParams
from delever.protocol.rule_sets import DEFAULT_RULE_SET


@dataclass(frozen=True)
class NamedAccount:
    """An Aave account with a label."""

    name: str
    account: Account


@dataclass(frozen=True)
class AccountReport(ResultContract):
    """One account at the mark: its size, health factor and liquidation price."""

    name: str
    collateral_eth: float  # ETH-correlated collateral in ETH at the mark's exchange rates
    collateral_usd: float
    debt_usd: float
    health_factor: float
    liquidation_threshold: float  # the account's weighted average LT
    liquidation_price_usd: float  # ETH price at which HF = 1 (all ETH assets move together)
    # fall of what moves the HF, from the mark to liquidation: the ETH price, or for an account
    # whose debt moves with its collateral (wstETH against WETH) the collateral's rate to ETH
    distance_to_liquidation_pct: float
    available_borrows_usd: float
    distance_driver: str = "ETH/USD"  # what distance_to_liquidation_pct is a fall of
    # Aave's integer health factor (1e18 = 1), where the account carries the chain's exact
    # balances (a snapshot): what getUserAccountData returns at those prices
    health_factor_wad: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output (``health_factor_wad`` as text, where known)."""
        exact = {} if self.health_factor_wad is None else {
            "health_factor_wad": str(self.health_factor_wad)}
        return {**exact,
            "name": self.name,
            "collateral_eth": self.collateral_eth,
            "collateral_usd": self.collateral_usd,
            "debt_usd": self.debt_usd,
            "health_factor": self.health_factor,
            "liquidation_threshold": self.liquidation_threshold,
            "liquidation_price_usd": self.liquidation_price_usd,
            "distance_to_liquidation_pct": self.distance_to_liquidation_pct,
            "distance_driver": self.distance_driver,
            "available_borrows_usd": self.available_borrows_usd,
        }


@dataclass(frozen=True, eq=False)
class PositionReport(ResultContract):
    """The position at the mark: accounts, liquidation band and P&L."""

    mark_price_usd: float
    accounts: tuple[AccountReport, ...]
    pnl: PnL

    @property
    def total_collateral_eth(self) -> float:
        """ETH-equivalent collateral over all accounts."""
        return math.fsum(a.collateral_eth for a in self.accounts)

    @property
    def total_debt_usd(self) -> float:
        """Debt over all accounts, in USD."""
        return math.fsum(a.debt_usd for a in self.accounts)

    @property
    def liquidation_band_usd(self) -> tuple[float, float] | None:
        """[lowest, highest] liquidation price over the accounts with debt; None if none."""
        prices = [
            a.liquidation_price_usd
            for a in self.accounts
            if a.debt_usd > 0 and math.isfinite(a.liquidation_price_usd)
        ]
        if not prices:
            return None
        return (min(prices), max(prices))

    @property
    def first_liquidation_distance_pct(self) -> float:
        """How far the ETH price can fall from the mark before the first account is hit."""
        band = self.liquidation_band_usd
        if band is None:
            return math.inf
        return 100.0 * (1.0 - band[1] / self.mark_price_usd)

    def to_frame(self) -> pd.DataFrame:
        """One row per account."""
        return pd.DataFrame([a.to_dict() for a in self.accounts]).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``delever run`` (keys documented in the README)."""
        band = self.liquidation_band_usd
        return {
            "pnl": {
                "realized_usd": self.pnl.realized_usd,
                "unrealized_usd": self.pnl.unrealized_usd,
                "total_usd": self.pnl.total_usd,
                "mark_price_usd": self.pnl.mark_price_usd,
                "position_eth": self.pnl.position_eth,
                "cost_basis_usd": self.pnl.cost_basis_usd,
                "average_cost_usd": self.pnl.average_cost_usd,
            },
            "liquidation_band_usd": list(band) if band is not None else None,
            "first_liquidation_distance_pct": self.first_liquidation_distance_pct,
            "total_collateral_eth": self.total_collateral_eth,
            "total_debt_usd": self.total_debt_usd,
            "accounts": [a.to_dict() for a in self.accounts],
        }


def _collateral_eth(
    account: Account, prices: Prices, reserves: Mapping[str, ReserveParams]
) -> float:
    """ETH-correlated collateral expressed in ETH at the current exchange rates."""
    eth_usd = prices.usd["WETH"]
    return math.fsum(
        amount * prices.usd[symbol] / eth_usd
        for symbol, amount in account.collateral.items()
        if reserves[symbol].eth_correlated
    )


def _market_account(named: NamedAccount, prices: Prices, reserves: Mapping[str, ReserveParams],
                    protocol: LendingProtocol, risk: RiskParams) -> AccountReport:
    """One account in an isolated market (Morpho Blue): its ETH-priced collateral against its
    stablecoin debt at $1, by the market's LLTV (``protocol.health_factor``)."""
    mark = prices.usd["WETH"]
    collateral_eth = _collateral_eth(named.account, prices, reserves)
    debt_usd = math.fsum(named.account.debt.values())
    liq_price = protocol.liquidation_price_usd(collateral_eth, debt_usd, risk)
    finite = math.isfinite(liq_price) and debt_usd > 0
    return AccountReport(
        name=named.name,
        collateral_eth=collateral_eth,
        collateral_usd=collateral_eth * mark,
        debt_usd=debt_usd,
        health_factor=protocol.health_factor(collateral_eth, debt_usd, mark, risk),
        liquidation_threshold=risk.liquidation_threshold,
        liquidation_price_usd=liq_price,
        distance_to_liquidation_pct=100.0 * (1.0 - liq_price / mark) if finite else math.inf,
        available_borrows_usd=max(0.0, collateral_eth * mark * risk.ltv - debt_usd),
        distance_driver="ETH/USD" if finite else "none",
    )


def _exact_hf_wad(account: Account, prices: Prices, reserves: Mapping[str, ReserveParams],
                  protocol: LendingProtocol | None, emode_category: EModeCategory
                  ) -> int | None:
    """The contract's integer HF when every balance of ``account`` is given in exact units."""
    units = {**(account.collateral_units or {})}, {**(account.debt_units or {})}
    if not (units[0] or units[1]) or set(units[0]) != set(account.collateral) or set(
            units[1]) != set(account.debt):
        return None
    rule_set = getattr(protocol, "rule_set", DEFAULT_RULE_SET)
    wad = account_data(account, prices, reserves=reserves, exact=True, rule_set=rule_set,
                       emode_category=emode_category).health_factor_wad
    return None if wad is None else int(wad)


def analyze_position(
    accounts: Sequence[NamedAccount],
    prices: Prices,
    pnl: PnL,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    protocol: LendingProtocol | None = None,
    emode_category: EModeCategory = ETH_CORRELATED_EMODE,
) -> PositionReport:
    """Health factor and liquidation price of every account at ``prices``, with the P&L.

    Parameters
    ----------
    accounts
        The position's Aave accounts.
    prices
        USD prices of every asset involved (``prices.usd["WETH"]`` is the ETH mark).
    pnl
        Realized and unrealized P&L at the mark (from the ledger).
    reserves
        Reserve parameters (after any scenario overrides).
    protocol
        The lending protocol (default Aave v3.6, by the reserves). One that fixes the risk
        parameters per market (Morpho Blue: ``market_risk()``) values each account as one
        ETH-priced collateral against stablecoin debt by that market's LLTV.
    emode_category
        The e-mode category of the accounts with ``emode`` (Aave).

    Returns
    -------
    PositionReport
    """
    if "WETH" not in prices.usd:
        raise InvalidArgument("prices must include WETH (the ETH mark price).")
    mark = prices.usd["WETH"]
    risk = None if protocol is None else protocol.market_risk()
    if protocol is not None and risk is not None:
        rows = tuple(_market_account(n, prices, reserves, protocol, risk) for n in accounts)
        return PositionReport(mark_price_usd=mark, accounts=rows, pnl=pnl)
    reports = []
    for named in accounts:
        data = account_data(named.account, prices, reserves=reserves,
                            emode_category=emode_category)
        liq_price = liquidation_price_usd(named.account, prices, reserves=reserves,
                                          emode_category=emode_category)
        driver = "ETH/USD"
        if math.isfinite(liq_price):
            distance = 100.0 * (1.0 - liq_price / mark)
        else:
            # the ETH price does not move this HF: give the fall of the rate that does, and
            # inf only where nothing liquidates the account
            rate = rate_distance_to_liquidation(named.account, prices, reserves=reserves,
                                                emode_category=emode_category)
            distance, driver = (rate.drop_pct, rate.driver) if rate else (math.inf, "none")
        reports.append(
            AccountReport(
                name=named.name,
                collateral_eth=_collateral_eth(named.account, prices, reserves),
                collateral_usd=data.total_collateral_usd,
                debt_usd=data.total_debt_usd,
                health_factor=data.health_factor,
                liquidation_threshold=data.avg_liquidation_threshold,
                liquidation_price_usd=liq_price,
                distance_to_liquidation_pct=distance,
                available_borrows_usd=data.available_borrows_usd,
                distance_driver=driver,
                health_factor_wad=_exact_hf_wad(named.account, prices, reserves, protocol,
                                                emode_category),
            )
        )
    return PositionReport(mark_price_usd=mark, accounts=tuple(reports), pnl=pnl)


__all__ = ["AccountReport", "NamedAccount", "PositionReport", "analyze_position"]

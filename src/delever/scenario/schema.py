"""Scenario files: TOML validated by pydantic v2.

Every number that comes from outside (a press figure, a protocol parameter, a market
statistic) is a :class:`Sourced` value: ``{ value = 2168.0, source = "...", estimate = true }``.
A bare number is accepted too and means "the user's own input" (``source = "user input"``,
``estimate = false``).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
USER_INPUT = "user input"


class Sourced(BaseModel):
    """A number with its source and whether it is an estimate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(description="The number itself, in the unit the field's name gives.")
    source: str = Field(
        default=USER_INPUT, min_length=1, description="Where the number comes from."
    )
    estimate: bool = Field(
        default=False, description="True where the figure is approximate or inferred."
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_number(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("expected a number, not a boolean")
        if isinstance(data, int | float):
            return {"value": data}
        return data

    @model_validator(mode="after")
    def _finite(self) -> Sourced:
        if not math.isfinite(self.value):
            raise ValueError(f"value={self.value!r} must be a finite number")
        return self


def _positive(item: Sourced) -> Sourced:
    if item.value <= 0:
        raise ValueError(f"value={item.value!r} must be greater than 0")
    return item


def _non_negative(item: Sourced) -> Sourced:
    if item.value < 0:
        raise ValueError(f"value={item.value!r} must not be negative")
    return item


def _fraction(item: Sourced) -> Sourced:
    if not 0 < item.value <= 1:
        raise ValueError(f"value={item.value!r} must be in (0, 1]; give a fraction, e.g. 0.83")
    return item


PositiveSourced = Annotated[Sourced, AfterValidator(_positive)]
NonNegativeSourced = Annotated[Sourced, AfterValidator(_non_negative)]
FractionSourced = Annotated[Sourced, AfterValidator(_fraction)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarkSpec(_Strict):
    """The price at which open holdings are valued."""

    price_usd: PositiveSourced = Field(description="ETH mark price in USD; must be > 0.")
    time: datetime | date | None = Field(
        default=None, description="When the mark applies (UTC); optional."
    )


class TradeSpec(_Strict):
    """One trade of the position's history (ETH against USD)."""

    time: datetime = Field(description="Trade time (UTC).")
    side: Literal["buy", "sell"] = Field(description="'buy' or 'sell'.")
    quantity_eth: PositiveSourced = Field(description="ETH bought or sold; must be > 0.")
    price_usd: PositiveSourced = Field(description="Price in USD per ETH; must be > 0.")
    fee_usd: NonNegativeSourced = Field(
        default_factory=lambda: Sourced(value=0.0), description="Fees paid in USD; >= 0."
    )
    note: str = Field(default="", description="Free text.")


class AccountSpec(_Strict):
    """One Aave v3 account: collateral and debt by asset, in token units."""

    name: str = Field(min_length=1, description="A label for the account.")
    collateral: dict[str, NonNegativeSourced] = Field(
        default_factory=dict, description="Collateral by asset symbol, in tokens; >= 0."
    )
    debt: dict[str, NonNegativeSourced] = Field(
        default_factory=dict, description="Debt by asset symbol, in tokens; >= 0."
    )
    emode: bool = Field(
        default=False,
        description="Use the ETH-correlated e-mode (ETH-denominated debt only).",
    )

    @model_validator(mode="after")
    def _debt_needs_collateral(self) -> AccountSpec:
        has_debt = any(item.value > 0 for item in self.debt.values())
        has_collateral = any(item.value > 0 for item in self.collateral.values())
        if has_debt and not has_collateral:
            raise ValueError(
                f"account {self.name!r} has debt but no collateral; Aave cannot open such a "
                "position. Add collateral or remove the debt"
            )
        return self


class ReserveOverride(_Strict):
    """Overrides of one reserve's risk parameters (fractions)."""

    ltv: FractionSourced | None = Field(default=None, description="Loan-to-value, in (0, 1].")
    liquidation_threshold: FractionSourced | None = Field(
        default=None, description="Liquidation threshold, in (0, 1]; must be >= ltv."
    )
    liquidation_bonus: NonNegativeSourced | None = Field(
        default=None, description="Bonus above 1 paid to liquidators, e.g. 0.05; >= 0."
    )
    liquidation_protocol_fee: NonNegativeSourced | None = Field(
        default=None, description="Share of the bonus taken by the protocol, in [0, 1]."
    )

    @model_validator(mode="after")
    def _ordered(self) -> ReserveOverride:
        if (
            self.ltv is not None
            and self.liquidation_threshold is not None
            and self.liquidation_threshold.value < self.ltv.value
        ):
            raise ValueError(
                f"liquidation_threshold={self.liquidation_threshold.value} must be >= "
                f"ltv={self.ltv.value}"
            )
        fee = self.liquidation_protocol_fee
        if fee is not None and fee.value > 1:
            raise ValueError(f"liquidation_protocol_fee={fee.value} must be in [0, 1]")
        return self


class SummarySpec(_Strict):
    """A position known only from reported totals (no trade list)."""

    cost_basis_usd_per_eth: PositiveSourced = Field(description="Average cost in USD per ETH.")
    sold_eth: NonNegativeSourced = Field(description="ETH sold so far; >= 0.")
    avg_sale_price_usd: PositiveSourced = Field(description="Average sale price in USD per ETH.")
    held_eth: NonNegativeSourced = Field(description="ETH still held; >= 0.")


class PositionSpec(_Strict):
    """The position's history: a trade list, or reported totals."""

    trades: list[TradeSpec] = Field(
        default_factory=list, description="Trades in time order (buy and sell)."
    )
    summary: SummarySpec | None = Field(
        default=None, description="Reported totals, when no trade list is known."
    )
    cost_method: Literal["fifo", "average"] = Field(
        default="average", description="How realized P&L is matched against cost."
    )

    @model_validator(mode="after")
    def _one_history(self) -> PositionSpec:
        if bool(self.trades) == (self.summary is not None):
            raise ValueError("give exactly one of 'trades' (a list) or 'summary' (totals)")
        times = [trade.time for trade in self.trades]
        if times != sorted(times):
            raise ValueError("trades must be in time order")
        return self


class MarketSpec(_Strict):
    """Market parameters (the market layer reads these; see `delever calibrate`)."""

    sigma_daily: PositiveSourced | None = Field(
        default=None, description="Daily volatility of ETH log returns, as a fraction."
    )
    adv_eth: PositiveSourced | None = Field(
        default=None, description="Average daily volume in ETH."
    )
    impact_y: PositiveSourced | None = Field(
        default=None, description="Square-root-law impact coefficient Y (dimensionless)."
    )
    impact_y_range: list[float] | None = Field(
        default=None, min_length=2, max_length=2, description="[low, high] range of Y."
    )
    cutoff: date | None = Field(
        default=None, description="Calibration used only data before this date."
    )


class BookSpec(_Strict):
    """The other borrowers (a synthetic book fitted to a real Aave cohort) and followers."""

    n_accounts: int = Field(default=2_000, ge=1, le=1_000_000, description="Borrowers.")
    total_collateral_eth: PositiveSourced = Field(
        description="ETH collateral of the whole book; > 0."
    )
    seed: int = Field(default=0, ge=0, le=2**63 - 1, description="Seed of the book's draw.")
    followers_kappa: NonNegativeSourced = Field(
        default_factory=lambda: Sourced(value=0.0),
        description="Followers sell kappa times the large seller's sale; >= 0.",
    )
    followers_lag_steps: int = Field(
        default=1, ge=1, le=10_000, description="Steps between the sale and the copy."
    )


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    schema_version: Literal[1] = Field(default=1, description="Scenario file format version.")
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$", description="Short id.")
    title: str = Field(default="", description="One-line title.")
    description: str = Field(default="", description="What the scenario represents.")
    mark: MarkSpec = Field(description="Valuation of the open holding.")
    position: PositionSpec = Field(description="Trades or reported totals.")
    accounts: list[AccountSpec] = Field(
        default_factory=list, description="The position's Aave accounts now."
    )
    reserve_overrides: dict[str, ReserveOverride] = Field(
        default_factory=dict, description="Risk-parameter overrides by reserve symbol."
    )
    market: MarketSpec | None = Field(default=None, description="Market parameters.")
    book: BookSpec | None = Field(
        default=None, description="Other borrowers and followers (the cascade)."
    )
    reported: dict[str, Sourced] = Field(
        default_factory=dict,
        description="Published figures to compare the model with (not used as inputs).",
    )

    @model_validator(mode="after")
    def _unique_account_names(self) -> ScenarioSpec:
        names = [account.name for account in self.accounts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"account names must be unique; repeated: {', '.join(duplicates)}")
        return self


__all__ = [
    "SCHEMA_VERSION",
    "AccountSpec",
    "BookSpec",
    "MarkSpec",
    "MarketSpec",
    "PositionSpec",
    "ReserveOverride",
    "ScenarioSpec",
    "Sourced",
    "SummarySpec",
    "TradeSpec",
]

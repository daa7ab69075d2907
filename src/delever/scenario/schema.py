"""Scenario files: TOML validated by pydantic v2.

Every number that comes from outside (a press figure, a protocol parameter, a market
statistic) is a :class:`Sourced` value: ``{ value = 2168.0, source = "...", estimate = true }``.
A bare number is accepted too and means "the user's own input" (``source = "user input"``,
``estimate = false``).
"""

from __future__ import annotations

import difflib
import math
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from delever.errors import unknown_name
from delever.market.models import SCENARIO_MODELS
from delever.protocol.registry import DEFAULT_PROTOCOL, PROTOCOL_NAMES

SCHEMA_VERSION = 1
USER_INPUT = "user input"

# Bounds on what a scenario may say, each with its reason. They keep every figure inside what
# has been or could be observed, and keep the engines' products finite (a trade price of 1e30
# times an amount overflows nothing by itself, but its P&L and impact figures are meaningless).
MAX_PRICE_USD = 1e7
"""Largest ETH price in USD: ETH has never traded above $5,000; 1e7 leaves room."""
MAX_ETH = 1.2e8
"""Largest ETH amount: about all the ETH in existence (~1.2e8 ETH in 2026)."""
MAX_TOKENS = 1e12
"""Largest token amount (debt): above the whole supply of any Aave reserve (USDT ~2e11)."""
MAX_IMPACT_Y = 10.0
"""Largest square-root-law Y: every study finds Y of order 1 (Toth et al. 2011: 0.5-1.5)."""
MAX_FOLLOWERS_KAPPA = 10.0
"""Largest followers' multiple: copy-sellers selling more than 10x the seller have never been
observed, and beyond it their sales alone exhaust the market's depth (the price reaches 0)."""
EARLIEST_TIME = datetime(2015, 7, 30, tzinfo=UTC)
"""No ETH trade or mark before the Ethereum genesis block (2015-07-30)."""
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
"""No time after 2100: far enough ahead, and inside what the engines' clocks can hold."""
SHIPPED_DATA_LAST_DAY = date(2026, 5, 1)
"""Last day of the shipped Binance daily data (tests/scenario/test_schema_rules.py checks it)."""


class Sourced(BaseModel):
    """A number with its source and whether it is an estimate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # strict: a boolean or a quoted number is a mistake, not 1.0 (pydantic's lax mode)
    value: float = Field(
        strict=True, description="The number itself, in the unit the field's name gives."
    )
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

    @field_validator("value", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number, not a boolean")
        return value

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


def _at_most(limit: float, why: str) -> Any:
    def check(item: Sourced) -> Sourced:
        if item.value > limit:
            raise ValueError(f"must be at most {limit:g} ({why})")
        return item

    return AfterValidator(check)


def _sigma_fraction(item: Sourced) -> Sourced:
    if item.value > 1:
        raise ValueError(
            "looks like a percent; give a fraction, e.g. "
            f"{item.value / 100:g} for {item.value:g}%"
        )
    return item


PositiveSourced = Annotated[Sourced, AfterValidator(_positive)]
NonNegativeSourced = Annotated[Sourced, AfterValidator(_non_negative)]
FractionSourced = Annotated[Sourced, AfterValidator(_fraction)]
PriceSourced = Annotated[
    Sourced, AfterValidator(_positive), _at_most(MAX_PRICE_USD, "ETH has never traded above $5,000")
]
EthSourced = Annotated[
    Sourced, AfterValidator(_positive), _at_most(MAX_ETH, "about all the ETH in existence")
]
EthOrZeroSourced = Annotated[
    Sourced, AfterValidator(_non_negative), _at_most(MAX_ETH, "about all the ETH in existence")
]
TokensSourced = Annotated[
    Sourced,
    AfterValidator(_non_negative),
    _at_most(MAX_TOKENS, "above the supply of any Aave reserve"),
]

SigmaSourced = Annotated[Sourced, AfterValidator(_positive), AfterValidator(_sigma_fraction)]
ImpactYSourced = Annotated[
    Sourced, AfterValidator(_positive), _at_most(MAX_IMPACT_Y, "Y is of order 1")
]
KappaSourced = Annotated[
    Sourced,
    AfterValidator(_non_negative),
    _at_most(MAX_FOLLOWERS_KAPPA, "followers selling over 10x the seller were never seen"),
]


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number as seconds since 1970; in a scenario it is always a mistake
    if isinstance(value, bool | int | float):
        raise ValueError(
            "is a number; give a TOML date-time such as 2026-02-01T12:00:00Z"
        )
    return value


def _utc_in_span(value: date) -> date:
    """A timezone-aware datetime (or a date) between ETH's genesis and 2100."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"has no time zone; add Z or +00:00, e.g. {value.isoformat()}Z"
            )
        moment = value
    else:
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not EARLIEST_TIME <= moment < LATEST_TIME:
        raise ValueError(
            f"must be between {EARLIEST_TIME.date()} (ETH's genesis) and {LATEST_TIME.date()}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarkSpec(_Strict):
    """The price at which open holdings are valued."""

    price_usd: PriceSourced = Field(
        description="ETH mark price in USD; in (0, 1e7] (ETH has never traded above $5,000)."
    )
    time: datetime | date | None = Field(
        default=None,
        description="When the mark applies: a date, or a date-time with its zone (Z); "
        "2015-07-30 (ETH's genesis) to 2100; optional.",
    )

    _time_not_a_number = field_validator("time", mode="before")(_not_a_number)

    @field_validator("time")
    @classmethod
    def _time_in_span(cls, value: date | None) -> date | None:
        return None if value is None else _utc_in_span(value)


class TradeSpec(_Strict):
    """One trade of the position's history (ETH against USD)."""

    time: datetime = Field(
        description="Trade time with its zone (e.g. 2026-02-01T12:00:00Z), 2015-07-30 (ETH's "
        "genesis) to 2100."
    )
    side: Literal["buy", "sell"] = Field(description="'buy' or 'sell'.")
    quantity_eth: EthSourced = Field(
        description="ETH bought or sold; in (0, 1.2e8] (all the ETH in existence)."
    )
    price_usd: PriceSourced = Field(
        description="Price in USD per ETH; in (0, 1e7] (ETH has never traded above $5,000)."
    )
    fee_usd: NonNegativeSourced = Field(
        default_factory=lambda: Sourced(value=0.0),
        description="Fees paid in USD; >= 0 and at most the trade's value (quantity x price).",
    )
    note: str = Field(default="", description="Free text.")

    _time_not_a_number = field_validator("time", mode="before")(_not_a_number)

    @field_validator("time")
    @classmethod
    def _time_in_span(cls, value: datetime) -> datetime:
        _utc_in_span(value)
        return value

    @model_validator(mode="after")
    def _fee_within_value(self) -> TradeSpec:
        value_usd = self.quantity_eth.value * self.price_usd.value
        if self.fee_usd.value > value_usd:
            raise ValueError(
                f"fee_usd={self.fee_usd.value:g} is more than the trade's value "
                f"{value_usd:g} USD (quantity x price); give the fee in USD"
            )
        return self


# Token balances in integer units overflow TOML's 64-bit integers (1,000 WETH is 1e21 wei):
# they are written as decimal text.
UnitsText = Annotated[str, Field(pattern=r"^[0-9]{1,78}$", description="Integer units.")]


class AccountSpec(_Strict):
    """One Aave v3 account: collateral and debt by asset, in token units."""

    name: str = Field(min_length=1, description="A label for the account.")
    collateral: dict[str, EthOrZeroSourced] = Field(
        default_factory=dict,
        description="Collateral by asset symbol, in tokens; in [0, 1.2e8] (every collateral "
        "asset is ETH or an ETH derivative, and all the ETH in existence is ~1.2e8).",
    )
    debt: dict[str, TokensSourced] = Field(
        default_factory=dict,
        description="Debt by asset symbol, in tokens; in [0, 1e12] (above the supply of any "
        "Aave reserve).",
    )
    emode: bool = Field(
        default=False,
        description="Use the ETH-correlated e-mode (ETH-denominated debt only).",
    )
    collateral_units: dict[str, UnitsText] = Field(
        default_factory=dict,
        description="Exact collateral balances in integer units (10**decimals per token) as "
        "read on chain, written as decimal text; the exact health factor uses them.",
    )
    debt_units: dict[str, UnitsText] = Field(
        default_factory=dict,
        description="Exact debt balances in integer units, as decimal text (see "
        "collateral_units).",
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
        default=None, description="Bonus above 1 paid to liquidators, e.g. 0.05; in [0, 1)."
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
        bonus = self.liquidation_bonus
        if bonus is not None and bonus.value >= 1:
            raise ValueError(
                f"liquidation_bonus={bonus.value} must be below 1; give the bonus above 1 as a "
                "fraction, e.g. 0.05 (not 1.05)"
            )
        return self


class SummarySpec(_Strict):
    """A position known only from reported totals (no trade list)."""

    cost_basis_usd_per_eth: PriceSourced = Field(
        description="Average cost in USD per ETH; in (0, 1e7]."
    )
    sold_eth: EthOrZeroSourced = Field(description="ETH sold so far; in [0, 1.2e8].")
    avg_sale_price_usd: PriceSourced = Field(
        description="Average sale price in USD per ETH; in (0, 1e7]."
    )
    held_eth: EthOrZeroSourced = Field(description="ETH still held; in [0, 1.2e8].")


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


IMPACT_MODEL_NAMES = tuple(SCENARIO_MODELS)
"""The ``[market] model`` names: the impact models the engines can walk
(``delever.market.models.SCENARIO_MODELS``, each with the keys it reads)."""

_MODEL_FIELDS: dict[str, tuple[str, ...]] = {
    name: model.keys for name, model in SCENARIO_MODELS.items()}
_MODEL_NEEDS: dict[str, tuple[str, ...]] = {
    name: model.needs for name, model in SCENARIO_MODELS.items()}


def _permanent_share(item: Sourced) -> Sourced:
    if not 0 <= item.value <= 1:
        raise ValueError(f"value={item.value!r} must be in [0, 1]; give a share, e.g. 0.67")
    return item


class MarketSpec(_Strict):
    """Market parameters (the market layer reads these; see `delever calibrate`)."""

    sigma_daily: SigmaSourced | None = Field(
        default=None,
        description="Daily volatility of ETH log returns, a fraction in (0, 1] (ETH's is "
        "about 0.04); above 1 is a percent given by mistake.",
    )
    adv_eth: EthSourced | None = Field(
        default=None,
        description="Average daily volume in ETH; in (0, 1.2e8] (all the ETH in existence).",
    )
    impact_y: ImpactYSourced | None = Field(
        default=None,
        description="Square-root-law impact coefficient Y (dimensionless); in (0, 10] "
        "(every study finds Y of order 1).",
    )
    impact_y_range: list[Annotated[float, Field(strict=True)]] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="[low, high] range of Y: finite, 0 < low <= high <= 10, and holding impact_y.",
    )
    cutoff: date | None = Field(
        default=None,
        description="Calibration used only data before this date: from 2015-07-30 (ETH's "
        "genesis) to the day after the shipped data's last day.",
    )

    model: str = Field(
        default="sqrt",
        strict=True,
        description="Impact model the engines walk: sqrt (default), linear, ow, propagator.",
    )
    permanent_frac: Annotated[Sourced, AfterValidator(_permanent_share)] | None = Field(
        default=None,
        description="Share of the impact that never decays, in [0, 1] (default: 2/3 for sqrt "
        "and 1 for linear, 0 for ow and propagator).",
    )
    transient_half_life_hours: NonNegativeSourced | None = Field(
        default=None,
        description="Half-life of the decaying part of the impact, hours, >= 0 (sqrt: 6, "
        "linear: 0 = at once, ow: 6); sqrt, linear and ow only.",
    )
    impact_per_adv: PositiveSourced | None = Field(
        default=None,
        description="linear and ow (required): impact of selling one day's volume, a fraction "
        "of the price, > 0 (e.g. 0.1).",
    )
    decay_time_hours: PositiveSourced | None = Field(
        default=None,
        description="propagator: t0 of the power-law decay (1 + t/t0)^-beta, hours, > 0 "
        "(default 1).",
    )
    decay_exponent: NonNegativeSourced | None = Field(
        default=None,
        description="propagator: beta of the power-law decay, >= 0 (default 0.3).",
    )
    state_liquidity: bool = Field(
        default=False,
        strict=True,
        description="Thin the depth as realized volatility and drawdown rise (the fitted "
        "estimates of delever.market.liquidity); default false.",
    )

    _cutoff_not_a_number = field_validator("cutoff", mode="before")(_not_a_number)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in IMPACT_MODEL_NAMES:
            close = difflib.get_close_matches(value, IMPACT_MODEL_NAMES, n=2, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"is not an impact model the engines can walk; choose one of "
                             f"{', '.join(IMPACT_MODEL_NAMES)}{hint}")
        return value

    @model_validator(mode="after")
    def _fields_of_the_model(self) -> MarketSpec:
        allowed = _MODEL_FIELDS[self.model]
        for key in sorted({f for fields in _MODEL_FIELDS.values() for f in fields}):
            if getattr(self, key) is not None and key not in allowed:
                users = [m for m, fields in _MODEL_FIELDS.items() if key in fields]
                raise ValueError(f"{key} applies to model {' or '.join(users)}, not to "
                                 f"model = {self.model!r}; remove it or change the model")
        for key in _MODEL_NEEDS.get(self.model, ()):
            if getattr(self, key) is None:
                raise ValueError(f"model = {self.model!r} needs {key} (the impact of selling "
                                 "one day's volume, a fraction of the price, e.g. 0.1)")
        return self

    @field_validator("cutoff")
    @classmethod
    def _cutoff_within_data(cls, value: date | None) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            value = value.date()
        latest = date.fromordinal(SHIPPED_DATA_LAST_DAY.toordinal() + 1)
        if not EARLIEST_TIME.date() <= value <= latest:
            raise ValueError(
                f"must be from {EARLIEST_TIME.date()} (ETH's genesis) to {latest}: the shipped "
                f"data end on {SHIPPED_DATA_LAST_DAY}, so a later cut-off holds no data"
            )
        return value

    @field_validator("impact_y_range")
    @classmethod
    def _range_ordered(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        low, high = value
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high <= MAX_IMPACT_Y):
            raise ValueError(
                f"must be [low, high], finite, with 0 < low <= high <= {MAX_IMPACT_Y:g}, "
                "e.g. [0.5, 1.5]"
            )
        return value

    @model_validator(mode="after")
    def _range_holds_y(self) -> MarketSpec:
        if self.impact_y is not None and self.impact_y_range is not None:
            low, high = self.impact_y_range
            if not low <= self.impact_y.value <= high:
                raise ValueError(
                    f"impact_y={self.impact_y.value} must lie inside impact_y_range="
                    f"{self.impact_y_range!r}"
                )
        return self


class BookSpec(_Strict):
    """The other borrowers (a synthetic book fitted to a real Aave cohort) and followers."""

    n_accounts: int = Field(default=2_000, ge=1, le=1_000_000, description="Borrowers.")
    total_collateral_eth: EthSourced | None = Field(
        default=None,
        description="ETH collateral of the whole (synthetic) book; in (0, 1.2e8] (all the ETH "
        "in existence). Required unless file is given.",
    )
    seed: int = Field(default=0, ge=0, le=2**63 - 1, description="Seed of the book's draw.")
    followers_kappa: KappaSourced = Field(
        default_factory=lambda: Sourced(value=0.0),
        description="Followers sell kappa times the large seller's sale; in [0, 10] (more has "
        "never been observed, and the market's depth is exhausted before).",
    )
    followers_lag_steps: int = Field(
        default=1, ge=1, le=10_000, description="Steps between the sale and the copy."
    )
    file: str | None = Field(
        default=None, min_length=1, max_length=4096,
        description="A Parquet borrower book (delever book fetch), relative to the scenario "
        "file: every engine uses it instead of the synthetic draw (n_accounts, "
        "total_collateral_eth and seed are then not used).",
    )

    @model_validator(mode="after")
    def _drawn_or_read(self) -> BookSpec:
        if self.file is None and self.total_collateral_eth is None:
            raise ValueError("give total_collateral_eth (a synthetic book) or file (a book "
                             "read from the chain: delever book fetch)")
        return self


class EModeSpec(_Strict):
    """The e-mode category an account with ``emode = true`` is in (default: Ethereum Core's
    ETH-correlated category 1 as delever ships it)."""

    category_id: int = Field(default=1, ge=1, le=255, description="Aave's category id.")
    label: str = Field(default="", max_length=100, description="Aave's label.")
    ltv: FractionSourced | None = Field(default=None, description="The category's LTV.")
    liquidation_threshold: FractionSourced | None = Field(
        default=None, description="The category's liquidation threshold, in (0, 1]."
    )
    liquidation_bonus: NonNegativeSourced | None = Field(
        default=None, description="The category's bonus above 1, e.g. 0.01; in [0, 1)."
    )


def _discount(item: Sourced) -> Sourced:
    if not 0.0 <= item.value < 0.5:
        raise ValueError(f"value={item.value!r} must be a discount in [0, 0.5), e.g. 0.005")
    return item


def _yearly_rate(item: Sourced) -> Sourced:
    if not 0.0 <= item.value <= 1.0:
        raise ValueError(f"value={item.value!r} must be a yearly rate in [0, 1], e.g. 0.027 "
                         "for 2.7%")
    return item


def _exchange_rate(item: Sourced) -> Sourced:
    if not 0.1 <= item.value <= 10.0:
        raise ValueError(f"value={item.value!r} must be in [0.1, 10] ETH per unit (an ETH "
                         "derivative is worth about 1-1.3 ETH)")
    return item


def _mean_discount(item: Sourced) -> Sourced:
    if not -0.5 < item.value < 0.5:
        raise ValueError(f"value={item.value!r} must be a discount in (-0.5, 0.5), e.g. 0.007")
    return item


ExchangeRateSourced = Annotated[Sourced, AfterValidator(_exchange_rate)]
YearlyRateSourced = Annotated[Sourced, AfterValidator(_yearly_rate)]
DiscountSourced = Annotated[Sourced, AfterValidator(_discount)]


class LoopSpec(_Strict):
    """A looped staking position (an ETH derivative against WETH in e-mode): the engines count
    it in ETH, on paths of the asset's exchange rate and market discount
    (:mod:`delever.market.rate_paths`)."""

    asset: str = Field(default="wstETH", description="The collateral asset (wstETH, weETH).")
    exchange_rate: ExchangeRateSourced = Field(
        description="The asset's contract rate at the mark, ETH per unit (wstETH: "
        "stEthPerToken); what Aave's oracle reads.")
    entry_exchange_rate: ExchangeRateSourced | None = Field(
        default=None, description="ETH paid per unit when the loop was built (the cost "
        "basis in ETH); default exchange_rate.")
    market_discount: DiscountSourced | None = Field(
        default=None, description="Discount of the market price to the contract rate at the "
        "mark, a fraction in [0, 0.5); default 0.")
    staking_yield: YearlyRateSourced | None = Field(
        default=None, description="Staking yield per year (fraction); default the Lido APR "
        "estimate of delever.protocol.loop.")
    slash_intensity_per_year: NonNegativeSourced | None = Field(
        default=None, description="Slashing events per year (Poisson); default an "
        "illustrative 0.05.")
    slash_size: DiscountSourced | None = Field(
        default=None, description="Share of the rate each slashing event takes, in [0, 0.5); "
        "default an illustrative 0.01.")
    oracle: Literal["exchange-rate", "market"] = Field(
        default="exchange-rate", description="What the oracle reads: the contract rate "
        "(Aave v3's CAPO adapters) or the market price (a counterfactual, as Aave v2's stETH "
        "feed).")
    weth_utilization: FractionSourced | None = Field(
        default=None, description="WETH's utilization at the start (the rates channel: its "
        "rate curve gives the borrow rate); default the recorded day's.")
    depeg_mu: Annotated[Sourced, AfterValidator(_mean_discount)] | None = Field(
        default=None, description="Long-run mean discount; default the shipped Chainlink fit.")
    depeg_kappa_per_year: Annotated[
        Sourced, AfterValidator(_positive), _at_most(1e5, "a half-life under a second")
    ] | None = Field(
        default=None, description="Mean reversion of the discount, per year; default the fit.")
    depeg_sigma_per_sqrt_year: Annotated[
        Sourced, AfterValidator(_non_negative), _at_most(10.0, "a discount is a fraction")
    ] | None = Field(
        default=None, description="Volatility of the discount; default the fit.")


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    schema_version: Literal[1] = Field(default=1, description="Scenario file format version.")
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$", description="Short id.")
    title: str = Field(default="", description="One-line title.")
    description: str = Field(default="", description="What the scenario represents.")
    protocol: str = Field(
        default=DEFAULT_PROTOCOL,
        description=f"Lending-protocol rules: {', '.join(PROTOCOL_NAMES)} (default "
        f"{DEFAULT_PROTOCOL}).",
    )
    lltv: FractionSourced | None = Field(
        default=None,
        description="Morpho Blue: the market's liquidation LTV, in (0, 1) (default 0.86); "
        "only with protocol = 'morpho-blue'.",
    )
    mark: MarkSpec = Field(description="Valuation of the open holding.")
    position: PositionSpec = Field(description="Trades or reported totals.")
    accounts: list[AccountSpec] = Field(
        default_factory=list, description="The position's Aave accounts now."
    )
    reserve_overrides: dict[str, ReserveOverride] = Field(
        default_factory=dict, description="Risk-parameter overrides by reserve symbol."
    )
    emode: EModeSpec | None = Field(
        default=None, description="The e-mode category's parameters (accounts with emode)."
    )
    prices: dict[str, PriceSourced] = Field(
        default_factory=dict,
        description="Oracle prices (USD) at the mark by reserve symbol, e.g. read at a block; "
        "the others follow the mark (ETH derivatives at their default exchange rates, "
        "stablecoins at 1). WETH's price is mark.price_usd.",
    )
    market: MarketSpec | None = Field(default=None, description="Market parameters.")
    book: BookSpec | None = Field(
        default=None, description="Other borrowers and followers (the cascade)."
    )
    loop: LoopSpec | None = Field(
        default=None, description="A looped staking position: the asset's exchange rate, "
        "staking yield, slashing and depeg (the engines count it in ETH)."
    )
    reported: dict[str, Sourced] = Field(
        default_factory=dict,
        description="Published figures to compare the model with (not used as inputs).",
    )

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, value: str) -> str:
        if value not in PROTOCOL_NAMES:
            # The error already reads "protocol='x': ..."; say the rest once.
            message = str(unknown_name("protocol", value, PROTOCOL_NAMES))
            raise ValueError(message.split(" ", 1)[1])
        return value

    @model_validator(mode="after")
    def _lltv_with_morpho(self) -> ScenarioSpec:
        if self.lltv is None:
            return self
        if self.protocol != "morpho-blue":
            raise ValueError(f"lltv applies to protocol = 'morpho-blue', not to protocol = "
                             f"{self.protocol!r}; remove it or change the protocol")
        if not 0.0 < self.lltv.value < 1.0:
            raise ValueError(f"lltv={self.lltv.value!r} must be in (0, 1), e.g. 0.86")
        return self

    @model_validator(mode="after")
    def _unique_account_names(self) -> ScenarioSpec:
        names = [account.name for account in self.accounts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"account names must be unique; repeated: {', '.join(duplicates)}")
        return self


__all__ = [
    "IMPACT_MODEL_NAMES",
    "SCHEMA_VERSION",
    "AccountSpec",
    "BookSpec",
    "LoopSpec",
    "MarkSpec",
    "MarketSpec",
    "PositionSpec",
    "ReserveOverride",
    "ScenarioSpec",
    "Sourced",
    "SummarySpec",
    "TradeSpec",
]

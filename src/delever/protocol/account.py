"""Aave v3 accounts: health factor, liquidation price and ``liquidationCall``, float and exact.

Two implementations sit behind one interface, chosen by ``exact``:

- ``exact=False`` (default): float64 arithmetic on token amounts and USD prices, the formulas of
  the contracts without their rounding. Fast, and what the kernels vectorise.
- ``exact=True``: the contracts' integer arithmetic. Token amounts become integer units
  (``10**decimals``), prices become the oracle's 8-decimal USD base units, and every step
  rounds as aave-v3-origin v3.6.0 does (``GenericLogic.calculateUserAccountData``,
  ``LiquidationLogic.executeLiquidationCall`` and ``_calculateAvailableCollateralToLiquidate``).

Balances are taken as current (interest indexes already applied): the 1-wei effects of scaled
aToken / vToken burns (``TokenMath``) are not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import TypeVar

from delever._results import ResultContract
from delever.errors import InvalidArgument, ProtocolRevert, unknown_name
from delever.protocol import math as am
from delever.protocol.reserves import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    EModeCategory,
    ReserveParams,
    resolve_symbol,
)
from delever.protocol.rule_sets import DEFAULT_RULE_SET, RULE_SETS, AaveRuleSet, get_rule_set

# Exchange rates used by Prices.from_eth when none is given. ESTIMATES for early February 2026:
# Aave prices wstETH and weETH by their protocol exchange rate (stETH per wstETH, eETH per
# weETH) times ETH/USD. wstETH was about 1.20 stETH in early 2025 and accrues ~2.6-3%/yr;
# weETH about 1.06 eETH in early 2025 and ~2.6-3%/yr. Neither is read from an on-chain source.
WSTETH_PER_ETH_DEFAULT = 1.225  # ETH value of one wstETH, estimate (Feb 2026)
WEETH_PER_ETH_DEFAULT = 1.085  # ETH value of one weETH, estimate (Feb 2026)

_V36 = RULE_SETS[DEFAULT_RULE_SET]
_N = TypeVar("_N", int, float)  # token amounts: float tokens or integer units


def _amounts(field_name: str, raw: Mapping[str, float]) -> Mapping[str, float]:
    if not isinstance(raw, Mapping):
        raise InvalidArgument(
            f"{field_name} must be a mapping of symbol to token amount, e.g. {{'WETH': 100.0}}."
        )
    out: dict[str, float] = {}
    for key, value in raw.items():
        symbol = resolve_symbol(key, RESERVES, field=field_name)
        if symbol in out:
            raise InvalidArgument(f"{field_name} lists {symbol} twice; give each asset once.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"{field_name}.{symbol}={value!r} must be a number of tokens."
            ) from None
        if not math.isfinite(number):
            raise InvalidArgument(f"{field_name}.{symbol}={value!r} must be a finite number.")
        if number < 0:
            raise InvalidArgument(f"{field_name}.{symbol}={value!r} must not be negative.")
        out[symbol] = number
    return MappingProxyType(out)


def _units(side: str, raw: Mapping[str, int], amounts: Mapping[str, float]) -> Mapping[str, int]:
    """Exact integer balances (``10**decimals`` per token, as the chain holds them) for some
    of ``amounts``' assets; each must agree with its token amount to float precision."""
    if not isinstance(raw, Mapping):
        raise InvalidArgument(f"{side}_units must be a mapping of symbol to integer units.")
    out: dict[str, int] = {}
    for key, value in raw.items():
        symbol = resolve_symbol(key, RESERVES, field=f"{side}_units")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgument(
                f"{side}_units.{symbol}={value!r} must be a whole number of units >= 0."
            )
        if symbol not in amounts:
            raise InvalidArgument(
                f"{side}_units.{symbol} has no {side}.{symbol} amount beside it; give both."
            )
        tokens = value / 10 ** RESERVES[symbol].decimals
        if not math.isclose(tokens, amounts[symbol], rel_tol=1e-12,
                            abs_tol=10.0 ** -RESERVES[symbol].decimals):
            raise InvalidArgument(
                f"{side}_units.{symbol}={value} is {tokens!r} tokens, but {side}.{symbol}="
                f"{amounts[symbol]!r}; the two must describe the same balance."
            )
        out[symbol] = value
    return MappingProxyType(out)


def check_whole_units(
    account: Account, where: str = "account", labels: Mapping[str, str] | None = None
) -> Account:
    """Refuse a positive amount below one smallest unit of its token (1 wei of WETH).

    Aave holds whole token units, so ``5e-324`` ETH is no collateral at all: an input that
    small would pass the "no debt without collateral" rule with a health factor of 1e-323.
    Checked at the input edges (CLI flags, scenario files), not on amounts computed inside
    the engines, whose float remainders may be smaller. ``labels`` names a field
    (``"collateral.WETH"``) as the user gave it (e.g. ``"--collateral-eth"``). Returns the
    account.
    """
    for side, amounts in (("collateral", account.collateral), ("debt", account.debt)):
        for symbol, amount in amounts.items():
            unit = 10.0 ** -RESERVES[symbol].decimals
            if 0.0 < amount < unit:
                key = f"{side}.{symbol}"
                name = (labels or {}).get(key, f"{where}.{key}")
                raise InvalidArgument(
                    f"{name}={amount!r} is less than one smallest unit of "
                    f"{symbol} ({unit:g}); Aave holds whole units: give 0 or at least {unit:g}."
                )
    return account


@dataclass(frozen=True)
class Account:
    """An Aave v3 account: token amounts supplied as collateral and borrowed.

    Parameters
    ----------
    collateral
        Symbol -> token amount supplied and enabled as collateral (e.g. ``{"WETH": 100.0}``).
    debt
        Symbol -> token amount borrowed (variable rate), e.g. ``{"USDC": 150_000.0}``.
    emode
        True when the account uses the ETH-correlated e-mode; it may then borrow only
        ETH-denominated assets (``ETH_CORRELATED_EMODE.borrowable_symbols``).
    collateral_units, debt_units
        Optional exact balances in integer units (``10**decimals`` per token) for some of the
        assets, as read on chain (a snapshot): the exact path (``exact=True``) uses them
        instead of rounding the float amounts, so its health factor is the chain's to the
        wei. Each must agree with its token amount to float precision.

    Notes
    -----
    Symbols are matched case-insensitively against :data:`RESERVES`. Debt with no collateral is
    a valid state (what a bad-debt write-off prevents from persisting).
    """

    collateral: Mapping[str, float]
    debt: Mapping[str, float]
    emode: bool = False
    collateral_units: Mapping[str, int] | None = None
    debt_units: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "collateral", _amounts("collateral", self.collateral))
        object.__setattr__(self, "debt", _amounts("debt", self.debt))
        object.__setattr__(self, "emode", bool(self.emode))
        for side in ("collateral", "debt"):
            units = getattr(self, f"{side}_units")
            if units is not None:
                object.__setattr__(self, f"{side}_units",
                                   _units(side, units, getattr(self, side)))
        if self.emode:
            allowed = ETH_CORRELATED_EMODE.borrowable_symbols
            for symbol, amount in self.debt.items():
                if amount > 0 and symbol not in allowed:
                    raise InvalidArgument(
                        f"debt.{symbol}: the ETH-correlated e-mode allows ETH-denominated debt "
                        f"only ({', '.join(allowed)}); a {symbol}-debt account cannot use "
                        "e-mode. Set emode=false."
                    )

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.collateral.items())), tuple(sorted(self.debt.items())),
                     self.emode, tuple(sorted((self.collateral_units or {}).items())),
                     tuple(sorted((self.debt_units or {}).items()))))

    @property
    def has_debt(self) -> bool:
        """Whether any debt amount is positive."""
        return any(amount > 0 for amount in self.debt.values())


@dataclass(frozen=True)
class Prices:
    """Oracle prices in USD per whole token.

    Parameters
    ----------
    usd
        Symbol -> USD price of one token (e.g. ``{"WETH": 2000.0, "USDC": 1.0}``).
    """

    usd: Mapping[str, float]

    def __post_init__(self) -> None:
        if not isinstance(self.usd, Mapping):
            raise InvalidArgument("prices must be a mapping of symbol to USD price.")
        by_lower = {name.lower(): name for name in RESERVES}
        out: dict[str, float] = {}
        for key, value in self.usd.items():
            symbol = by_lower.get(str(key).lower(), str(key))
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidArgument(f"price of {symbol}={value!r} must be a number.") from None
            if not math.isfinite(number) or number <= 0:
                raise InvalidArgument(
                    f"price of {symbol}={value!r} must be a finite number greater than 0 (USD)."
                )
            out[symbol] = number
        object.__setattr__(self, "usd", MappingProxyType(out))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.usd.items())))

    @classmethod
    def from_eth(
        cls,
        eth_usd: float,
        *,
        wsteth_per_eth: float = WSTETH_PER_ETH_DEFAULT,
        weeth_per_eth: float = WEETH_PER_ETH_DEFAULT,
        stable_usd: float = 1.0,
    ) -> Prices:
        """Prices of the five registry assets from the ETH price.

        Parameters
        ----------
        eth_usd
            ETH (WETH) price in USD.
        wsteth_per_eth
            ETH value of one wstETH. Default 1.225, an ESTIMATE for Feb 2026 (Lido's
            stETH-per-wstETH rate, not read on-chain).
        weeth_per_eth
            ETH value of one weETH. Default 1.085, an ESTIMATE for Feb 2026.
        stable_usd
            USD price of USDC and USDT (Aave's oracles: about 1).

        Returns
        -------
        Prices
        """
        for name, value in (("eth_usd", eth_usd), ("wsteth_per_eth", wsteth_per_eth),
                            ("weeth_per_eth", weeth_per_eth), ("stable_usd", stable_usd)):
            number = float(value)
            if not math.isfinite(number) or number <= 0:
                raise InvalidArgument(f"{name}={value!r} must be a finite price greater than 0.")
        eth = float(eth_usd)
        return cls(
            usd={
                "WETH": eth,
                "wstETH": eth * float(wsteth_per_eth),
                "weETH": eth * float(weeth_per_eth),
                "USDC": float(stable_usd),
                "USDT": float(stable_usd),
            }
        )

    def price(self, symbol: str) -> float:
        """USD price of ``symbol``; InvalidArgument when it has none."""
        try:
            return self.usd[symbol]
        except KeyError:
            raise InvalidArgument(
                f"prices has no price for {symbol}; give prices.usd[{symbol!r}]."
            ) from None


@dataclass(frozen=True)
class AccountData:
    """What ``Pool.getUserAccountData`` reports, in USD and fractions.

    Attributes
    ----------
    total_collateral_usd, total_debt_usd
        Collateral enabled as collateral, and debt, valued at the oracle prices.
    avg_ltv, avg_liquidation_threshold
        Collateral-weighted LTV and LT (fractions).
    health_factor
        ``sum(collateral_i * LT_i) / debt``; ``inf`` with no debt.
    available_borrows_usd
        ``max(total_collateral * avg_ltv - total_debt, 0)``.
    health_factor_wad
        In exact mode, the contract's integer HF (1e18 = 1; ``2**256 - 1`` with no debt).
    """

    total_collateral_usd: float
    total_debt_usd: float
    avg_ltv: float
    avg_liquidation_threshold: float
    health_factor: float
    available_borrows_usd: float
    health_factor_wad: int | None = None


@dataclass(frozen=True)
class _Risk:
    """Per-asset parameters after e-mode, as floats and as the contract's basis points."""

    decimals: int
    ltv: float
    lt: float
    bonus: float
    fee: float
    ltv_bps: int
    lt_bps: int
    bonus_bps: int
    fee_bps: int

    @property
    def unit(self) -> int:
        return int(10**self.decimals)


def _risk(reserve: ReserveParams, emode: bool, category: EModeCategory) -> _Risk:
    # GenericLogic / LiquidationLogic: an e-mode user's collateral in the category's
    # collateralBitmap takes the category's LTV, LT and bonus; the protocol fee stays the
    # reserve's own.
    if emode and reserve.symbol in category.collateral_symbols:
        ltv, lt, bonus = category.ltv, category.liquidation_threshold, category.liquidation_bonus
        ltv_bps, lt_bps = category.ltv_bps, category.liquidation_threshold_bps
        bonus_bps = category.liquidation_bonus_bps
    else:
        ltv, lt, bonus = reserve.ltv, reserve.liquidation_threshold, reserve.liquidation_bonus
        ltv_bps, lt_bps = reserve.ltv_bps, reserve.liquidation_threshold_bps
        bonus_bps = reserve.liquidation_bonus_bps
    return _Risk(
        decimals=reserve.decimals,
        ltv=ltv,
        lt=lt,
        bonus=bonus,
        fee=reserve.liquidation_protocol_fee,
        ltv_bps=ltv_bps,
        lt_bps=lt_bps,
        bonus_bps=bonus_bps,
        fee_bps=reserve.liquidation_protocol_fee_bps,
    )


def _lookup(symbol: str, reserves: Mapping[str, ReserveParams]) -> ReserveParams:
    if symbol in reserves:
        return reserves[symbol]
    raise unknown_name("asset", symbol, reserves)


@dataclass(frozen=True)
class _Book:
    """An account resolved against reserves and prices."""

    account: Account
    risk: Mapping[str, _Risk]
    price: Mapping[str, float]

    @classmethod
    def of(
        cls,
        account: Account,
        prices: Prices,
        reserves: Mapping[str, ReserveParams],
        category: EModeCategory,
    ) -> _Book:
        if not isinstance(account, Account):
            raise InvalidArgument("account must be an Account.")
        if not isinstance(prices, Prices):
            raise InvalidArgument("prices must be a Prices.")
        symbols = [*account.collateral, *account.debt]
        risk = {s: _risk(_lookup(s, reserves), account.emode, category) for s in symbols}
        price = {s: prices.price(s) for s in symbols}
        return cls(account=account, risk=risk, price=price)

    def is_collateral(self, symbol: str) -> bool:
        # An asset with LT 0 cannot be enabled as collateral on Aave.
        return self.account.collateral.get(symbol, 0.0) > 0 and self.risk[symbol].lt > 0


# --- float ----------------------------------------------------------------------------------
def _data_float(
    book: _Book, collateral: Mapping[str, float], debt: Mapping[str, float]
) -> AccountData:
    values = {
        s: amount * book.price[s]
        for s, amount in collateral.items()
        if amount > 0 and book.risk[s].lt > 0
    }
    total_collateral = math.fsum(values.values())
    total_debt = math.fsum(amount * book.price[s] for s, amount in debt.items() if amount > 0)
    weighted_lt = math.fsum(v * book.risk[s].lt for s, v in values.items())
    weighted_ltv = math.fsum(v * book.risk[s].ltv for s, v in values.items())
    avg_ltv = weighted_ltv / total_collateral if total_collateral > 0 else 0.0
    avg_lt = weighted_lt / total_collateral if total_collateral > 0 else 0.0
    hf = weighted_lt / total_debt if total_debt > 0 else math.inf
    available = max(total_collateral * avg_ltv - total_debt, 0.0)
    return AccountData(
        total_collateral_usd=total_collateral,
        total_debt_usd=total_debt,
        avg_ltv=avg_ltv,
        avg_liquidation_threshold=avg_lt,
        health_factor=hf,
        available_borrows_usd=available,
    )


# --- exact ----------------------------------------------------------------------------------
def to_units(amount: float, decimals: int) -> int:
    """Token amount -> integer units (``round(amount * 10**decimals)``, via its decimal repr)."""
    scaled = Decimal(repr(float(amount))).scaleb(decimals)
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))


def to_base(price_usd: float) -> int:
    """USD price -> the Aave oracle's 8-decimal base units."""
    return to_units(price_usd, 8)


@dataclass(frozen=True)
class _ExactTotals:
    total_collateral_base: int
    total_debt_base: int
    avg_ltv_bps: int
    avg_lt_bps: int
    hf_wad: int
    available_base: int


def _totals_exact(
    book: _Book,
    collateral_u: Mapping[str, int],
    debt_u: Mapping[str, int],
    price_b: Mapping[str, int],
    rules: AaveRuleSet = _V36,
) -> _ExactTotals:
    # GenericLogic.calculateUserAccountData (v3.6): collateral floored, debt ceiled (mulDivCeil),
    # HF = wadDiv(sum(base_i * LT_i), debt) / 1e4, averages floored. Before v3.5 (rule sets
    # 3.0 / 3.3): debt floored and HF = wadDiv(percentMul(total, avgLT), debt) (rule_sets.py).
    total_collateral = 0
    total_debt = 0
    avg_ltv = 0
    avg_lt = 0
    for s, units in collateral_u.items():
        risk = book.risk[s]
        if units <= 0 or risk.lt_bps == 0:
            continue
        value = units * price_b[s] // risk.unit
        total_collateral += value
        if risk.ltv_bps != 0:
            avg_ltv += value * risk.ltv_bps
        avg_lt += value * risk.lt_bps
    for s, units in debt_u.items():
        if units > 0:
            total_debt += _debt_base(units, price_b[s], book.risk[s].unit, rules)
    weighted_lt = avg_lt
    avg_ltv = avg_ltv // total_collateral if total_collateral else 0
    avg_lt = avg_lt // total_collateral if total_collateral else 0
    if total_debt == 0:
        hf = am.UINT256_MAX
    elif rules.rounding_v35:
        hf = am.wad_div(weighted_lt, total_debt) // 10_000
    else:
        hf = am.wad_div(am.percent_mul(total_collateral, avg_lt), total_debt)
    # GenericLogic.calculateAvailableBorrows
    if rules.rounding_v35:
        borrowable = am.percent_mul_floor(total_collateral, avg_ltv)
    else:
        borrowable = am.percent_mul(total_collateral, avg_ltv)
    available = borrowable - total_debt if borrowable > total_debt else 0
    return _ExactTotals(total_collateral, total_debt, avg_ltv, avg_lt, hf, available)


def _debt_base(units: int, price_base: int, unit: int, rules: AaveRuleSet) -> int:
    # Debt in base currency: mulDivCeil since v3.5, floor before (rule_sets.py).
    if rules.rounding_v35:
        return am.mul_div_ceil(units, price_base, unit)
    return units * price_base // unit


def _hf_float(hf_wad: int) -> float:
    return math.inf if hf_wad == am.UINT256_MAX else hf_wad / am.WAD


def _data_from_exact(t: _ExactTotals) -> AccountData:
    base = am.BASE_CURRENCY_UNIT
    return AccountData(
        total_collateral_usd=t.total_collateral_base / base,
        total_debt_usd=t.total_debt_base / base,
        avg_ltv=t.avg_ltv_bps / am.PERCENTAGE_FACTOR,
        avg_liquidation_threshold=t.avg_lt_bps / am.PERCENTAGE_FACTOR,
        health_factor=_hf_float(t.hf_wad),
        available_borrows_usd=t.available_base / base,
        health_factor_wad=t.hf_wad,
    )


def _exact_inputs(
    book: _Book,
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    acc = book.account
    # the chain's integer balances where the account carries them (a snapshot), else the
    # token amounts rounded to units
    exact_coll = acc.collateral_units or {}
    exact_debt = acc.debt_units or {}
    coll = {s: exact_coll[s] if s in exact_coll else to_units(a, book.risk[s].decimals)
            for s, a in acc.collateral.items()}
    debt = {s: exact_debt[s] if s in exact_debt else to_units(a, book.risk[s].decimals)
            for s, a in acc.debt.items()}
    price = {s: to_base(p) for s, p in book.price.items()}
    for s, p in price.items():
        if p <= 0:
            raise InvalidArgument(
                f"price of {s}={book.price[s]!r} rounds to 0 in the oracle's 8 decimals."
            )
    return coll, debt, price


# --- public: account data -------------------------------------------------------------------
def account_data(
    account: Account,
    prices: Prices,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    exact: bool = False,
    emode_category: EModeCategory = ETH_CORRELATED_EMODE,
    rule_set: str = DEFAULT_RULE_SET,
) -> AccountData:
    """Totals, averages and health factor of ``account`` at ``prices``.

    Parameters
    ----------
    account
        Token amounts.
    prices
        USD prices of every asset the account holds or owes.
    reserves
        Reserve parameters by symbol.
    exact
        Use the contract's integer arithmetic and rounding.
    emode_category
        The e-mode category an ``emode=True`` account is in.
    rule_set
        ``"3.6"`` (default), ``"3.3"`` or ``"3.0"``: the exact path's rounding (the float
        path is the same for all three; see :mod:`delever.protocol.rule_sets`).

    Returns
    -------
    AccountData

    Notes
    -----
    ``GenericLogic.calculateUserAccountData``: ``HF = sum(c_i * p_i * LT_i) / sum(d_j * p_j)``
    over collateral enabled as collateral (LT > 0); ``avg_ltv`` and ``avg_liquidation_threshold``
    are value-weighted; available borrows as ``GenericLogic.calculateAvailableBorrows``.
    """
    rules = get_rule_set(rule_set)
    book = _Book.of(account, prices, reserves, emode_category)
    if not exact:
        return _data_float(book, account.collateral, account.debt)
    coll, debt, price = _exact_inputs(book)
    return _data_from_exact(_totals_exact(book, coll, debt, price, rules))


def liquidation_price_usd(
    account: Account,
    prices: Prices,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    emode_category: EModeCategory = ETH_CORRELATED_EMODE,
) -> float:
    """ETH price at which the health factor is 1, all ETH-correlated prices moving with ETH.

    Parameters
    ----------
    account
        Token amounts.
    prices
        Current USD prices; ``prices.usd["WETH"]`` is the ETH price that is moved.
    reserves
        Reserve parameters by symbol.
    emode_category
        The e-mode category an ``emode=True`` account is in.

    Returns
    -------
    float
        The ETH price in USD. ``nan`` when no positive ETH price gives HF = 1: no debt, HF not
        depending on the ETH price (e.g. ETH collateral against ETH debt in e-mode, where the
        move cancels), or HF staying on one side of 1 at every price.

    Raises
    ------
    InvalidArgument
        When the account has debt but no collateral (its HF is 0 at every price).

    Notes
    -----
    Scale every ETH-correlated price by ``k``. With ``A`` = LT-weighted ETH-correlated
    collateral, ``B`` = LT-weighted other collateral, ``E`` = ETH-correlated debt and ``S`` =
    other debt (USD at current prices), ``HF(k) = (kA + B) / (kE + S)``; ``HF = 1`` at
    ``k = (S - B) / (A - E)``. For one ETH collateral against stablecoin debt this is
    ``p = D / (C * LT)``.
    """
    book = _Book.of(account, prices, reserves, emode_category)
    eth = prices.price("WETH")
    a_parts: list[float] = []
    b_parts: list[float] = []
    e_parts: list[float] = []
    s_parts: list[float] = []
    for s, amount in account.collateral.items():
        if amount > 0 and book.risk[s].lt > 0:
            value = amount * book.price[s] * book.risk[s].lt
            (a_parts if _lookup(s, reserves).eth_correlated else b_parts).append(value)
    for s, amount in account.debt.items():
        if amount > 0:
            value = amount * book.price[s]
            (e_parts if _lookup(s, reserves).eth_correlated else s_parts).append(value)
    if not (e_parts or s_parts):
        return math.nan
    if not (a_parts or b_parts):
        raise InvalidArgument(
            "account has debt but no collateral: its health factor is 0 at every ETH price, "
            "so it has no liquidation price."
        )
    a, b = math.fsum(a_parts), math.fsum(b_parts)
    e, s_ = math.fsum(e_parts), math.fsum(s_parts)
    numerator = s_ - b
    denominator = a - e
    if denominator == 0 or a * s_ == b * e:
        return math.nan  # HF does not depend on the ETH price
    k = numerator / denominator
    if not (k > 0 and math.isfinite(k)):
        return math.nan
    return eth * k


def distance_to_liquidation_pct(
    account: Account,
    prices: Prices,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    emode_category: EModeCategory = ETH_CORRELATED_EMODE,
) -> float:
    """Percent fall of the ETH price from ``prices`` to the liquidation price.

    Returns ``100 * (1 - p_liq / p_eth)``: positive when ETH must fall, negative when it must
    rise (ETH debt against stablecoin collateral), ``nan`` when there is no liquidation price.
    """
    liq = liquidation_price_usd(account, prices, reserves=reserves, emode_category=emode_category)
    if math.isnan(liq):
        return math.nan
    return 100.0 * (1.0 - liq / prices.price("WETH"))


@dataclass(frozen=True)
class RateDistance:
    """How far an exchange rate to ETH must fall before an account is liquidated.

    For an account whose debt moves with its collateral (wstETH against WETH in e-mode), the
    ETH/USD price does not move the health factor; the collateral's rate to ETH does.

    Attributes
    ----------
    assets : the collateral assets whose rate to ETH is moved (e.g. ``("wstETH",)``).
    rate_factor : the fraction of today's rate at which HF = 1 (``1 / HF`` when all the
        collateral is such an asset).
    drop_pct : ``100 * (1 - rate_factor)``: the fall of the rate that liquidates.
    """

    assets: tuple[str, ...]
    rate_factor: float
    drop_pct: float

    @property
    def driver(self) -> str:
        """The rate that moves the health factor, e.g. ``wstETH/ETH``."""
        return "+".join(self.assets) + "/ETH"


def rate_distance_to_liquidation(
    account: Account,
    prices: Prices,
    *,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    emode_category: EModeCategory = ETH_CORRELATED_EMODE,
) -> RateDistance | None:
    """The fall of the ETH-derivative collateral's rate to ETH that takes HF to 1.

    Every ETH-correlated collateral asset other than WETH (wstETH, weETH, ...) has its
    price scaled by ``r`` with ETH/USD fixed: ``HF(r) = (r X + Y) / D`` with ``X`` its
    LT-weighted value, ``Y`` the other LT-weighted collateral and ``D`` the debt (USD), so
    ``HF = 1`` at ``r = (D - Y) / X``. None when the account has no debt or no such
    collateral, or when no fall of the rate (``0 < r``) liquidates it.
    """
    book = _Book.of(account, prices, reserves, emode_category)
    moved: list[str] = []
    x_parts: list[float] = []
    y_parts: list[float] = []
    for s, amount in account.collateral.items():
        if amount > 0 and book.risk[s].lt > 0:
            value = amount * book.price[s] * book.risk[s].lt
            reserve = _lookup(s, reserves)
            if reserve.eth_correlated and reserve.symbol != "WETH":
                moved.append(reserve.symbol)
                x_parts.append(value)
            else:
                y_parts.append(value)
    debt = math.fsum(amount * book.price[s] for s, amount in account.debt.items() if amount > 0)
    if debt <= 0 or not x_parts:
        return None
    factor = (debt - math.fsum(y_parts)) / math.fsum(x_parts)
    if not (factor > 0 and math.isfinite(factor)):
        return None
    return RateDistance(tuple(sorted(moved)), factor, 100.0 * (1.0 - factor))


# --- public: liquidationCall ----------------------------------------------------------------
@dataclass(frozen=True)
class LiquidationResult(ResultContract):
    """The outcome of one ``liquidationCall``.

    Attributes
    ----------
    collateral_symbol, debt_symbol
        The pair liquidated.
    close_factor
        0.5 when the 50% cap applied (HF > 0.95 and the pair's collateral and debt both worth
        at least $2,000; rule set 3.0: HF > 0.95 alone), else 1.0.
    debt_repaid, debt_repaid_usd
        Debt covered by the liquidator, in debt tokens and USD.
    collateral_to_liquidator
        Collateral tokens sent to the liquidator (bonus included, protocol fee excluded).
    protocol_fee
        Collateral tokens sent to the Aave treasury: ``fee * bonus part``.
    collateral_seized
        ``collateral_to_liquidator + protocol_fee``, taken from the borrower.
    collateral_left, debt_left
        The borrower's balance of the two assets afterwards (``debt_left`` is 0 after a
        bad-debt write-off).
    bad_debt_usd
        Debt written off as deficit (all assets) when no collateral is left, in USD (rule set
        3.0 writes nothing off: 0, and the debt stays in ``debt_left``).
    bad_debt
        The same per debt asset, in tokens.
    health_factor_before, health_factor_after
        HF before and after (``inf`` with no debt left).
    account_after
        The borrower's account afterwards.
    exact
        Whether the integer implementation produced this result.
    debt_repaid_units, collateral_to_liquidator_units, protocol_fee_units
        In exact mode, the integer amounts in the tokens' smallest units (wei for 18 decimals).
    health_factor_before_wad, health_factor_after_wad
        In exact mode, the contract's integer HFs.
    """

    collateral_symbol: str
    debt_symbol: str
    close_factor: float
    debt_repaid: float
    debt_repaid_usd: float
    collateral_to_liquidator: float
    protocol_fee: float
    collateral_seized: float
    collateral_left: float
    debt_left: float
    bad_debt_usd: float
    health_factor_before: float
    health_factor_after: float
    account_after: Account
    exact: bool = False
    bad_debt: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    debt_repaid_units: int | None = None
    collateral_to_liquidator_units: int | None = None
    protocol_fee_units: int | None = None
    health_factor_before_wad: int | None = None
    health_factor_after_wad: int | None = None


def _check_cover(debt_to_cover: float) -> float:
    try:
        number = float(debt_to_cover)
    except (TypeError, ValueError):
        raise InvalidArgument(f"debt_to_cover={debt_to_cover!r} must be a number.") from None
    if math.isnan(number) or number < 0:
        raise InvalidArgument(
            f"debt_to_cover={debt_to_cover!r} must not be negative or NaN; give math.inf for "
            "'as much as allowed'."
        )
    return number


def _validate_liquidation(
    book: _Book, hf_below_one: bool, hf: float, collateral_symbol: str, debt_symbol: str
) -> None:
    # ValidationLogic.validateLiquidationCall, in the contract's order.
    if not hf_below_one:
        raise ProtocolRevert(
            "HealthFactorNotBelowThreshold",
            f"health factor {hf:.6g} is not below 1; the account cannot be liquidated",
        )
    if not book.is_collateral(collateral_symbol):
        raise ProtocolRevert(
            "CollateralCannotBeLiquidated",
            f"the account has no {collateral_symbol} enabled as collateral",
        )
    if book.account.debt.get(debt_symbol, 0.0) <= 0:
        raise ProtocolRevert(
            "SpecifiedCurrencyNotBorrowedByUser", f"the account owes no {debt_symbol}"
        )


def _dust_revert(
    debt_left_usd: float, collateral_left_usd: float, debt_symbol: str, coll_symbol: str
) -> ProtocolRevert:
    return ProtocolRevert(
        "MustNotLeaveDust",
        f"this partial liquidation would leave ${debt_left_usd:,.2f} of {debt_symbol} debt and "
        f"${collateral_left_usd:,.2f} of {coll_symbol} collateral; each must stay at or above "
        "$1,000 unless the debt or the collateral is cleared (cover more, or inf for the maximum)",
    )


def liquidation_call(
    account: Account,
    prices: Prices,
    *,
    collateral_symbol: str,
    debt_symbol: str,
    debt_to_cover: float,
    reserves: Mapping[str, ReserveParams] = RESERVES,
    exact: bool = False,
    emode_category: EModeCategory = ETH_CORRELATED_EMODE,
    rule_set: str = DEFAULT_RULE_SET,
) -> LiquidationResult:
    """One Aave v3 ``liquidationCall`` on ``account`` (v3.6 rules unless ``rule_set`` says).

    Parameters
    ----------
    account
        The borrower.
    prices
        Oracle USD prices.
    collateral_symbol, debt_symbol
        The collateral to seize and the debt to repay (case-insensitive).
    debt_to_cover
        Debt tokens the liquidator offers; ``math.inf`` means ``type(uint256).max`` ("as much
        as allowed").
    reserves
        Reserve parameters by symbol.
    exact
        Use the contract's integer arithmetic and rounding.
    emode_category
        The e-mode category an ``emode=True`` account is in.
    rule_set
        ``"3.6"`` (default), ``"3.3"`` or ``"3.0"`` (:mod:`delever.protocol.rule_sets`).

    Returns
    -------
    LiquidationResult

    Raises
    ------
    ProtocolRevert
        ``HealthFactorNotBelowThreshold`` (HF >= 1), ``CollateralCannotBeLiquidated``,
        ``SpecifiedCurrencyNotBorrowedByUser``, ``MustNotLeaveDust``.

    Notes
    -----
    ``LiquidationLogic.executeLiquidationCall`` (v3.3+ rules, v3.6 rounding):

    1. The whole debt of the pair may be covered, unless the pair's collateral and debt are
       both worth at least $2,000 (``MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD``) and HF > 0.95
       (``CLOSE_FACTOR_HF_THRESHOLD``): then at most 50% of the account's *total* debt (in USD)
       may be covered in this asset.
    2. Collateral = ``debt * p_debt / p_coll * (1 + bonus)``; when that exceeds the balance,
       all of it is taken and the debt covered falls to ``balance * p_coll / p_debt /
       (1 + bonus)`` (``_calculateAvailableCollateralToLiquidate``).
    3. The protocol fee is ``fee * (collateral - collateral / (1 + bonus))``: a share of the
       bonus part only, taken out of what the liquidator receives.
    4. Unless the debt or the collateral of the pair is cleared, at least $1,000
       (``MIN_LEFTOVER_BASE``) of each must remain, else ``MustNotLeaveDust``.
    5. If no collateral is left at all, every remaining debt is written off as deficit
       (``_burnDebtTokens`` with ``hasNoCollateralLeft``, then ``_burnBadDebt``).

    Rule set 3.0 (aave-v3-core ``LiquidationLogic.sol``): step 1 is 50% of the debt
    reserve's balance while HF > 0.95, else 100%, with no $2,000 rule; there is no step 4;
    and in step 5 nothing is written off: the debt left stays owed (``bad_debt_usd`` 0,
    ``debt_left`` the debt owed on an account with no collateral, HF after 0). 3.3 and 3.6
    differ in rounding only (exact path).
    """
    rules = get_rule_set(rule_set)
    cover = _check_cover(debt_to_cover)
    coll_sym = resolve_symbol(collateral_symbol, RESERVES, field="collateral_symbol")
    debt_sym = resolve_symbol(debt_symbol, RESERVES, field="debt_symbol")
    book = _full_book(_Book.of(account, prices, reserves, emode_category), prices, reserves,
                      emode_category, coll_sym, debt_sym)
    if exact:
        return _liquidate_exact(book, rules, coll_sym, debt_sym, cover)
    return _liquidate_float(book, rules, coll_sym, debt_sym, cover)


def _full_book(
    book: _Book,
    prices: Prices,
    reserves: Mapping[str, ReserveParams],
    category: EModeCategory,
    coll_sym: str,
    debt_sym: str,
) -> _Book:
    # The pair may name assets the account holds none of; resolve them too.
    risk = dict(book.risk)
    price = dict(book.price)
    for s in (coll_sym, debt_sym):
        if s not in risk:
            risk[s] = _risk(_lookup(s, reserves), book.account.emode, category)
            price[s] = prices.price(s)
    return _Book(account=book.account, risk=risk, price=price)


def _liquidate_float(
    book: _Book, rules: AaveRuleSet, coll_sym: str, debt_sym: str, cover: float
) -> LiquidationResult:
    acc = book.account
    before = _data_float(book, acc.collateral, acc.debt)
    _validate_liquidation(book, before.health_factor < 1.0, before.health_factor, coll_sym,
                          debt_sym)
    coll_bal = acc.collateral[coll_sym]
    debt_bal = acc.debt[debt_sym]
    pc, pd = book.price[coll_sym], book.price[debt_sym]
    risk = book.risk[coll_sym]
    bonus_factor = 1.0 + risk.bonus

    # Close factor.
    max_debt = debt_bal
    close_factor = 1.0
    if (coll_bal * pc >= rules.min_base_usd and debt_bal * pd >= rules.min_base_usd
            and before.health_factor > rules.full_close_hf):
        close_factor = rules.close_factor
        if rules.close_factor_of_total_debt:
            half_total_usd = before.total_debt_usd * rules.close_factor
            if debt_bal * pd > half_total_usd:
                max_debt = half_total_usd / pd
        else:  # 3.0: a share of this reserve's debt
            max_debt = debt_bal * rules.close_factor
    actual = min(cover, max_debt)

    # _calculateAvailableCollateralToLiquidate.
    max_collateral = actual * pd / pc * bonus_factor
    if max_collateral > coll_bal:
        seized = coll_bal
        actual = coll_bal * pc / pd / bonus_factor
    else:
        seized = max_collateral
    fee = (seized - seized / bonus_factor) * risk.fee if risk.fee > 0 else 0.0
    to_liquidator = seized - fee

    # Dust rule.
    if actual < debt_bal and seized < coll_bal:
        debt_left_usd = (debt_bal - actual) * pd
        coll_left_usd = (coll_bal - seized) * pc
        if debt_left_usd < rules.min_leftover_usd or coll_left_usd < rules.min_leftover_usd:
            raise _dust_revert(debt_left_usd, coll_left_usd, debt_sym, coll_sym)

    # hasNoCollateralLeft: the seized collateral was all the collateral there was.
    others = math.fsum(
        a * book.price[s] for s, a in acc.collateral.items()
        if s != coll_sym and a > 0 and book.risk[s].lt > 0
    )
    # 3.0 has no deficit accounting: the debt left on an empty account stays owed.
    no_collateral_left = rules.write_off_bad_debt and seized == coll_bal and others == 0.0

    new_coll = dict(acc.collateral)
    new_coll[coll_sym] = coll_bal - seized
    new_debt, bad_debt = _settle_debt(acc.debt, debt_sym, actual, no_collateral_left)
    after_account = Account(collateral=new_coll, debt=new_debt, emode=acc.emode)
    after = _data_float(book, after_account.collateral, after_account.debt)
    return LiquidationResult(
        collateral_symbol=coll_sym,
        debt_symbol=debt_sym,
        close_factor=close_factor,
        debt_repaid=actual,
        debt_repaid_usd=actual * pd,
        collateral_to_liquidator=to_liquidator,
        protocol_fee=fee,
        collateral_seized=seized,
        collateral_left=new_coll[coll_sym],
        debt_left=new_debt[debt_sym],
        bad_debt_usd=math.fsum(a * book.price[s] for s, a in bad_debt.items()),
        health_factor_before=before.health_factor,
        health_factor_after=after.health_factor,
        account_after=after_account,
        exact=False,
        bad_debt=MappingProxyType(bad_debt),
    )


def _max_debt_exact(
    rules: AaveRuleSet, before: _ExactTotals, pair: tuple[int, int, int, int, int, int]
) -> tuple[int, float]:
    """The most debt units one call may repay, and the close factor (``_calculateDebt`` in
    3.0; the close-factor block of ``executeLiquidationCall`` in 3.3+)."""
    coll_bal, debt_bal, pc, pd, coll_unit, debt_unit = pair
    if not rules.close_factor_of_total_debt:
        # 3.0: percentMul(reserve debt, HF > 0.95 ? 50% : 100%), no dollar threshold.
        if before.hf_wad > rules.close_factor_hf_threshold_wad:
            return am.percent_mul(debt_bal, rules.close_factor_bps), rules.close_factor
        return debt_bal, 1.0
    debt_base = _debt_base(debt_bal, pd, debt_unit, rules)
    coll_base = coll_bal * pc // coll_unit  # floor, as the contract notes
    if (coll_base >= rules.min_base_max_close_factor_base
            and debt_base >= rules.min_base_max_close_factor_base
            and before.hf_wad > rules.close_factor_hf_threshold_wad):
        half_total = am.percent_mul(before.total_debt_base, rules.close_factor_bps)
        if debt_base > half_total:
            return half_total * debt_unit // pd, rules.close_factor
        return debt_bal, rules.close_factor
    return debt_bal, 1.0


def _settle_debt(
    debt: Mapping[str, _N], debt_sym: str, repaid: _N, no_collateral_left: bool
) -> tuple[dict[str, _N], dict[str, _N]]:
    """Debt after the call, and the debt written off (``_burnDebtTokens``; with no collateral
    left, ``_burnBadDebt`` clears every debt as deficit)."""
    new_debt = dict(debt)
    bad: dict[str, _N] = {}
    if not no_collateral_left:
        new_debt[debt_sym] = debt[debt_sym] - repaid
        return new_debt, bad
    for s, amount in debt.items():
        left = amount - repaid if s == debt_sym else amount
        if left > 0:
            bad[s] = left
        new_debt[s] = amount - amount  # zero of the amounts' type
    return new_debt, bad


def _seize_exact(
    rules: AaveRuleSet, coll_risk: _Risk, pair: tuple[int, int, int, int, int, int], actual: int
) -> tuple[int, int, int, int]:
    """``_calculateAvailableCollateralToLiquidate``: (debt repaid, collateral to the
    liquidator, protocol fee, collateral taken in base currency), in units."""
    coll_bal, _, pc, pd, coll_unit, debt_unit = pair
    bonus = coll_risk.bonus_bps
    base_collateral = (pd * actual * coll_unit) // (pc * debt_unit)
    max_collateral = am.percent_mul(base_collateral, bonus)
    if max_collateral > coll_bal:
        collateral_amount = coll_bal
        needed_base = (pc * collateral_amount * debt_unit) // (pd * coll_unit)
        # percentDivCeil since v3.5, percentDiv (half up) in 3.0 / 3.3.
        divide = am.percent_div_ceil if rules.rounding_v35 else am.percent_div
        actual = divide(needed_base, bonus)
    else:
        collateral_amount = max_collateral
    collateral_to_liquidate_base = collateral_amount * pc // coll_unit
    fee = 0
    if coll_risk.fee_bps != 0:
        bonus_collateral = collateral_amount - am.percent_div(collateral_amount, bonus)
        fee = am.percent_mul(bonus_collateral, coll_risk.fee_bps)
        collateral_amount -= fee
    return actual, collateral_amount, fee, collateral_to_liquidate_base


def _liquidate_exact(
    book: _Book, rules: AaveRuleSet, coll_sym: str, debt_sym: str, cover: float
) -> LiquidationResult:
    acc = book.account
    coll_u, debt_u, price_b = _exact_inputs(book)
    coll_u.setdefault(coll_sym, 0)
    debt_u.setdefault(debt_sym, 0)
    before = _totals_exact(book, coll_u, debt_u, price_b, rules)
    _validate_liquidation(
        book, before.hf_wad < am.HEALTH_FACTOR_LIQUIDATION_THRESHOLD, _hf_float(before.hf_wad),
        coll_sym, debt_sym,
    )
    coll_risk, debt_risk = book.risk[coll_sym], book.risk[debt_sym]
    coll_unit, debt_unit = coll_risk.unit, debt_risk.unit
    pc, pd = price_b[coll_sym], price_b[debt_sym]
    coll_bal, debt_bal = coll_u[coll_sym], debt_u[debt_sym]

    max_debt, close_factor = _max_debt_exact(
        rules, before, (coll_bal, debt_bal, pc, pd, coll_unit, debt_unit))
    cover_u = am.UINT256_MAX if math.isinf(cover) else to_units(cover, debt_risk.decimals)
    actual = min(cover_u, max_debt)

    actual, collateral_amount, fee, collateral_to_liquidate_base = _seize_exact(
        rules, coll_risk, (coll_bal, debt_bal, pc, pd, coll_unit, debt_unit), actual)
    seized = collateral_amount + fee

    if actual < debt_bal and seized < coll_bal:
        debt_left_base = _debt_base(debt_bal - actual, pd, debt_unit, rules)
        coll_left_base = (coll_bal - seized) * pc // coll_unit
        if debt_left_base < rules.min_leftover_base or coll_left_base < rules.min_leftover_base:
            raise _dust_revert(debt_left_base / am.BASE_CURRENCY_UNIT,
                               coll_left_base / am.BASE_CURRENCY_UNIT, debt_sym, coll_sym)

    no_collateral_left = (rules.write_off_bad_debt
                          and before.total_collateral_base == collateral_to_liquidate_base)
    new_coll = dict(coll_u)
    new_coll[coll_sym] = coll_bal - seized
    new_debt, bad_units = _settle_debt(debt_u, debt_sym, actual, no_collateral_left)
    after = _totals_exact(book, new_coll, new_debt, price_b, rules)

    def tokens(units: int, s: str) -> float:
        return units / book.risk[s].unit

    after_account = Account(
        collateral={s: tokens(u, s) for s, u in new_coll.items() if s in acc.collateral
                    or u > 0},
        debt={s: tokens(u, s) for s, u in new_debt.items() if s in acc.debt or u > 0},
        emode=acc.emode,
    )
    bad_debt = {s: tokens(u, s) for s, u in bad_units.items()}
    bad_debt_base = sum(
        _debt_base(u, price_b[s], book.risk[s].unit, rules) for s, u in bad_units.items()
    )
    return LiquidationResult(
        collateral_symbol=coll_sym,
        debt_symbol=debt_sym,
        close_factor=close_factor,
        debt_repaid=tokens(actual, debt_sym),
        debt_repaid_usd=tokens(actual, debt_sym) * book.price[debt_sym],
        collateral_to_liquidator=tokens(collateral_amount, coll_sym),
        protocol_fee=tokens(fee, coll_sym),
        collateral_seized=tokens(seized, coll_sym),
        collateral_left=tokens(new_coll[coll_sym], coll_sym),
        debt_left=tokens(new_debt[debt_sym], debt_sym),
        bad_debt_usd=bad_debt_base / am.BASE_CURRENCY_UNIT,
        health_factor_before=_hf_float(before.hf_wad),
        health_factor_after=_hf_float(after.hf_wad),
        account_after=after_account,
        exact=True,
        bad_debt=MappingProxyType(bad_debt),
        debt_repaid_units=actual,
        collateral_to_liquidator_units=collateral_amount,
        protocol_fee_units=fee,
        health_factor_before_wad=before.hf_wad,
        health_factor_after_wad=after.hf_wad,
    )


__all__ = [
    "WEETH_PER_ETH_DEFAULT",
    "WSTETH_PER_ETH_DEFAULT",
    "Account",
    "AccountData",
    "LiquidationResult",
    "Prices",
    "RateDistance",
    "account_data",
    "check_whole_units",
    "distance_to_liquidation_pct",
    "liquidation_call",
    "liquidation_price_usd",
    "rate_distance_to_liquidation",
    "to_base",
    "to_units",
]

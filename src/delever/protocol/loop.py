"""Looped staking positions: supply an ETH derivative, borrow WETH in e-mode, swap, supply
again. The loop's size, health factor, distance to liquidation and carry.

A loop of ``N`` turns at loan-to-value ``L`` on capital ``C`` ETH borrows
``C (L + L² + … + Lᴺ)`` WETH (each turn borrows ``L`` times what the last one supplied) and
holds ``(C + debt) / R`` units of the asset, ``R`` its ETH value per unit (stETH per wstETH).
In the ETH-correlated e-mode both sides move with ETH, so ETH/USD does not liquidate it: the
asset's rate to ETH does (``exchange_rate_drop_to_liquidation_pct``), and so does the debt's
interest growing faster than the staking yield (the carry below).

Carry (per year, in ETH): ``collateral_eth · staking_yield − debt_weth · borrow_rate``; on the
capital, divided by ``C``. The break-even borrow rate is where it is zero:
``staking_yield · collateral_eth / debt_weth``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from delever._results import ResultContract
from delever.errors import InvalidArgument, check_fraction, check_positive, check_whole
from delever.protocol.account import (
    Account,
    Prices,
    account_data,
    rate_distance_to_liquidation,
)
from delever.protocol.rates import borrow_rate
from delever.protocol.reserve_history import DATA_SOURCE, recorded_borrow_rate
from delever.protocol.reserves import ETH_CORRELATED_EMODE, RESERVES, EModeCategory

# ESTIMATE: Lido's published stETH APR (7-day SMA, lido.fi) ran between about 2.5% and 3.0%
# through 2025; 2.7% is a round central figure, not read from a source at run time. wstETH's
# rate to stETH accrues at this yield.
STAKING_YIELD_DEFAULT = 0.027
STAKING_YIELD_SOURCE = ("estimate: Lido stETH APR (7-day SMA, lido.fi) in the 2.5-3.0% range "
                        "through 2025; give --staking-yield")
BORROW_RATE_DAY = date(2026, 2, 1)
MAX_LOOPS = 1_000


def borrow_rate_at_utilization(utilization: float) -> tuple[float, str]:
    """WETH's variable borrow rate at ``utilization`` on the curve in force on 2026-02-01
    (the rates channel: a utilization spike moves the loop's carry), with its source."""
    if not (math.isfinite(utilization) and 0.0 <= utilization <= 1.0):
        raise InvalidArgument(f"weth_utilization={utilization!r} must be a fraction in [0, 1], "
                              "e.g. 0.95.")
    curve = RESERVES["WETH"].rate_curve_on(BORROW_RATE_DAY)
    return borrow_rate(utilization, curve), (
        f"WETH's rate curve in force on {BORROW_RATE_DAY} at utilization {utilization:g} "
        f"({curve.source})")


def default_borrow_rate() -> tuple[float, str]:
    """The WETH variable borrow rate recorded on Aave v3 Core on 2026-02-01, with its source."""
    rate = recorded_borrow_rate("WETH", BORROW_RATE_DAY)
    return rate, f"WETH variable borrow rate, first snapshot of {BORROW_RATE_DAY}: {DATA_SOURCE}"


@dataclass(frozen=True)
class LoopPosition(ResultContract):
    """A looped position and its risk and carry (see the module docstring)."""

    asset: str
    capital_eth: float
    ltv: float
    loops: int
    price_usd: float  # ETH/USD
    rate: float  # ETH per unit of the asset
    collateral_units: float
    debt_weth: float
    health_factor: float
    exchange_rate_drop_to_liquidation_pct: float
    staking_yield: float
    borrow_rate: float
    yield_sources: tuple[str, str]  # (staking yield, borrow rate)
    emode_label: str

    @property
    def collateral_eth(self) -> float:
        """The collateral's ETH value at the rate."""
        return self.collateral_units * self.rate

    @property
    def leverage(self) -> float:
        """Collateral over capital (both in ETH)."""
        return self.collateral_eth / self.capital_eth

    @property
    def net_yield_eth_per_year(self) -> float:
        """Staking yield on the collateral less interest on the debt, ETH per year."""
        return self.collateral_eth * self.staking_yield - self.debt_weth * self.borrow_rate

    @property
    def net_yield_on_capital(self) -> float:
        """The carry as a fraction of the capital per year."""
        return self.net_yield_eth_per_year / self.capital_eth

    @property
    def break_even_borrow_rate(self) -> float:
        """The WETH borrow rate at which the carry is zero."""
        return math.inf if self.debt_weth == 0 else (
            self.staking_yield * self.collateral_eth / self.debt_weth)

    @property
    def days_to_liquidation(self) -> float:
        """Days until the carry alone takes the HF to 1 at today's rates (inf where the
        staking yield outruns the borrow rate).

        The debt compounds at the borrow rate and the collateral's rate at the staking yield,
        both continuously (Aave compounds interest per second), so
        ``HF(t) = HF₀ exp((y − r) t)`` and ``t = ln HF₀ / (r − y)`` years of 365 days.
        """
        gap = self.borrow_rate - self.staking_yield
        if gap <= 0 or self.health_factor <= 0 or not math.isfinite(self.health_factor):
            return math.inf
        return max(math.log(self.health_factor), 0.0) / gap * 365.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "asset": self.asset, "capital_eth": self.capital_eth, "ltv": self.ltv,
            "loops": self.loops, "price_usd": self.price_usd, "rate": self.rate,
            "collateral_units": self.collateral_units, "collateral_eth": self.collateral_eth,
            "debt_weth": self.debt_weth, "leverage": self.leverage,
            "health_factor": self.health_factor,
            "exchange_rate_drop_to_liquidation_pct":
                self.exchange_rate_drop_to_liquidation_pct,
            "staking_yield": self.staking_yield, "borrow_rate": self.borrow_rate,
            "net_yield_eth_per_year": self.net_yield_eth_per_year,
            "net_yield_on_capital": self.net_yield_on_capital,
            "break_even_borrow_rate": self.break_even_borrow_rate,
            # None (JSON null) where the carry never takes the HF to 1
            "days_to_liquidation_at_borrow_rate": (None if math.isinf(self.days_to_liquidation)
                                                   else self.days_to_liquidation),
            "staking_yield_source": self.yield_sources[0],
            "borrow_rate_source": self.yield_sources[1], "emode": self.emode_label,
        }

    def summary(self) -> str:
        """A few lines for a terminal."""
        return "\n".join((
            f"{self.loops} loops of {self.capital_eth:g} ETH at LTV {self.ltv:g} in "
            f"{self.asset} (e-mode {self.emode_label}):",
            f"  collateral {self.collateral_units:,.4f} {self.asset} "
            f"({self.collateral_eth:,.4f} ETH), debt {self.debt_weth:,.4f} WETH, "
            f"leverage {self.leverage:.2f}x",
            f"  health factor {self.health_factor:.7f}; liquidated when the {self.asset}/ETH "
            f"rate falls {self.exchange_rate_drop_to_liquidation_pct:.4f}%",
            f"  carry {self.net_yield_on_capital:+.2%} a year on capital (staking "
            f"{self.staking_yield:.2%}, borrow {self.borrow_rate:.2%})",
            f"  break-even borrow rate {self.break_even_borrow_rate:.2%}; at "
            f"{self.borrow_rate:.2%} the carry takes HF to 1 in "
            + ("never (the yield outruns the rate)" if math.isinf(self.days_to_liquidation)
               else f"{self.days_to_liquidation:,.0f} days"),
        ))

    def __str__(self) -> str:
        return self.summary()


def loop_debt_weth(capital_eth: float, ltv: float, loops: int) -> float:
    """``C (L + L² + … + Lᴺ)``, summed term by term (N is small)."""
    return capital_eth * math.fsum(ltv ** k for k in range(1, loops + 1))


def _check(asset: str, ltv: float, loops: int, emode: EModeCategory) -> str:
    symbol = {s.lower(): s for s in RESERVES}.get(asset.lower())
    if symbol is None or not RESERVES[symbol].eth_correlated or symbol == "WETH":
        raise InvalidArgument(
            f"asset={asset!r} must be an ETH derivative Aave holds ("
            f"{', '.join(s for s in RESERVES if RESERVES[s].eth_correlated and s != 'WETH')})."
        )
    if symbol not in emode.collateral_symbols:
        raise InvalidArgument(f"asset={symbol} is not collateral in e-mode {emode.label!r}.")
    if ltv > emode.ltv:
        raise InvalidArgument(f"ltv={ltv!r} is above the e-mode's LTV {emode.ltv}; each turn "
                              "must be a borrow Aave allows.")
    check_whole("loops", loops, minimum=1)
    if loops > MAX_LOOPS:
        raise InvalidArgument(f"loops={loops} must be at most {MAX_LOOPS} (at LTV < 1 the "
                              "later turns add next to nothing).")
    return symbol


def _bounded(name: str, value: float, top: float, why: str) -> None:
    check_positive(name, value)
    if value > top:
        raise InvalidArgument(f"{name}={value!r} must be at most {top:g} ({why}).")


def build_loop(capital_eth: float, ltv: float, loops: int, price_usd: float, rate: float, *,
               asset: str = "wstETH", staking_yield: float | None = None,
               borrow_rate: float | None = None,
               emode: EModeCategory = ETH_CORRELATED_EMODE,
               borrow_rate_source: str | None = None) -> LoopPosition:
    """The loop of ``loops`` turns at ``ltv`` on ``capital_eth`` (see the module docstring).

    ``rate``: ETH per unit of ``asset``; ``price_usd``: ETH/USD (it changes the USD values,
    not the health factor). Yields default to :data:`STAKING_YIELD_DEFAULT` (an estimate)
    and the WETH borrow rate recorded on 2026-02-01 (:func:`default_borrow_rate`).
    """
    _bounded("capital_eth", capital_eth, 1.2e8, "all the ETH in existence is ~1.2e8")
    check_fraction("ltv", ltv, high_closed=False)
    if ltv < 0.01:
        raise InvalidArgument(f"ltv={ltv!r} must be at least 0.01 (a loop borrows).")
    _bounded("price_usd", price_usd, 1e7, "ETH has never traded above $5,000")
    _bounded("rate", rate, 10.0, "an ETH derivative is worth about 1-1.3 ETH")
    if rate < 0.1:
        raise InvalidArgument(f"rate={rate!r} must be at least 0.1 ETH per unit (an ETH "
                              "derivative is worth about 1-1.3 ETH).")
    for name, value, top in (("staking_yield", staking_yield, 1.0),
                             ("borrow_rate", borrow_rate, 10.0)):
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= top):
            raise InvalidArgument(f"{name}={value!r} must be a yearly rate in [0, {top:g}] "
                                  "(a fraction, e.g. 0.027).")
    symbol = _check(asset, ltv, loops, emode)
    debt = loop_debt_weth(capital_eth, ltv, loops)
    units = (capital_eth + debt) / rate
    account = Account({symbol: units}, {"WETH": debt}, emode=True)
    prices = Prices({"WETH": price_usd, symbol: price_usd * rate})
    hf = account_data(account, prices, emode_category=emode).health_factor
    drop = rate_distance_to_liquidation(account, prices, emode_category=emode)
    y_source = STAKING_YIELD_SOURCE if staking_yield is None else "given"
    if borrow_rate is None:
        borrow_rate, b_source = default_borrow_rate()
    elif borrow_rate_source is None:
        b_source = "given"
    else:
        b_source = borrow_rate_source
    return LoopPosition(
        asset=symbol, capital_eth=capital_eth, ltv=ltv, loops=loops, price_usd=price_usd,
        rate=rate, collateral_units=units, debt_weth=debt, health_factor=hf,
        exchange_rate_drop_to_liquidation_pct=math.inf if drop is None else drop.drop_pct,
        staking_yield=STAKING_YIELD_DEFAULT if staking_yield is None else staking_yield,
        borrow_rate=borrow_rate, yield_sources=(y_source, b_source), emode_label=emode.label)


__all__ = ["STAKING_YIELD_DEFAULT", "LoopPosition", "borrow_rate_at_utilization", "build_loop",
           "default_borrow_rate", "loop_debt_weth"]

"""The other actors of a cascade: liquidators, followers, panic sellers, cautious borrowers.

Each is a small frozen dataclass holding one simple rule; the cascade kernels
(:mod:`delever.kernels.cascade`) apply them. All sales are ETH sold into the same market and
feed the square-root impact of the cascade. Rules use the state at the end of the previous
step (so each step's price fixed point stays monotone), except liquidators' immediate sales
and cautious borrowers, which act within the step's rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from delever._typing import FloatArray1D
from delever.errors import InvalidArgument, check_fraction, check_non_negative, check_positive
from delever.kernels.records import ImpactLaw, square_root_law

CautiousAction = Literal["deleverage", "add"]


def _whole(field: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidArgument(f"{field}={value!r} must be a whole number >= {minimum}.")
    return int(value)


@dataclass(frozen=True)
class Liquidators:
    """Liquidators sell ``immediate_share`` of the ETH they receive in the step of the call
    and the rest in equal parts over the next ``later_steps`` steps.

    Parameters
    ----------
    immediate_share : float
        φ, fraction in [0, 1]; ignored (taken as 1) when ``later_steps == 0``.
    later_steps : int
        k >= 0 steps over which the remaining 1 − φ is sold.

    Notes
    -----
    Atomic liquidation bots usually swap the seized collateral in the same transaction
    (φ = 1, the default); φ < 1 models liquidators who hold part of it. What is not yet
    sold when a path ends is reported as held by liquidators.
    """

    immediate_share: float = 1.0
    later_steps: int = 0

    def __post_init__(self) -> None:
        check_fraction("immediate_share", self.immediate_share, low_open=False)
        _whole("later_steps", self.later_steps, 0)


@dataclass(frozen=True)
class Followers:
    """Followers sell ``kappa`` times the large account's sales of ``lag_steps`` steps ago.

    The large account's sales are its own sales plus the collateral seized from it by
    liquidators (what the market sees it lose). ``kappa = 0`` (default): no followers.
    """

    kappa: float = 0.0
    lag_steps: int = 1

    def __post_init__(self) -> None:
        check_non_negative("kappa", self.kappa)
        _whole("lag_steps", self.lag_steps, 1)


@dataclass(frozen=True)
class PanicSellers:
    """Holders who sell ``sell_eth`` once, in the step after the market price first ends a
    step at or below ``P0 · (1 − drawdown)``. ``sell_eth = 0`` (default): no panic."""

    drawdown: float = 0.2
    sell_eth: float = 0.0

    def __post_init__(self) -> None:
        check_fraction("drawdown", self.drawdown)
        check_non_negative("sell_eth", self.sell_eth)


@dataclass(frozen=True)
class CautiousBorrowers:
    """Borrowers who act once when their HF falls below ``alert_hf`` (the margin-call
    warning line) while still >= 1, restoring it to ``target_hf``.

    Parameters
    ----------
    share : float
        Fraction of the book's accounts that are cautious, chosen by ``seed`` (each account
        independently with this probability).
    alert_hf : float
        Alert level, > 1 (e.g. 1.2).
    target_hf : float
        HF restored, > ``alert_hf``.
    action : {"deleverage", "add"}
        ``deleverage``: sell collateral at the current price and repay debt with it (a
        market sale); ``add``: post more collateral (no sale).
    seed : int
        Seed of the choice of accounts.

    Notes
    -----
    Selling s ETH at price p to repay s·p of debt moves HF to H when
    ``s = (H·D − C·p·LT) / (p·(H − LT))``; adding ``H·D / (p·LT) − C`` ETH does the same.
    A cautious borrower caught below HF 1 before acting (a gap) is liquidated instead.
    """

    share: float = 0.0
    alert_hf: float = 1.2
    target_hf: float = 1.5
    action: CautiousAction = "deleverage"
    seed: int = 0

    def __post_init__(self) -> None:
        check_fraction("share", self.share, low_open=False)
        if not (math.isfinite(self.alert_hf) and self.alert_hf > 1.0):
            raise InvalidArgument(f"alert_hf={self.alert_hf!r} must be > 1, e.g. 1.2.")
        if not (math.isfinite(self.target_hf) and self.target_hf > self.alert_hf):
            raise InvalidArgument(
                f"target_hf={self.target_hf!r} must be above alert_hf={self.alert_hf!r}."
            )
        if self.action not in ("deleverage", "add"):
            raise InvalidArgument(
                f"action={self.action!r} must be 'deleverage' or 'add'."
            )

    def watch_hf(self, n_accounts: int) -> FloatArray1D:
        """Alert HF per account: ``alert_hf`` for the cautious ones, 1.0 for the others."""
        out = np.ones(n_accounts)
        if self.share > 0.0:
            chosen = np.random.default_rng(self.seed).random(n_accounts) < self.share
            out[chosen] = self.alert_hf
        return out


@dataclass(frozen=True)
class LargeAccount:
    """The large position watched by the stress test, as one Aave account.

    Parameters
    ----------
    collateral_eth : float
        ETH collateral.
    debt_usd : float
        Stablecoin debt, USD.
    liquidation_threshold, liquidation_bonus : float
        Aave parameters (WETH on Aave v3 Core: 0.83, 0.05).
    sell_eth_per_step : float
        Voluntary sale per step at the step's opening price, proceeds repaying debt
        (0: the account holds).
    """

    collateral_eth: float
    debt_usd: float
    liquidation_threshold: float = 0.83
    liquidation_bonus: float = 0.05
    sell_eth_per_step: float = 0.0

    def __post_init__(self) -> None:
        check_non_negative("collateral_eth", self.collateral_eth)
        check_non_negative("debt_usd", self.debt_usd)
        if not 0.0 < self.liquidation_threshold <= 1.0:
            raise InvalidArgument(
                f"liquidation_threshold={self.liquidation_threshold!r} must be in (0, 1]; "
                "give a fraction, e.g. 0.83."
            )
        check_non_negative("liquidation_bonus", self.liquidation_bonus)
        check_non_negative("sell_eth_per_step", self.sell_eth_per_step)
        if self.debt_usd > 0 and self.collateral_eth <= 0:
            raise InvalidArgument("LargeAccount has debt but no collateral; give collateral_eth.")

    def liquidation_price_usd(self) -> float:
        """``debt / (collateral · LT)``: the ETH price at which its HF reaches 1."""
        if self.debt_usd <= 0:
            return 0.0
        return self.debt_usd / (self.collateral_eth * self.liquidation_threshold)

    def as_array(self) -> FloatArray1D:
        """The kernel's ``whale`` vector."""
        return np.array([self.collateral_eth, self.debt_usd, self.liquidation_threshold,
                         self.liquidation_bonus, self.sell_eth_per_step, 0.0])


# The trend-2026 position (press estimates: Odaily newsflash 467627 citing Yu Jin, Feb 2026):
# 396,000 ETH still held against $526M of debt, treated as ONE Aave v3 Core account with the
# WETH parameters (LT 0.83, bonus 0.05): liquidation price 526e6 / (396,000 · 0.83) ≈ $1,600,
# inside the reported $1,509-1,708 band. An estimate: the real position spans several accounts.
TREND_2026_LARGE_ACCOUNT = LargeAccount(collateral_eth=396_000.0, debt_usd=526_000_000.0)
NO_LARGE_ACCOUNT = LargeAccount(collateral_eth=0.0, debt_usd=0.0)


@dataclass(frozen=True)
class ImpactParams:
    """Square-root law ``I(Q) = Y · σ_daily · sqrt(Q / V)`` of the cascade's sales.

    The kernels take it as an :class:`~delever.kernels.records.ImpactLaw` (:meth:`law`);
    ``run_cascade`` also takes any ``ImpactLaw`` directly. ``impact_y`` Y (dimensionless),
    ``sigma_daily`` σ (fraction per day), ``adv_eth`` V
    (ETH per day). Defaults: :data:`delever.book.cascade.DEFAULT_IMPACT`.
    """

    impact_y: float
    sigma_daily: float
    adv_eth: float

    def __post_init__(self) -> None:
        check_non_negative("impact_y", self.impact_y)
        check_non_negative("sigma_daily", self.sigma_daily)
        check_positive("adv_eth", self.adv_eth, "Give the average daily volume in ETH.")

    @property
    def y_sigma(self) -> float:
        """Y·σ_daily."""
        return self.impact_y * self.sigma_daily

    def law(self) -> ImpactLaw:
        """The same law as the kernels' record: permanent, fixed depth (the cascade's)."""
        return square_root_law(self.y_sigma, self.adv_eth)


__all__ = [
    "NO_LARGE_ACCOUNT",
    "TREND_2026_LARGE_ACCOUNT",
    "CautiousAction",
    "CautiousBorrowers",
    "Followers",
    "ImpactParams",
    "LargeAccount",
    "Liquidators",
    "PanicSellers",
]

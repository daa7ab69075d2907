"""Almgren-Chriss optimal execution: linear temporary and permanent impact.

Almgren, R. & Chriss, N. (2000), "Optimal execution of portfolio transactions", Journal of
Risk 3(2), 5-39. Units as in the paper, with ETH as the "share" and days as time:

- ``sigma``: volatility of the price, USD per ETH per sqrt(day) (the paper's sigma);
- ``eta``: temporary impact, USD per ETH per (ETH/day): selling at rate v ETH/day fills
  ``epsilon + eta * v`` below the mid (h(v) = epsilon sgn(v) + eta v);
- ``gamma``: permanent impact, USD per ETH per ETH sold (g(v) = gamma v);
- ``epsilon``: fixed cost per ETH sold, USD (half the spread plus fees);
- ``step_days``: the step tau between trades, days; ``risk_aversion``: lambda, per USD.

A schedule sells X ETH in N steps: holdings ``x_0 = X, ..., x_N = 0`` at ``t_j = j tau``
and trades ``n_j = x_{j-1} - x_j``. The price moves as
``S_j = S_{j-1} + sigma tau^1/2 xi_j - tau g(n_j / tau)`` and trade j fills at
``S_{j-1} - h(n_j / tau)``; the cost against ``X S_0`` has mean
``E = gamma sum x_j n_j + epsilon sum |n_j| + (eta / tau) sum n_j^2`` and variance
``V = sigma^2 tau sum x_j^2`` (paper eqs. for E[x] and V[x]). For sells only this is
``E = 1/2 gamma X^2 + epsilon X + (eta_tilde / tau) sum n_j^2`` with
``eta_tilde = eta - gamma tau / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from delever._typing import ArrayLike, FloatArray1D
from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.market.impact import (
    Fills,
    ScheduleFills,
    as_orders,
    as_qty_array,
    check_n_steps,
    check_step_days,
)


@dataclass(frozen=True)
class ACCost:
    """Mean and variance of the cost of a schedule (USD, USD^2) against ``X * S_0``."""

    expected_cost_usd: float
    variance_usd2: float

    @property
    def std_cost_usd(self) -> float:
        """Standard deviation of the cost, USD."""
        return math.sqrt(self.variance_usd2)

    def objective_usd(self, risk_aversion: float) -> float:
        """``E + lambda V``, the quantity the optimal schedule minimises."""
        return self.expected_cost_usd + risk_aversion * self.variance_usd2


@dataclass(frozen=True, eq=False)
class ACSchedule:
    """An Almgren-Chriss liquidation trajectory and its cost moments.

    Attributes
    ----------
    holdings_eth : (N + 1,) ETH held at ``t_j = j * step_days``: ``x_0 = Q, ..., x_N = 0``.
    trades_eth : (N,) ETH sold in step j, ``n_j = x_{j-1} - x_j``.
    time_days : (N + 1,) the times ``t_j``.
    expected_cost_usd : E, USD.
    variance_usd2 : V, USD^2.
    kappa_per_day : the urgency kappa (0 for TWAP).
    risk_aversion : lambda, per USD.
    """

    holdings_eth: FloatArray1D
    trades_eth: FloatArray1D
    time_days: FloatArray1D
    expected_cost_usd: float
    variance_usd2: float
    kappa_per_day: float
    risk_aversion: float

    def __post_init__(self) -> None:
        for arr in (self.holdings_eth, self.trades_eth, self.time_days):
            arr.setflags(write=False)

    @property
    def std_cost_usd(self) -> float:
        """Standard deviation of the cost, USD."""
        return math.sqrt(self.variance_usd2)

    @property
    def objective_usd(self) -> float:
        """``E + lambda V``."""
        return self.expected_cost_usd + self.risk_aversion * self.variance_usd2

    def summary(self) -> str:
        """One line with the cost moments and the trajectory."""
        return (
            f"Almgren-Chriss schedule: {self.trades_eth.shape[0]} steps, kappa "
            f"{self.kappa_per_day:.6g}/day, E {self.expected_cost_usd:,.2f} USD, "
            f"sd {self.std_cost_usd:,.2f} USD; holdings {np.round(self.holdings_eth, 4)}"
        )

    def __str__(self) -> str:
        return self.summary()


def _check_params(
    step_days: float, sigma: float, eta: float, gamma: float, epsilon: float
) -> float:
    """Validate the model parameters and return eta_tilde = eta - gamma tau / 2."""
    check_positive("step_days", step_days)
    check_non_negative("sigma", sigma, "Give USD per ETH per sqrt(day).")
    check_positive("eta", eta, "Give USD per ETH per (ETH/day).")
    check_non_negative("gamma", gamma, "Give USD per ETH per ETH.")
    check_non_negative("epsilon", epsilon, "Give USD per ETH.")
    eta_tilde = eta - 0.5 * gamma * step_days
    if eta_tilde <= 0.0:
        raise InvalidArgument(
            f"eta={eta!r} must exceed gamma*step_days/2={0.5 * gamma * step_days!r} "
            "(eta_tilde > 0, Almgren & Chriss 2000); use a shorter step_days or a larger eta."
        )
    return eta_tilde


def almgren_chriss_kappa(
    step_days: float, sigma: float, eta: float, gamma: float, risk_aversion: float
) -> float:
    """The urgency kappa (per day) from ``cosh(kappa tau) = 1 + kappa_tilde^2 tau^2 / 2``.

    ``kappa_tilde^2 = lambda sigma^2 / eta_tilde``, ``eta_tilde = eta - gamma tau / 2``
    (Almgren & Chriss 2000). Zero when ``lambda sigma^2 = 0``.
    """
    eta_tilde = _check_params(step_days, sigma, eta, gamma, 0.0)
    check_non_negative("risk_aversion", risk_aversion, "Give lambda per USD, e.g. 1e-6.")
    kappa_tilde_sq = risk_aversion * sigma * sigma / eta_tilde
    z = 0.5 * kappa_tilde_sq * step_days * step_days
    # acosh(1 + z) = log1p(z + sqrt(z (2 + z))): no digits lost to "1 +" when z is small.
    return math.log1p(z + math.sqrt(z * (2.0 + z))) / step_days


def _holdings_fraction(n_steps: int, step_days: float, kappa: float) -> FloatArray1D:
    """``x_j / X = sinh(kappa (T - t_j)) / sinh(kappa T)``; linear (TWAP) for kappa = 0."""
    j = np.arange(n_steps + 1, dtype=np.float64)
    if kappa * n_steps * step_days < 1e-12:
        return 1.0 - j / n_steps
    if not math.isfinite(kappa * step_days):
        # infinite urgency (no temporary impact to trade against risk): all in the first step
        out_now: FloatArray1D = np.zeros(n_steps + 1)
        out_now[0] = 1.0
        return out_now
    total = kappa * n_steps * step_days
    t = kappa * j * step_days
    # sinh(a - b) / sinh(a) = exp(-b) (1 - exp(-2 (a - b))) / (1 - exp(-2 a)): no overflow.
    out: FloatArray1D = np.exp(-t) * (-np.expm1(-2.0 * (total - t))) / (-np.expm1(-2.0 * total))
    out[-1] = 0.0
    return out


def almgren_chriss_cost(
    holdings_eth: ArrayLike,
    step_days: float,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float = 0.0,
) -> ACCost:
    """Mean and variance of the cost of ANY schedule under the Almgren-Chriss model.

    Parameters
    ----------
    holdings_eth : (N + 1,) ETH held at each step, ``x_0`` first and ``x_N`` last (0 for a
        full liquidation); trades are ``n_j = x_{j-1} - x_j``.
    step_days : tau, days. sigma, eta, gamma, epsilon : see the module docstring.

    Returns
    -------
    ACCost with ``E = gamma sum_j x_j n_j + epsilon sum_j |n_j| + (eta / tau) sum_j n_j^2``
    and ``V = sigma^2 tau sum_{j>=1} x_j^2`` (Almgren & Chriss 2000, section 2), computed
    directly from the trades (not from the closed form of the optimum).
    """
    check_positive("step_days", step_days)
    check_non_negative("sigma", sigma)
    check_non_negative("eta", eta)
    check_non_negative("gamma", gamma)
    check_non_negative("epsilon", epsilon)
    x = np.asarray(holdings_eth, dtype=np.float64).reshape(-1)
    if x.shape[0] < 1 or not np.isfinite(x).all():
        raise InvalidArgument("holdings_eth must be a non-empty array of finite ETH amounts.")
    trades = x[:-1] - x[1:]
    after = x[1:]
    expected = (
        gamma * float(np.dot(after, trades))
        + epsilon * float(np.abs(trades).sum())
        + eta / step_days * float(np.dot(trades, trades))
    )
    variance = sigma * sigma * step_days * float(np.dot(after, after))
    return ACCost(expected_cost_usd=expected, variance_usd2=variance)


def almgren_chriss_schedule(
    qty_eth: float,
    n_steps: int,
    step_days: float,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float = 0.0,
    risk_aversion: float = 0.0,
) -> ACSchedule:
    """The optimal discrete-time liquidation of ``qty_eth`` in ``n_steps`` steps.

    Parameters
    ----------
    qty_eth : X, ETH to sell (>= 0).
    n_steps : N, number of trades.
    step_days : tau, days between trades (horizon T = N tau).
    sigma : USD per ETH per sqrt(day). eta : USD per ETH per (ETH/day).
    gamma : USD per ETH per ETH. epsilon : USD per ETH.
    risk_aversion : lambda, per USD; 0 gives TWAP.

    Returns
    -------
    ACSchedule with ``x_j = sinh(kappa (T - t_j)) / sinh(kappa T) X``,
    ``E = 1/2 gamma X^2 + epsilon X + (eta_tilde / tau) sum n_j^2`` and
    ``V = sigma^2 tau sum x_j^2`` (Almgren & Chriss 2000, section 3).
    """
    qty = check_non_negative("qty_eth", qty_eth, "Sells are positive ETH amounts.")
    n = check_n_steps(n_steps)
    eta_tilde = _check_params(step_days, sigma, eta, gamma, epsilon)
    kappa = almgren_chriss_kappa(step_days, sigma, eta, gamma, risk_aversion)
    holdings = qty * _holdings_fraction(n, step_days, kappa)
    trades = holdings[:-1] - holdings[1:]
    expected = (
        0.5 * gamma * qty * qty
        + epsilon * qty
        + eta_tilde / step_days * float(np.dot(trades, trades))
    )
    variance = sigma * sigma * step_days * float(np.dot(holdings[1:], holdings[1:]))
    return ACSchedule(
        holdings_eth=holdings,
        trades_eth=trades,
        time_days=np.arange(n + 1, dtype=np.float64) * step_days,
        expected_cost_usd=expected,
        variance_usd2=variance,
        kappa_per_day=kappa,
        risk_aversion=float(risk_aversion),
    )


@dataclass(frozen=True)
class AlmgrenChrissImpact:
    """Almgren-Chriss as an impact model: each order is sold on its optimal schedule.

    Parameters are those of :func:`almgren_chriss_schedule` (paper units, see the module
    docstring). ``execute`` reports the *expected* outcome (noise term zero): the average
    fill ``mid - E / Q`` and the new mid ``mid - gamma Q`` (only the permanent impact stays
    once the schedule is done). The trajectory is linear in Q, so the orders are
    vectorised exactly. ``execute_schedule`` runs any given slices through the same price
    dynamics.
    """

    sigma: float
    eta: float
    gamma: float
    epsilon: float = 0.0
    risk_aversion: float = 0.0
    n_steps: int = 1
    step_days: float = 1.0

    def __post_init__(self) -> None:
        check_n_steps(self.n_steps)
        _check_params(self.step_days, self.sigma, self.eta, self.gamma, self.epsilon)
        check_non_negative("risk_aversion", self.risk_aversion)

    @property
    def name(self) -> str:
        """Model name."""
        return "ac"

    def schedule(self, qty_eth: float) -> ACSchedule:
        """The optimal schedule for one order."""
        return almgren_chriss_schedule(
            qty_eth, self.n_steps, self.step_days, self.sigma, self.eta, self.gamma,
            self.epsilon, self.risk_aversion,
        )

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent orders, each on its optimal schedule (expected fills)."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        unit = self.schedule(1.0)
        # E(Q) = Q (epsilon + Q (gamma / 2 + eta_tilde / tau * sum f_j^2)) with f = n / Q.
        quad = unit.expected_cost_usd - self.epsilon
        per_eth = np.where(qty > 0.0, self.epsilon + quad * qty, 0.0)
        return Fills(
            model=self.name,
            mark_price_usd=mid,
            qty_eth=qty,
            filled_eth=qty.copy(),
            avg_price_usd=mid - per_eth,
            new_mid_usd=mid - self.gamma * qty,
        )

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Slices ``n_j`` sold ``step_days`` apart: slice j fills at
        ``S_{j-1} - epsilon - eta n_j / tau`` and leaves ``S_j = S_{j-1} - gamma n_j``."""
        mid = check_positive("mid_price_usd", mid_price_usd)
        trades = as_qty_array("slices_eth", slices_eth).reshape(-1)
        tau = check_step_days(step_days, self.step_days)
        _check_params(tau, self.sigma, self.eta, self.gamma, self.epsilon)
        cum_before = np.concatenate(([0.0], np.cumsum(trades)[:-1]))
        mid_before = mid - self.gamma * cum_before
        sold = trades > 0.0
        avg = mid_before - np.where(sold, self.epsilon + self.eta * trades / tau, 0.0)
        return ScheduleFills(
            model=self.name,
            mark_price_usd=mid,
            time_days=np.arange(trades.shape[0], dtype=np.float64) * tau,
            qty_eth=trades.copy(),
            filled_eth=trades.copy(),
            avg_price_usd=avg,
            mid_before_usd=mid_before,
            mid_after_usd=mid_before - self.gamma * trades,
        )


__all__ = [
    "ACCost",
    "ACSchedule",
    "AlmgrenChrissImpact",
    "almgren_chriss_cost",
    "almgren_chriss_kappa",
    "almgren_chriss_schedule",
]

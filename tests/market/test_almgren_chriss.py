"""Almgren-Chriss (2000): the closed-form optimum against a brute-force numerical optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from delever.errors import InvalidArgument
from delever.market.almgren_chriss import (
    AlmgrenChrissImpact,
    almgren_chriss_cost,
    almgren_chriss_kappa,
    almgren_chriss_schedule,
)

# Paper units with ETH as the share: sigma USD/ETH/sqrt(day), eta USD/ETH per ETH/day,
# gamma USD/ETH per ETH, epsilon USD/ETH, lambda 1/USD. Chosen so kappa T is about 2.
X, N, TAU = 1000.0, 10, 0.5
SIGMA, ETA, GAMMA, EPS = 80.0, 3e-4, 3e-5, 0.01
LAMBDA = 1e-8


def _brute_force(risk_aversion: float) -> np.ndarray:
    """Minimise E + lambda V over the N - 1 free holdings with scipy (fractions of X)."""
    scale = ETA / TAU * X * X  # the size of E, so the objective is of order 1

    def objective(free: np.ndarray) -> float:
        holdings = np.concatenate(([X], free * X, [0.0]))
        cost = almgren_chriss_cost(holdings, TAU, SIGMA, ETA, GAMMA, EPS)
        return cost.objective_usd(risk_aversion) / scale

    start = np.linspace(1.0, 0.0, N + 1)[1:-1] ** 2  # away from both TWAP and the answer
    result = minimize(objective, start, method="BFGS", options={"gtol": 1e-10})
    # BFGS may stop on "precision loss" at the optimum; the caller checks the answer itself.
    assert result.nit > 0
    return np.concatenate(([X], result.x * X, [0.0]))


@pytest.mark.parametrize("risk_aversion", [0.0, LAMBDA, 20 * LAMBDA])
def test_closed_form_matches_brute_force_optimum(risk_aversion: float) -> None:
    closed = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, risk_aversion)
    brute = _brute_force(risk_aversion)
    assert_allclose(closed.holdings_eth, brute, atol=1e-4 * X)
    brute_cost = almgren_chriss_cost(brute, TAU, SIGMA, ETA, GAMMA, EPS)
    assert_allclose(closed.objective_usd, brute_cost.objective_usd(risk_aversion), rtol=1e-8)
    # No other schedule does better (the brute force can only tie).
    assert closed.objective_usd <= brute_cost.objective_usd(risk_aversion) * (1 + 1e-12)


def test_closed_form_cost_moments_equal_direct_sums() -> None:
    """E = 1/2 gamma X^2 + eps X + eta_tilde/tau sum n^2 equals the direct
    gamma sum x_j n_j + eps sum|n_j| + eta/tau sum n_j^2, and V = sigma^2 tau sum x_j^2."""
    closed = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, LAMBDA)
    direct = almgren_chriss_cost(closed.holdings_eth, TAU, SIGMA, ETA, GAMMA, EPS)
    assert_allclose(closed.expected_cost_usd, direct.expected_cost_usd, rtol=1e-12)
    assert_allclose(closed.variance_usd2, direct.variance_usd2, rtol=1e-12)


def test_zero_risk_aversion_is_twap() -> None:
    twap = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, 0.0)
    assert twap.kappa_per_day == 0.0
    assert_allclose(twap.holdings_eth, np.linspace(X, 0.0, N + 1), rtol=1e-15)
    assert_allclose(twap.trades_eth, np.full(N, X / N), rtol=1e-13)
    # lambda -> 0 approaches TWAP continuously.
    near = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, 1e-16)
    assert_allclose(near.holdings_eth, twap.holdings_eth, atol=1e-6 * X)


def test_hand_example_one_step() -> None:
    # One step sells X at once: E = eps X + eta X^2 / tau (the gamma terms cancel), V = 0.
    one = almgren_chriss_schedule(X, 1, TAU, SIGMA, ETA, GAMMA, EPS, LAMBDA)
    assert_allclose(one.expected_cost_usd, EPS * X + ETA * X * X / TAU, rtol=1e-12)
    assert one.variance_usd2 == 0.0
    assert_allclose(one.holdings_eth, [X, 0.0])


def test_trajectory_solves_the_discrete_euler_lagrange_equation() -> None:
    """(x_{j-1} - 2 x_j + x_{j+1}) / tau^2 = kappa_tilde^2 x_j (Almgren & Chriss 2000)."""
    sched = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, LAMBDA)
    x = sched.holdings_eth
    kappa_tilde_sq = LAMBDA * SIGMA**2 / (ETA - 0.5 * GAMMA * TAU)
    lhs = (x[:-2] - 2 * x[1:-1] + x[2:]) / TAU**2
    assert_allclose(lhs, kappa_tilde_sq * x[1:-1], rtol=1e-9)


def test_kappa_equation_and_continuous_limit() -> None:
    kappa = almgren_chriss_kappa(TAU, SIGMA, ETA, GAMMA, LAMBDA)
    kappa_tilde_sq = LAMBDA * SIGMA**2 / (ETA - 0.5 * GAMMA * TAU)
    assert_allclose(math.cosh(kappa * TAU), 1 + 0.5 * kappa_tilde_sq * TAU**2, rtol=1e-14)
    # tau -> 0: kappa -> sqrt(lambda sigma^2 / eta).
    fine = almgren_chriss_kappa(1e-6, SIGMA, ETA, GAMMA, LAMBDA)
    assert_allclose(fine, math.sqrt(LAMBDA * SIGMA**2 / ETA), rtol=1e-6)


def test_very_urgent_schedule_does_not_overflow() -> None:
    sched = almgren_chriss_schedule(X, 200, 1.0, SIGMA, ETA, GAMMA, EPS, 1.0)
    assert np.isfinite(sched.holdings_eth).all()
    assert (np.diff(sched.holdings_eth) <= 0).all()
    assert sched.holdings_eth[0] == X and sched.holdings_eth[-1] == 0.0


def test_higher_risk_aversion_front_loads_and_trades_cost_for_variance() -> None:
    low = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, LAMBDA)
    high = almgren_chriss_schedule(X, N, TAU, SIGMA, ETA, GAMMA, EPS, 10 * LAMBDA)
    assert (high.holdings_eth[1:-1] < low.holdings_eth[1:-1]).all()
    assert high.expected_cost_usd > low.expected_cost_usd
    assert high.variance_usd2 < low.variance_usd2


def test_impact_model_matches_its_schedule() -> None:
    model = AlmgrenChrissImpact(SIGMA, ETA, GAMMA, EPS, LAMBDA, n_steps=N, step_days=TAU)
    qty = np.array([0.0, 10.0, X, 5 * X])
    fills = model.execute(2000.0, qty)
    for q, avg, new_mid in zip(qty[1:], fills.avg_price_usd[1:], fills.new_mid_usd[1:],
                               strict=True):
        sched = model.schedule(q)
        assert_allclose(avg, 2000.0 - sched.expected_cost_usd / q, rtol=1e-12)
        assert_allclose(new_mid, 2000.0 - GAMMA * q, rtol=1e-14)
        # Running the optimal slices through the price dynamics costs exactly E.
        run = model.execute_schedule(2000.0, sched.trades_eth)
        assert_allclose(run.total_discount_usd, sched.expected_cost_usd, rtol=1e-8)
        assert_allclose(run.final_mid_usd, new_mid, rtol=1e-14)


def test_schedule_slices_fill_at_hand_computed_prices() -> None:
    model = AlmgrenChrissImpact(SIGMA, ETA, GAMMA, EPS, step_days=TAU)
    run = model.execute_schedule(2000.0, [100.0, 300.0])
    # Slice 1: 2000 - eps - eta*100/tau; slice 2 starts at 2000 - gamma*100.
    first = 2000.0 - EPS - ETA * 100.0 / TAU
    second = 2000.0 - GAMMA * 100.0 - EPS - ETA * 300.0 / TAU
    assert_allclose(run.avg_price_usd, [first, second], rtol=1e-15)
    assert_allclose(run.mid_after_usd, [2000.0 - GAMMA * 100.0, 2000.0 - GAMMA * 400.0])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"eta": 1e-6, "gamma": 1.0}, "eta_tilde"),
        ({"eta": -1.0}, "eta"),
        ({"gamma": -1.0}, "gamma"),
        ({"sigma": math.nan}, "sigma"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"risk_aversion": -1e-6}, "risk_aversion"),
        ({"n_steps": 0}, "n_steps"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"step_days": 0.0}, "step_days"),
        ({"qty_eth": -5.0}, "qty_eth"),
    ],
    ids=["eta-tilde-not-positive", "negative-eta", "negative-gamma", "nan-sigma",
         "negative-epsilon", "negative-lambda", "zero-steps", "fractional-steps",
         "zero-step-days", "negative-qty"],
)
def test_bad_parameters(kwargs: dict[str, float], fragment: str) -> None:
    args = {"qty_eth": X, "n_steps": N, "step_days": TAU, "sigma": SIGMA, "eta": ETA,
            "gamma": GAMMA, "epsilon": EPS, "risk_aversion": LAMBDA, **kwargs}
    with pytest.raises(InvalidArgument, match=fragment):
        almgren_chriss_schedule(**args)  # type: ignore[arg-type]


def test_infinite_urgency_sells_everything_in_the_first_step() -> None:
    # eta -> 0 with risk aversion: kappa overflows; the limit is to sell at once, not NaN.
    from delever.market import almgren_chriss_schedule

    schedule = almgren_chriss_schedule(
        100.0, 9, 1 / 24, sigma=125.0, eta=1e-300, gamma=0.0, risk_aversion=1e-7
    )
    assert schedule.trades_eth[0] == 100.0
    assert float(abs(schedule.trades_eth[1:]).sum()) == 0.0

"""The Monte Carlo estimators against scipy and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from delever.errors import InvalidArgument
from delever.sim.estimators import (
    Z95,
    Estimate,
    RunningMoments,
    clopper_pearson,
    cvar_ci,
    cvar_influence,
    mean_ci,
    paired_difference,
    quantile_ci,
    standard_error,
    var_cvar,
    z_value,
)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (3, 10), (47, 1_000), (1, 2)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_equals_scipy_exact(k: int, n: int, confidence: float) -> None:
    got = clopper_pearson(k, n, confidence)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    assert got.value == k / n
    # scipy finds the bounds by root-finding (about 1e-12 absolute); ours are beta quantiles
    assert got.low == pytest.approx(ref.low, rel=1e-9, abs=1e-12)
    assert got.high == pytest.approx(ref.high, rel=1e-9, abs=1e-12)


def test_clopper_pearson_hand_worked() -> None:
    # k = 0: the upper bound solves (1 - p)^n = alpha / 2, p = 1 - 0.025^(1/n).
    assert clopper_pearson(0, 20).high == pytest.approx(1.0 - 0.025 ** (1 / 20), rel=1e-12)
    assert clopper_pearson(0, 20).low == 0.0
    with pytest.raises(InvalidArgument):
        clopper_pearson(3, 2)


def test_var_cvar_hand_worked() -> None:
    # 1..100 at 0.95: VaR = np.quantile (linear) = 95.05; the losses above it are 96..100,
    # E[(L - VaR)+] = (0.95 + 1.95 + 2.95 + 3.95 + 4.95) / 100 = 0.1475, CVaR = 95.05 +
    # 0.1475 / 0.05 = 98.0 (the mean of the worst 5%, 96..100).
    loss = np.arange(1.0, 101.0)
    var, cvar = var_cvar(loss, 0.95)
    assert var == pytest.approx(95.05, rel=1e-14)
    assert cvar == pytest.approx(98.0, rel=1e-14)
    value, infl = cvar_influence(loss, 0.95)
    assert value == cvar and infl.mean() == pytest.approx(cvar, rel=1e-14)
    with pytest.raises(InvalidArgument):
        var_cvar(loss, 1.0)


def test_cvar_of_a_normal_matches_the_closed_form() -> None:
    # CVaR_b of N(0, 1) = pdf(ppf(b)) / (1 - b); its interval covers it.
    x = np.random.default_rng(1).standard_normal(200_000)
    est = cvar_ci(x, 0.95)
    ref = stats.norm.pdf(stats.norm.ppf(0.95)) / 0.05
    assert est.low <= ref <= est.high
    assert est.high - est.low < 0.05


def test_mean_ci_and_standard_error() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    se = math.sqrt(np.var(x, ddof=1) / 4)
    assert standard_error(x) == pytest.approx(se, rel=1e-15)
    e = mean_ci(x)
    assert e == Estimate(2.5, 2.5 - Z95 * se, 2.5 + Z95 * se)
    assert z_value(0.95) == Z95 == pytest.approx(stats.norm.ppf(0.975), rel=1e-15)
    assert z_value(0.9) == pytest.approx(stats.norm.ppf(0.95), rel=1e-14)
    assert math.isnan(mean_ci(np.array([3.0])).low)
    assert mean_ci(np.array([3.0]), single=0.0) == Estimate(3.0, 3.0, 3.0)


def test_paired_difference_narrower_than_unpaired() -> None:
    rng = np.random.default_rng(2)
    common = rng.standard_normal(5_000) * 10.0
    a = common + rng.standard_normal(5_000)
    b = common + 0.5 + rng.standard_normal(5_000)
    d = paired_difference(a, b)
    assert d.value == pytest.approx(float((a - b).mean()), rel=1e-15)
    assert d.low <= -0.5 <= d.high
    unpaired_half = Z95 * math.hypot(standard_error(a), standard_error(b))
    assert d.high - d.value < unpaired_half / 5
    with pytest.raises(InvalidArgument):
        paired_difference(a, b[:10])


def test_quantile_ci_order_statistics() -> None:
    # n = 100, q = 0.5: the binomial(100, 0.5) 2.5% and 97.5% quantiles are 40 and 60, so the
    # interval is [x_(40), x_(61)] = [40, 61] on 1..100.
    x = np.arange(1.0, 101.0)
    e = quantile_ci(x, 0.5)
    assert e.value == 50.5 and (e.low, e.high) == (40.0, 61.0)
    assert math.isnan(quantile_ci(np.array([np.inf]), 0.5).value)


def test_running_moments_merge_is_exact() -> None:
    x = np.random.default_rng(3).normal(5.0, 2.0, 1_001)
    acc = RunningMoments()
    for part in np.array_split(x, 7):
        acc = acc.push(part)
    assert acc.count == 1_001
    assert acc.mean == pytest.approx(x.mean(), rel=1e-14)
    assert acc.std == pytest.approx(x.std(ddof=1), rel=1e-13)
    assert acc.ci().value == acc.mean
    assert acc.standard_error == pytest.approx(standard_error(x), rel=1e-13)
    assert RunningMoments().merge(acc) == acc == acc.merge(RunningMoments())

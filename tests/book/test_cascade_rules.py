"""The cascade under other protocols' rules: Morpho Blue (close factor 1) and Aave v3.0.

Morpho Blue (``Morpho.liquidate``, ``ConstantsLib``): no close factor, no dust rules, bad debt
realised when the collateral is gone; the liquidation incentive factor is
``LIF = min(1.15, 1 / (1 - 0.3 (1 - LLTV)))`` (``MAX_LIQUIDATION_INCENTIVE_FACTOR = 1.15``,
``LIQUIDATION_CURSOR = 0.3``), a bonus of ``LIF - 1`` on the repaid debt, no protocol fee.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from delever.book import BorrowerBook, ImpactParams, build_ladder, cascade, run_cascade
from delever.book.cascade import Engine
from delever.kernels import cascade as k
from delever.kernels.records import LiquidationRules
from delever.market.paths import gbm_paths

ENGINES: tuple[Engine, ...] = ("exact", "ladder")
MORPHO = LiquidationRules(1.0, math.inf, 0.0, 0.0, True)
AAVE_V30 = LiquidationRules(0.5, 0.95, 0.0, 0.0, False)
LLTV = 0.86


def lif(lltv: float) -> float:
    return min(1.15, 1.0 / (1.0 - 0.3 * (1.0 - lltv)))


def morpho_book(c: list[float], d: list[float]) -> BorrowerBook:
    return BorrowerBook.from_arrays(c, d, LLTV, lif(LLTV) - 1.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_morpho_hand_worked_shock(engine: Engine) -> None:
    # LLTV 0.86: LIF = 1 / (1 - 0.3 * 0.14) = 1 / 0.958 = 1.04384134.
    # Shock $2,000 -> $1,700, no impact.
    # A: C = 100, D = 150,000: HF = 100 * 1,700 * 0.86 / 150,000 = 0.97467 < 1; Morpho repays
    #    all of it (no close factor): seized = 150,000 / 1,700 * LIF = 92.1036 ETH < 100.
    # B: C = 10, D = 17,000: HF = 0.86; 17,000 / 1,700 * LIF = 10.438 ETH > 10: all 10 ETH
    #    seized, repaid = 10 * 1,700 / LIF = 16,286.0, bad debt = 17,000 - 16,286.0 = 714.0.
    # C: C = 50, D = 70,000: HF = 1.0443 (trigger 70,000 / 43 = 1,627.9): safe.
    f = 1.0 / 0.958
    assert lif(LLTV) == pytest.approx(f, rel=1e-15)
    book = morpho_book([100.0, 10.0, 50.0], [150_000.0, 17_000.0, 70_000.0])
    r = cascade(book, price_usd=2000.0, shock_frac=0.15, engine=engine, protocol_fee=0.0,
                impact=ImpactParams(0.0, 0.04, 1.0), rules=MORPHO)
    seized_a = 150_000 / 1_700 * f
    repaid_b = 10 * 1_700 / f
    assert seized_a == pytest.approx(92.1036, abs=1e-4)
    assert 17_000 - repaid_b == pytest.approx(714.0, abs=0.1)
    assert r.collateral_liquidated_eth == pytest.approx(seized_a + 10.0, rel=1e-12)
    assert r.collateral_sold_eth == pytest.approx(seized_a + 10.0, rel=1e-12)  # no fee
    assert r.protocol_fee_eth == 0.0
    assert r.debt_repaid_usd == pytest.approx(150_000 + repaid_b, rel=1e-12)
    assert r.bad_debt_usd == pytest.approx(17_000 - repaid_b, rel=1e-9)
    assert r.accounts_liquidated == 2 and r.liquidation_calls == 2 and r.rounds == 1
    assert r.debt_left_usd == pytest.approx(70_000.0, rel=1e-12)
    assert r.collateral_left_eth == pytest.approx(100 - seized_a + 50, rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_morpho_hand_worked_cascade(engine: Engine) -> None:
    # The same book in a thin market (Y = 1, sigma = 0.04, V = 50 ETH): round 1 sells
    # q1 = 92.1036 + 10 ETH -> p2 = 1,700 (1 - 0.04 sqrt(q1 / 50)) = 1,602.8 < C's trigger
    # 1,627.9: C's HF = 50 * 1,602.8 * 0.86 / 70,000 = 0.9846 -> all its debt repaid,
    # seized 70,000 / p2 * LIF = 45.59 ETH; p3 = 1,700 (1 - 0.04 sqrt((q1 + 45.59) / 50))
    # = 1,583.1 and nobody is left: 2 rounds.
    f = 1.0 / 0.958
    book = morpho_book([100.0, 10.0, 50.0], [150_000.0, 17_000.0, 70_000.0])
    r = cascade(book, price_usd=2000.0, shock_frac=0.15, engine=engine, protocol_fee=0.0,
                impact=ImpactParams(1.0, 0.04, 50.0), rules=MORPHO)
    q1 = 150_000 / 1_700 * f + 10.0
    p2 = 1_700 * (1 - 0.04 * math.sqrt(q1 / 50))
    assert p2 == pytest.approx(1602.8, abs=0.1)
    assert 50 * p2 * LLTV / 70_000 < 1
    seized_c = 70_000 / p2 * f
    p3 = 1_700 * (1 - 0.04 * math.sqrt((q1 + seized_c) / 50))
    assert seized_c == pytest.approx(45.59, abs=0.01) and p3 == pytest.approx(1583.1, abs=0.1)
    assert r.rounds == 2 and r.accounts_liquidated == 3 and r.liquidation_calls == 3
    assert r.collateral_liquidated_eth == pytest.approx(q1 + seized_c, rel=1e-12)
    assert r.bad_debt_usd == pytest.approx(17_000 - 10 * 1_700 / f, rel=1e-9)
    assert r.final_price_usd == pytest.approx(p3, rel=1e-12)
    assert r.debt_left_usd == 0.0


def test_morpho_ladder_has_one_rung_per_borrower() -> None:
    book = morpho_book([100.0, 10.0, 50.0], [150_000.0, 17_000.0, 70_000.0])
    ladder = build_ladder(book, rules=MORPHO, protocol_fee=0.0)
    assert len(ladder) == 3
    np.testing.assert_allclose(ladder.trigger_usd,
                               [17_000 / 8.6, 150_000 / 86.0, 70_000 / 43.0], rtol=1e-15)
    # sold at its own trigger: min(C, D / t * LIF) = min(C, C * LLTV * LIF)
    np.testing.assert_allclose(ladder.sold_eth, [10.0 * min(1, LLTV * lif(LLTV)),
                                                 100.0 * LLTV * lif(LLTV),
                                                 50.0 * LLTV * lif(LLTV)], rtol=1e-12)


def _random_book(n: int, seed: int, morpho: bool) -> BorrowerBook:
    rng = np.random.default_rng(seed)
    c = rng.lognormal(2.0, 1.5, n)
    lt = rng.choice([0.77, 0.86, 0.915], n) if morpho else rng.uniform(0.7, 0.86, n)
    bonus = np.array([lif(x) - 1 for x in lt]) if morpho else rng.uniform(0.04, 0.1, n)
    d = c * 2000.0 * lt / rng.uniform(1.0, 1.8, n)
    return BorrowerBook.from_arrays(c, d, lt, bonus)


@pytest.mark.parametrize("rules", [MORPHO, AAVE_V30], ids=["morpho-blue", "aave-v3.0"])
@pytest.mark.parametrize("shock", [0.05, 0.2, 0.45])
def test_ladder_matches_exact_on_shocks(rules: LiquidationRules, shock: float) -> None:
    book = _random_book(1_500, 7, rules is MORPHO)
    kwargs = {"price_usd": 2000.0, "shock_frac": shock, "rules": rules,
              "protocol_fee": 0.0 if rules is MORPHO else 0.1,
              "impact": ImpactParams(1.0, 0.04, 20_000.0)}
    exact = cascade(book, engine="exact", **kwargs)  # type: ignore[arg-type]
    ladder = cascade(book, engine="ladder", **kwargs)  # type: ignore[arg-type]
    assert exact.collateral_liquidated_eth > 0
    assert ladder.collateral_liquidated_eth == pytest.approx(exact.collateral_liquidated_eth,
                                                             rel=1e-9)
    assert ladder.final_price_usd == pytest.approx(exact.final_price_usd, rel=1e-9)
    assert ladder.bad_debt_usd == pytest.approx(exact.bad_debt_usd, rel=1e-9, abs=1e-6)
    assert ladder.accounts_liquidated == exact.accounts_liquidated


@pytest.mark.parametrize("rules", [MORPHO, AAVE_V30], ids=["morpho-blue", "aave-v3.0"])
def test_ladder_matches_exact_on_hourly_paths(rules: LiquidationRules) -> None:
    book = _random_book(1_000, 3, rules is MORPHO)
    exog = gbm_paths(2000.0, 4, 200, sigma_per_step=0.12 / math.sqrt(24), seed=4)
    kwargs = {"rules": rules, "protocol_fee": 0.0 if rules is MORPHO else 0.1,
              "impact": ImpactParams(1.0, 0.04, 20_000.0)}
    e = run_cascade(book, exog, engine="exact", **kwargs)  # type: ignore[arg-type]
    lad = run_cascade(book, exog, engine="ladder", **kwargs)  # type: ignore[arg-type]
    assert np.all(e.values[:, k.OUT_CALLS] > 0)
    np.testing.assert_allclose(lad.values, e.values, rtol=1e-9, atol=1e-6)


def test_aave_v30_keeps_the_deficit_owed() -> None:
    # v3.0 (no deficit write-off): C = 100, D = 170,000 at p1 = 1,700: all 100 ETH seized,
    # repaid = 100 * 1,700 / 1.05 = 161,904.76; the 8,095.24 left stays owed on the account.
    book = BorrowerBook.from_arrays([100.0], [170_000.0], 0.83, 0.05)
    for engine in ENGINES:
        r = cascade(book, price_usd=2000.0, shock_frac=0.15, engine=engine, rules=AAVE_V30,
                    impact=ImpactParams(0.0, 0.04, 1.0))
        assert r.bad_debt_usd == 0.0
        assert r.debt_left_usd == pytest.approx(170_000 - 100 * 1_700 / 1.05, rel=1e-9)
        assert r.collateral_left_eth == 0.0

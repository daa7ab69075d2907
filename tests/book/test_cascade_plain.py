"""The ladder engine's plain book (prefix sums over cohorts) against the exact engine.

The plain borrowers (no alert rule, the book's most common LT and bonus) are liquidated by
cohorts: ranges of the book sorted by u = C·LT/D that share their history of calls, each
round's calls summed from prefix sums (:mod:`delever.kernels.cascade_ladder`). The exact
engine, one ``liquidate_one`` call per borrower and round, is the oracle: the two must agree
to rounding (rtol 1e-9) through gaps (HF below 0.95 at the execution price), the $2,000
``min_base_usd`` rule (a borrower's partial-call budget), bad debt, mixed books and shocks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from delever.book import BorrowerBook, ImpactParams, build_ladder, cascade, run_cascade
from delever.book.cascade import DEFAULT_SIGMA_DAILY
from delever.kernels.cascade_ladder import T_M, plain_rules_ok
from delever.kernels.records import LiquidationRules
from delever.market.paths import gbm_paths

AAVE_V36 = LiquidationRules(0.5, 0.95, 2_000.0, 1_000.0, True)


def _book(n: int, seed: int, lt: float | np.ndarray = 0.83, bonus: float = 0.05
          ) -> BorrowerBook:
    """Debts from $500 (under min_base_usd: one full call) to $5M (many partial calls),
    HF 1.0-1.6 at $2,000, some deep in the gap zone after a shock."""
    rng = np.random.default_rng(seed)
    debt = np.exp(rng.uniform(math.log(500.0), math.log(5e6), n))
    hf = rng.uniform(1.0, 1.6, n)
    lts = np.broadcast_to(np.asarray(lt, dtype=float), (n,))
    coll = debt * hf / (2_000.0 * lts)
    return BorrowerBook.from_arrays(coll, debt, lts, bonus)


def test_the_plain_book_is_used_for_a_usual_book() -> None:
    ladder = build_ladder(_book(500, 1))
    assert int(ladder.plain_tables[T_M]) == 500  # every borrower on the prefix-sum path
    assert ladder.walk_order.shape == (0,)


@pytest.mark.parametrize("shock", [0.02, 0.06, 0.12, 0.25, 0.45, 0.7])
def test_single_shocks_match_exact(shock: float) -> None:
    book = _book(1_500, 2)
    impact = ImpactParams(1.0, 0.04, 100_000.0)  # deep cascades: many rounds, many cohorts
    e = cascade(book, price_usd=2000.0, shock_frac=shock, engine="exact", impact=impact)
    lad = cascade(book, price_usd=2000.0, shock_frac=shock, engine="ladder", impact=impact)
    assert lad.collateral_liquidated_eth == pytest.approx(e.collateral_liquidated_eth,
                                                          rel=1e-9)
    assert lad.final_price_usd == pytest.approx(e.final_price_usd, rel=1e-9)
    assert lad.bad_debt_usd == pytest.approx(e.bad_debt_usd, rel=1e-9, abs=1e-6)
    assert lad.accounts_liquidated == e.accounts_liquidated
    assert lad.rounds == e.rounds


@pytest.mark.parametrize("mixed", [False, True], ids=["one-pair", "mixed-lt"])
def test_hourly_paths_match_exact(mixed: bool) -> None:
    # half the book at another LT: those are walked one by one beside the plain book
    lt = np.where(np.arange(800) % 2 == 0, 0.83, 0.80) if mixed else 0.83
    book = _book(800, 3, lt)
    exog = gbm_paths(2000.0, 8, 240, sigma_per_step=4 * DEFAULT_SIGMA_DAILY / math.sqrt(24),
                     seed=9)
    impact = ImpactParams(1.0, 0.04, 200_000.0)
    e = run_cascade(book, exog, engine="exact", impact=impact)
    lad = run_cascade(book, exog, engine="ladder", impact=impact)
    assert np.all(e.collateral_liquidated_eth > 0)
    np.testing.assert_allclose(lad.values, e.values, rtol=1e-9, atol=1e-6)


def test_rules_outside_the_plain_case_walk_everyone() -> None:
    # LT above full_close_hf: a triggered partial call could leave C·p under min_base_usd
    assert not plain_rules_ok(AAVE_V36, 0.97, 0.01)
    assert plain_rules_ok(AAVE_V36, 0.83, 0.05)
    book = _book(300, 4, 0.97, 0.01)
    ladder = build_ladder(book)
    assert int(ladder.plain_tables[T_M]) == 0
    exog = gbm_paths(2000.0, 4, 120, sigma_per_step=4 * DEFAULT_SIGMA_DAILY / math.sqrt(24),
                     seed=2)
    e = run_cascade(book, exog, engine="exact")
    lad = run_cascade(book, exog, engine="ladder", ladder=ladder)
    np.testing.assert_allclose(lad.values, e.values, rtol=1e-9, atol=1e-6)

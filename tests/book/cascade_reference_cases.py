"""The cases of the old-vs-new cascade comparison (tests/book/test_cascade_reference.py).

Each case returns ``(book, exogenous paths, engine, run_cascade keyword arguments)``;
``impact`` is given as ``(Y, sigma_daily, adv_eth)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from delever.book import (
    TREND_2026_LARGE_ACCOUNT,
    BorrowerBook,
    CautiousBorrowers,
    Followers,
    Liquidators,
    PanicSellers,
    synthetic_book,
)
from delever.market.paths import gbm_paths

Case = tuple[BorrowerBook, np.ndarray, str, dict[str, Any]]
SIGMA = 0.03896437077538771


def _shock(n: int, seed: int, shock: float, engine: str) -> Callable[[], Case]:
    def make() -> Case:
        book = synthetic_book(n, 1_000_000.0, 2_000.0, seed=seed)
        return book, np.array([[2000.0, 2000.0 * (1 - shock)]]), engine, {}
    return make


def _random_book(seed: int, engine: str, actors: bool) -> Callable[[], Case]:
    def make() -> Case:
        rng = np.random.default_rng(seed)
        n = 400
        c = rng.lognormal(2.0, 1.5, n)
        hf = rng.uniform(1.0, 2.0, n)
        lt = rng.uniform(0.7, 0.86, n)
        bonus = rng.uniform(0.04, 0.1, n)
        d = c * 2000.0 * lt / hf
        book = BorrowerBook.from_arrays(c, d, lt, bonus)
        exog = gbm_paths(2000.0, 4, 200, sigma_per_step=3 * SIGMA / math.sqrt(24), seed=seed)
        kwargs: dict[str, Any] = {"impact": (1.0, SIGMA, 2_000.0)}
        if actors:
            kwargs.update(large_account=TREND_2026_LARGE_ACCOUNT,
                          liquidators=Liquidators(0.5, 6), followers=Followers(0.5, 2),
                          panic=PanicSellers(0.2, 50_000.0),
                          cautious=CautiousBorrowers(0.3, seed=1))
        return book, exog, engine, kwargs
    return make


def _gbm(actors: bool, engine: str, add: bool = False) -> Callable[[], Case]:
    def make() -> Case:
        book = synthetic_book(2_000, 1_000_000.0, 2_000.0, seed=11)
        exog = gbm_paths(2000.0, 6, 240, sigma_per_step=3 * SIGMA / math.sqrt(24), seed=5)
        kwargs: dict[str, Any] = {}
        if actors:
            kwargs.update(large_account=TREND_2026_LARGE_ACCOUNT,
                          liquidators=Liquidators(0.5, 6), followers=Followers(0.5, 2),
                          panic=PanicSellers(0.2, 50_000.0),
                          cautious=CautiousBorrowers(0.3, action="add" if add else "deleverage",
                                                     seed=1))
        return book, exog, engine, kwargs
    return make


CASES: dict[str, Callable[[], Case]] = {}
for _engine in ("exact", "ladder"):
    for _n in (300, 2_000):
        for _s in (0.05, 0.2, 0.5):
            CASES[f"shock-{_n}-{_s}-{_engine}"] = _shock(_n, _n, _s, _engine)
    CASES[f"gbm-book-{_engine}"] = _gbm(False, _engine)
    CASES[f"gbm-actors-{_engine}"] = _gbm(True, _engine)
    CASES[f"gbm-actors-add-{_engine}"] = _gbm(True, _engine, add=True)
    for _seed in (1, 2, 3):
        CASES[f"random-{_seed}-{_engine}"] = _random_book(_seed, _engine, _seed == 3)

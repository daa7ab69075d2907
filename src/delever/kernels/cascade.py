"""Cascade kernels, shared part: the records a run takes, the output columns, the ladder.

A borrower book is liquidated by a lending protocol's rules (a
:class:`~delever.kernels.records.LiquidationRules` record, one call by
:func:`delever.kernels.liquidation.liquidate_one`) while the liquidators' sales move the price
by an :class:`~delever.kernels.records.ImpactLaw` (:mod:`delever.kernels.impact_law`). Two
engines run it, each in its own module and sharing no step code (the first checks the second):

- :mod:`delever.kernels.cascade_exact`: every borrower, every round of every step, one
  ``liquidate_one`` call for each with HF < 1 (the test oracle; cost O(steps * rounds * n)).
- :mod:`delever.kernels.cascade_ladder`: only the borrowers whose trigger price the market
  crosses (first rungs from the ladder built here, later ones from a per-path queue of each
  borrower's actual trigger), the same call at the execution price, so the two agree to
  rounding at a cost O(steps + calls) per path.

The ladder (:func:`build_ladder_py`): each borrower's price levels at which it needs a call,
as if every earlier call executed at its trigger. With a close factor below 1 (Aave) a call at
HF = 1 repays ``close_factor * D`` and restores ``HF' = (HF - cf (1 + bonus) LT) / (1 - cf)``
above 1, so the next rung is lower, down to the 100% call (HF below ``full_close_hf``, or a
side under ``min_base_usd``, or a partial call that would leave less than
``min_leftover_usd``); with close factor 1 (Morpho Blue) one rung per borrower. S(p), the ETH
sold in a continuous fall to p, is a running sum over the sorted rungs
(:func:`ladder_sold_eth_py`).

Step model (both engines). Market: ``mid = E_t * (1 - I(q_perm, q_mem, V))`` with ``E_t`` the
exogenous price and ``(q_perm, q_mem)`` the ETH sold so far (all of it, and a memory of it
decaying over ``step_s`` seconds per step); the depth ``V`` is thinned by the realized
volatility and drawdown of the mid at the end of the previous step. Within a step, rounds
repeat: liquidate every account with HF < 1 at ``p``, sell, recompute ``p``, until a round
liquidates nobody (the largest fixed point of the monotone map, the price a real cascade's
rounds stop at). Other actors (decisions from the state at the end of the previous step):
liquidators sell ``phi`` of what they receive at once and the rest over ``k_defer`` steps;
followers sell ``kappa`` times the large account's sales of ``lag`` steps earlier; panic
sellers sell ``panic_eth`` once after the mid first closes at or below ``P0 (1 - drawdown)``;
cautious borrowers (``watch_hf > 1``) deleverage or add collateral to ``target_hf`` once
when their HF falls below ``watch_hf`` while >= 1; the large account is one more account
checked first in every round, selling ``sell_eth_per_step`` at each step's opening price.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D, IntArray1D
from delever.kernels._numba import njit
from delever.kernels.records import ImpactLaw, LiquidationRules

RUNG_LIQUIDATION = 0
RUNG_ALERT = 1
MAX_RUNGS_PER_BORROWER = 64

# Columns of the per-path output (both engines).
OUT_FINAL_PRICE = 0
OUT_MIN_PRICE = 1
OUT_SEIZED_ETH = 2  # collateral taken from borrowers (to liquidators + protocol fee)
OUT_TO_LIQUIDATOR_ETH = 3
OUT_LIQUIDATOR_SOLD_ETH = 4
OUT_OTHER_SOLD_ETH = 5  # large account, followers, panic sellers, cautious deleveraging
OUT_DEBT_REPAID_USD = 6
OUT_BAD_DEBT_USD = 7  # written off (rules.write_off_bad_debt); else it stays in debt left
OUT_PROTOCOL_FEE_ETH = 8
OUT_ACCOUNTS_LIQUIDATED = 9  # book accounts with at least one call (the large one excluded)
OUT_CALLS = 10
OUT_ROUNDS = 11  # rounds in which something happened, summed over steps
OUT_WHALE_FIRST_STEP = 12  # step of the large account's first liquidation, -1 if none
OUT_WHALE_SEIZED_ETH = 13
OUT_WHALE_BAD_DEBT_USD = 14
OUT_CAUTIOUS_SOLD_ETH = 15
OUT_CAUTIOUS_ADDED_ETH = 16
OUT_CAPPED_STEPS = 17  # steps that hit max_rounds
OUT_DEBT_LEFT_USD = 18  # book + large account
OUT_COLLATERAL_LEFT_ETH = 19  # book + large account
OUT_MIN_EXOGENOUS = 20
OUT_HELD_ETH = 21  # received by liquidators, not yet sold at the end
N_OUT = 22


class CascadeBook(NamedTuple):
    """The book at the start of every path, one entry per borrower."""

    collateral_eth: FloatArray1D
    debt_usd: FloatArray1D
    liquidation_threshold: FloatArray1D
    liquidation_bonus: FloatArray1D
    watch_hf: FloatArray1D  # alert HF of a cautious borrower (> 1), 1.0 for the others


class CascadeActors(NamedTuple):
    """Everyone but the book's borrowers and the large account, and the step's bounds."""

    protocol_fee: float  # treasury share of the liquidation bonus
    target_hf: float  # HF a cautious borrower restores
    add_collateral: bool  # cautious borrowers add collateral (True) or deleverage
    phi: float  # liquidators' immediate share (taken as 1 when k_defer == 0)
    k_defer: int  # later steps over which liquidators sell the rest
    follower_kappa: float  # followers' multiple of the large account's sales
    follower_lag: int  # followers' lag, steps (>= 1)
    panic_drawdown: float  # drawdown from P0 that sets off the panic sale
    panic_eth: float  # the panic sale (0: none)
    max_rounds: int  # rounds per step at most (a safety net: OUT_CAPPED_STEPS)
    step_s: float  # seconds per step: the impact memory's decay and the volatility EWMA


class LargeAccountRecord(NamedTuple):
    """The large account: one more account of the protocol (collateral 0: none)."""

    collateral_eth: float
    debt_usd: float
    liquidation_threshold: float
    liquidation_bonus: float
    sell_eth_per_step: float  # voluntary sale at each step's opening price, repaying debt


class CascadeRun(NamedTuple):
    """Everything a run needs besides the exogenous paths."""

    book: CascadeBook
    rules: LiquidationRules
    law: ImpactLaw
    actors: CascadeActors
    whale: LargeAccountRecord


class RungSpec(NamedTuple):
    """What the ladder needs beyond the book and the rules."""

    target_hf: float
    add_collateral: bool
    protocol_fee: float


class RungsOut(NamedTuple):
    """Rung output arrays (``write=False``: empty, only counted)."""

    trigger_usd: FloatArray1D
    sold_eth: FloatArray1D
    kind: IntArray1D


def book_columns_py(book: CascadeBook) -> FloatArray2D:
    """The book as one (5, n) array: a parallel loop cannot capture a tuple of arrays, so the
    engines pass this into theirs and rebuild the record inside."""
    columns = np.empty((5, book.collateral_eth.shape[0]))
    columns[0, :] = book.collateral_eth
    columns[1, :] = book.debt_usd
    columns[2, :] = book.liquidation_threshold
    columns[3, :] = book.liquidation_bonus
    columns[4, :] = book.watch_hf
    return columns


book_columns = njit(cache=True)(book_columns_py)


def _alert_rung_py(c: float, d: float, lt: float, watch: float, spec: RungSpec
                   ) -> tuple[float, float, float, float]:
    """A cautious borrower's alert rung: ``(trigger, sold, c after, d after)``."""
    ta = watch * d / (c * lt)  # HF = watch here
    sold = 0.0
    if spec.add_collateral:
        c = spec.target_hf * d / (ta * lt)
    else:
        sold = d * (spec.target_hf - watch) / (ta * (spec.target_hf - lt))
        if sold * ta >= d:
            sold = d / ta
        c -= sold
        d -= sold * ta
    return ta, sold, c, d


_alert_rung = njit(cache=True)(_alert_rung_py)


def _rungs_py(rules: LiquidationRules, spec: RungSpec, c: float, d: float, lt: float,
              bonus: float, watch: float, out: RungsOut, start: int, write: bool) -> int:
    """Walk one borrower down its ladder; write the rungs from ``start`` when ``write``.

    Returns the number of rungs. ``sold_eth`` is what is sold at the rung if it executed at
    its own trigger (liquidators' share of the seized collateral, or the deleveraging sale).
    """
    if not (d > 0.0 and c > 0.0 and lt > 0.0):
        return 0
    n = 0
    t_prev = math.inf
    bf = 1.0 + bonus
    cf = rules.close_factor
    if watch > 1.0:
        ta, sold, c, d = _alert_rung(c, d, lt, watch, spec)
        if write:
            out.trigger_usd[start] = ta
            out.sold_eth[start] = sold
            out.kind[start] = RUNG_ALERT
        n = 1
        t_prev = ta
        if not (d > 0.0 and c > 0.0):
            return n
    while True:
        t = min(d / (c * lt), t_prev)
        full = not (cf < 1.0 and c * t >= rules.min_base_usd and d >= rules.min_base_usd)
        seized = 0.0
        if not full:
            seized = cf * d * bf / t
            if ((c - seized) * t < rules.min_leftover_usd
                    or d - cf * d < rules.min_leftover_usd or n >= MAX_RUNGS_PER_BORROWER - 1):
                # the protocol refuses a partial call leaving dust: the next call is the full
                # one once HF < full_close_hf (or, past the rung budget, take the rest there)
                full = True
                t = t * min(rules.full_close_hf, 1.0)
        if full:
            seized = min(d * bf / t, c) if t > 0.0 else c
        if write:
            out.trigger_usd[start + n] = t
            out.sold_eth[start + n] = seized - (seized - seized / bf) * spec.protocol_fee
            out.kind[start + n] = RUNG_LIQUIDATION
        n += 1
        if full:
            return n
        c -= seized
        d -= cf * d
        t_prev = t


_rungs = njit(cache=True)(_rungs_py)


def count_rungs_py(book: CascadeBook, rules: LiquidationRules, spec: RungSpec,
                   counts: IntArray1D) -> None:
    """Number of ladder rungs of each borrower, into ``counts``."""
    empty = RungsOut(np.empty(0), np.empty(0), np.empty(0, np.int64))
    for i in range(book.collateral_eth.shape[0]):
        counts[i] = _rungs(rules, spec, book.collateral_eth[i], book.debt_usd[i],
                           book.liquidation_threshold[i], book.liquidation_bonus[i],
                           book.watch_hf[i], empty, 0, False)


count_rungs = njit(cache=True)(count_rungs_py)


def build_ladder_py(book: CascadeBook, rules: LiquidationRules, spec: RungSpec, out: RungsOut,
                    borrower_out: IntArray1D) -> int:
    """Fill the (unsorted) rungs of every borrower, sized by :func:`count_rungs`.

    Returns the number of rungs written. Rungs of one borrower come out highest first.
    """
    pos = 0
    for i in range(book.collateral_eth.shape[0]):
        m = _rungs(rules, spec, book.collateral_eth[i], book.debt_usd[i],
                   book.liquidation_threshold[i], book.liquidation_bonus[i], book.watch_hf[i],
                   out, pos, True)
        for j in range(pos, pos + m):
            borrower_out[j] = i
        pos += m
    return pos


build_ladder = njit(cache=True)(build_ladder_py)


def ladder_sold_eth_py(
    min_price_usd: FloatArray1D, trigger_desc_usd: FloatArray1D, cum_sold_eth: FloatArray1D
) -> FloatArray1D:
    """S(p): ETH sold by liquidators (and deleveraging) once the price has fallen to ``p``.

    ``trigger_desc_usd`` sorted from high to low, ``cum_sold_eth[k]`` the ETH of the first
    ``k`` rungs (length n + 1, starting at 0). A rung counts when ``p < trigger`` (HF < 1).
    """
    out = np.empty(min_price_usd.shape[0])
    ascending = trigger_desc_usd[::-1]
    n = trigger_desc_usd.shape[0]
    for j in range(min_price_usd.shape[0]):
        # rungs with trigger > p = n - (number of triggers <= p)
        k = n - np.searchsorted(ascending, min_price_usd[j], side="right")
        out[j] = cum_sold_eth[k]
    return out


ladder_sold_eth = njit(cache=True)(ladder_sold_eth_py)


__all__ = [
    "MAX_RUNGS_PER_BORROWER",
    "N_OUT",
    "OUT_ACCOUNTS_LIQUIDATED",
    "OUT_BAD_DEBT_USD",
    "OUT_CALLS",
    "OUT_CAPPED_STEPS",
    "OUT_CAUTIOUS_ADDED_ETH",
    "OUT_CAUTIOUS_SOLD_ETH",
    "OUT_COLLATERAL_LEFT_ETH",
    "OUT_DEBT_LEFT_USD",
    "OUT_DEBT_REPAID_USD",
    "OUT_FINAL_PRICE",
    "OUT_HELD_ETH",
    "OUT_LIQUIDATOR_SOLD_ETH",
    "OUT_MIN_EXOGENOUS",
    "OUT_MIN_PRICE",
    "OUT_OTHER_SOLD_ETH",
    "OUT_PROTOCOL_FEE_ETH",
    "OUT_ROUNDS",
    "OUT_SEIZED_ETH",
    "OUT_TO_LIQUIDATOR_ETH",
    "OUT_WHALE_BAD_DEBT_USD",
    "OUT_WHALE_FIRST_STEP",
    "OUT_WHALE_SEIZED_ETH",
    "RUNG_ALERT",
    "RUNG_LIQUIDATION",
    "CascadeActors",
    "CascadeBook",
    "CascadeRun",
    "ImpactLaw",
    "LargeAccountRecord",
    "LiquidationRules",
    "RungSpec",
    "RungsOut",
    "book_columns",
    "book_columns_py",
    "build_ladder",
    "build_ladder_py",
    "count_rungs",
    "count_rungs_py",
    "ladder_sold_eth",
    "ladder_sold_eth_py",
]

"""The exact cascade engine: every borrower, every round of every step (the test oracle).

Its own simple loop, sharing no step code with :mod:`delever.kernels.cascade_ladder` (only
the primitives :func:`~delever.kernels.liquidation.liquidate_one` and
:mod:`delever.kernels.impact_law`): in each round of a step, every account with
``HF = c p LT / d < 1`` gets one call by the rules at the round's price ``p``, every cautious
borrower below its alert HF (and >= 1) acts, then the ETH received is sold and ``p``
recomputed; the rounds stop when nothing happens. The step model and the actors are
described in :mod:`delever.kernels.cascade`. Cost O(steps * rounds * n) per path.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D, IntArray1D
from delever.kernels._numba import njit, prange
from delever.kernels.cascade import (
    OUT_ACCOUNTS_LIQUIDATED,
    OUT_BAD_DEBT_USD,
    OUT_CALLS,
    OUT_CAPPED_STEPS,
    OUT_CAUTIOUS_ADDED_ETH,
    OUT_CAUTIOUS_SOLD_ETH,
    OUT_COLLATERAL_LEFT_ETH,
    OUT_DEBT_LEFT_USD,
    OUT_DEBT_REPAID_USD,
    OUT_FINAL_PRICE,
    OUT_HELD_ETH,
    OUT_LIQUIDATOR_SOLD_ETH,
    OUT_MIN_EXOGENOUS,
    OUT_MIN_PRICE,
    OUT_OTHER_SOLD_ETH,
    OUT_PROTOCOL_FEE_ETH,
    OUT_ROUNDS,
    OUT_SEIZED_ETH,
    OUT_TO_LIQUIDATOR_ETH,
    OUT_WHALE_BAD_DEBT_USD,
    OUT_WHALE_FIRST_STEP,
    OUT_WHALE_SEIZED_ETH,
    CascadeActors,
    CascadeBook,
    CascadeRun,
    LargeAccountRecord,
)
from delever.kernels.impact_law import (
    add_volume,
    decay_memory,
    depth_eth,
    ewma_variance,
    impact_fraction,
)
from delever.kernels.liquidation import STATUS_LIQUIDATED, liquidate_one
from delever.kernels.records import ImpactLaw, LiquidationRules

# One path's market state (a small array the step functions share).
M_Q_PERM = 0  # ETH sold so far
M_Q_MEM = 1  # its decaying memory
M_VAR = 2  # EWMA of squared log returns of the mid, per day
M_PEAK = 3  # running peak of the mid
M_DEPTH = 4  # depth V of this step
M_P = 5  # mid at the end of the last round
M_P0 = 6
M_PANIC_DONE = 7
N_M = 8


class ExactScratch(NamedTuple):
    """One path's state: the book's accounts, the large account, the actors' queues."""

    collateral_eth: FloatArray1D
    debt_usd: FloatArray1D
    flags: IntArray1D  # bit 0: liquidated once, bit 1: cautious borrower has acted
    whale: FloatArray1D  # [collateral ETH, debt USD]
    pending_eth: FloatArray1D  # liquidators' deferred sales, by step slot
    follow_eth: FloatArray1D  # the large account's sales, by step slot
    market: FloatArray1D  # M_* slots


def _mid_py(run: CascadeRun, e_t: float, m: FloatArray1D) -> float:
    out: float = e_t * (1.0 - impact_fraction(run.law, m[M_Q_PERM], m[M_Q_MEM], m[M_DEPTH]))
    return out


_mid = njit(cache=True)(_mid_py)


def _sell_py(run: CascadeRun, m: FloatArray1D, qty_eth: float) -> None:
    m[M_Q_PERM], m[M_Q_MEM] = add_volume(run.law, m[M_Q_PERM], m[M_Q_MEM], qty_eth)


_sell = njit(cache=True)(_sell_py)


def _call_py(run: CascadeRun, c_s: FloatArray1D, d_s: FloatArray1D, i: int, p: float,
             lt: float, bonus: float, o: FloatArray1D) -> float:
    """One call on account ``i`` at ``p``: update it and the totals; ETH to the liquidator
    (-1 when the call does not go through)."""
    status, repaid, seized, to_liq, fee, bad, _, _ = liquidate_one(
        run.rules, c_s[i], d_s[i], p, lt, bonus, run.actors.protocol_fee, math.inf)
    if status != STATUS_LIQUIDATED:
        return -1.0
    c_s[i] = max(c_s[i] - seized, 0.0)
    if bad > 0.0 and run.rules.write_off_bad_debt:
        d_s[i] = 0.0
        o[OUT_BAD_DEBT_USD] += bad
    else:
        d_s[i] = max(d_s[i] - repaid, 0.0) if c_s[i] > 0.0 or bad > 0.0 else 0.0
    o[OUT_SEIZED_ETH] += seized
    o[OUT_TO_LIQUIDATOR_ETH] += to_liq
    o[OUT_PROTOCOL_FEE_ETH] += fee
    o[OUT_DEBT_REPAID_USD] += repaid
    return float(to_liq)


_call = njit(cache=True)(_call_py)


def _cautious_py(run: CascadeRun, sc: ExactScratch, i: int, p: float, lt: float,
                 o: FloatArray1D) -> float:
    """Borrower ``i`` restores its HF to ``target_hf`` at ``p``; returns the ETH it sold."""
    c = sc.collateral_eth[i]
    d = sc.debt_usd[i]
    target = run.actors.target_hf
    if run.actors.add_collateral:
        extra = target * d / (p * lt) - c
        if extra > 0.0:
            sc.collateral_eth[i] = c + extra
            o[OUT_CAUTIOUS_ADDED_ETH] += extra
        return 0.0
    sold = (target * d - c * p * lt) / (p * (target - lt))
    if sold <= 0.0:
        return 0.0
    if sold * p >= d:
        sold = d / p
        sc.debt_usd[i] = 0.0
    else:
        sc.debt_usd[i] = d - sold * p
    sold = min(sold, c)
    sc.collateral_eth[i] = c - sold
    o[OUT_CAUTIOUS_SOLD_ETH] += sold
    return float(sold)


_cautious = njit(cache=True)(_cautious_py)


def _whale_round_py(run: CascadeRun, sc: ExactScratch, t: int, p: float, o: FloatArray1D
                    ) -> float:
    """The large account's call of this round; ETH to the liquidator (-1: none)."""
    w = sc.whale
    lt = run.whale.liquidation_threshold
    if not (w[1] > 0.0 and w[0] * p * lt < w[1]):
        return -1.0
    seized_before = o[OUT_SEIZED_ETH]
    bad_before = o[OUT_BAD_DEBT_USD]
    got = _call(run, w[0:1], w[1:2], 0, p, lt, run.whale.liquidation_bonus, o)
    if got >= 0.0:
        o[OUT_CALLS] += 1.0
        if o[OUT_WHALE_FIRST_STEP] < 0.0:
            o[OUT_WHALE_FIRST_STEP] = float(t)
        o[OUT_WHALE_SEIZED_ETH] += o[OUT_SEIZED_ETH] - seized_before
        o[OUT_WHALE_BAD_DEBT_USD] += o[OUT_BAD_DEBT_USD] - bad_before
    return float(got)


_whale_round = njit(cache=True)(_whale_round_py)


def _round_py(run: CascadeRun, sc: ExactScratch, p: float, o: FloatArray1D
              ) -> tuple[bool, float, float]:
    """Every book account at ``p``: ``(anything happened, ETH to liquidators, ETH sold by
    cautious borrowers)``."""
    book = run.book
    active = False
    received = 0.0
    sold = 0.0
    for i in range(book.collateral_eth.shape[0]):
        lt = book.liquidation_threshold[i]
        value = sc.collateral_eth[i] * p * lt
        d = sc.debt_usd[i]
        if not value < book.watch_hf[i] * d:
            continue
        if value < d:
            got = _call(run, sc.collateral_eth, sc.debt_usd, i, p, lt,
                        book.liquidation_bonus[i], o)
            if got >= 0.0:
                active = True
                o[OUT_CALLS] += 1.0
                received += got
                if sc.flags[i] & 1 == 0:
                    sc.flags[i] |= 3  # liquidated first: a cautious one missed its alert
                    o[OUT_ACCOUNTS_LIQUIDATED] += 1.0
        elif sc.flags[i] & 2 == 0:
            sc.flags[i] |= 2
            active = True
            sold += _cautious(run, sc, i, p, lt, o)
    return active, received, sold


_round = njit(cache=True)(_round_py)


def _open_step_py(run: CascadeRun, sc: ExactScratch, t: int, e_t: float, o: FloatArray1D
                  ) -> float:
    """Sales decided at the end of the last step; returns the large account's sale."""
    a = run.actors
    m = sc.market
    m[M_Q_MEM] = decay_memory(run.law, m[M_Q_MEM], a.step_s)
    drawdown = 1.0 - m[M_P] / m[M_PEAK] if m[M_PEAK] > 0.0 else 0.0
    m[M_DEPTH] = depth_eth(run.law, math.sqrt(m[M_VAR]), drawdown)
    slot = t % sc.pending_eth.shape[0]
    q_liq = sc.pending_eth[slot]
    sc.pending_eth[slot] = 0.0
    fslot = t % sc.follow_eth.shape[0]
    q_other = a.follower_kappa * sc.follow_eth[fslot]
    sc.follow_eth[fslot] = 0.0
    if m[M_PANIC_DONE] == 0.0 and m[M_P] <= m[M_P0] * (1.0 - a.panic_drawdown):
        q_other += a.panic_eth
        m[M_PANIC_DONE] = 1.0
    whale_sold = 0.0
    w = sc.whale
    rate = run.whale.sell_eth_per_step
    if rate > 0.0 and w[0] > 0.0:
        p_open = _mid(run, e_t, m)
        sale = min(rate, w[0])
        if w[1] > 0.0 and p_open > 0.0:
            sale = min(sale, w[1] / p_open)
            w[0] -= sale
            w[1] = max(w[1] - sale * p_open, 0.0)
            whale_sold = sale
            q_other += sale
    o[OUT_LIQUIDATOR_SOLD_ETH] += q_liq
    o[OUT_OTHER_SOLD_ETH] += q_other
    _sell(run, m, q_liq + q_other)
    return whale_sold


_open_step = njit(cache=True)(_open_step_py)


def _step_py(run: CascadeRun, sc: ExactScratch, t: int, e_t: float, o: FloatArray1D) -> float:
    """One step: the opening sales, then rounds until none; returns the mid at its end."""
    a = run.actors
    m = sc.market
    k_slots = sc.pending_eth.shape[0]
    phi_now = a.phi if a.k_defer > 0 else 1.0
    whale_sold = _open_step(run, sc, t, e_t, o)
    p = _mid(run, e_t, m)
    rounds = 0
    while p > 0.0:
        if rounds >= a.max_rounds:
            o[OUT_CAPPED_STEPS] += 1.0
            break
        whale_got = _whale_round(run, sc, t, p, o)
        active, received, sold = _round(run, sc, p, o)
        if whale_got >= 0.0:
            active = True
            received += whale_got
            whale_sold += whale_got
        if not active:
            break
        rounds += 1
        now = received * phi_now
        later = (received - now) / k_slots
        if later > 0.0:
            for s in range(k_slots):
                sc.pending_eth[s] += later
        o[OUT_LIQUIDATOR_SOLD_ETH] += now
        o[OUT_OTHER_SOLD_ETH] += sold
        _sell(run, m, now + sold)
        p = _mid(run, e_t, m)
    o[OUT_ROUNDS] += rounds
    sc.follow_eth[t % sc.follow_eth.shape[0]] = whale_sold
    return float(p)


_step = njit(cache=True)(_step_py)


def _path_py(run: CascadeRun, exo: FloatArray1D, sc: ExactScratch, o: FloatArray1D,
             prices: FloatArray1D) -> None:
    """One path from the book's start; ``prices`` empty or one per step."""
    book = run.book
    sc.collateral_eth[:] = book.collateral_eth
    sc.debt_usd[:] = book.debt_usd
    sc.flags[:] = 0
    sc.whale[0] = run.whale.collateral_eth
    sc.whale[1] = run.whale.debt_usd
    sc.pending_eth[:] = 0.0
    sc.follow_eth[:] = 0.0
    m = sc.market
    m[:] = 0.0
    p = exo[0]
    m[M_P] = m[M_P0] = m[M_PEAK] = p
    m[M_PANIC_DONE] = 1.0 if run.actors.panic_eth <= 0.0 else 0.0
    o[:] = 0.0
    o[OUT_WHALE_FIRST_STEP] = -1.0
    o[OUT_MIN_PRICE] = o[OUT_MIN_EXOGENOUS] = p
    record = prices.shape[0] == exo.shape[0]
    if record:
        prices[0] = p
    for t in range(1, exo.shape[0]):
        o[OUT_MIN_EXOGENOUS] = min(o[OUT_MIN_EXOGENOUS], exo[t])
        p_last = m[M_P]
        p = _step(run, sc, t, exo[t], o)
        m[M_P] = p
        if p > 0.0 and p_last > 0.0:
            m[M_VAR] = ewma_variance(run.law, m[M_VAR], math.log(p / p_last),
                                     run.actors.step_s)
        m[M_PEAK] = max(m[M_PEAK], p)
        o[OUT_MIN_PRICE] = min(o[OUT_MIN_PRICE], p)
        if record:
            prices[t] = p
    o[OUT_FINAL_PRICE] = p
    o[OUT_HELD_ETH] = np.sum(sc.pending_eth)
    o[OUT_DEBT_LEFT_USD] = np.sum(sc.debt_usd) + sc.whale[1]
    o[OUT_COLLATERAL_LEFT_ETH] = np.sum(sc.collateral_eth) + sc.whale[0]


_path = njit(cache=True)(_path_py)


def _one_path_py(path: int, exogenous_usd: FloatArray2D, columns: FloatArray2D,
                 rules: LiquidationRules, law: ImpactLaw, actors: CascadeActors,
                 whale: LargeAccountRecord, out: FloatArray2D, prices_out: FloatArray2D
                 ) -> None:
    """Path ``path`` of the run whose book is ``columns`` (see :func:`book_columns`)."""
    n = columns.shape[1]
    book = CascadeBook(columns[0], columns[1], columns[2], columns[3], columns[4])
    run = CascadeRun(book, rules, law, actors, whale)
    sc = ExactScratch(np.empty(n), np.empty(n), np.zeros(n, np.int64), np.zeros(2),
                      np.zeros(max(run.actors.k_defer, 1)),
                      np.zeros(max(run.actors.follower_lag, 1)), np.zeros(N_M))
    record = prices_out.shape[0] == exogenous_usd.shape[0]
    prices = prices_out[path] if record else np.empty(0)
    _path(run, exogenous_usd[path], sc, out[path], prices)


_one_path = njit(cache=True)(_one_path_py)


def simulate_exact_py(exogenous_usd: FloatArray2D, columns: FloatArray2D,
                      rules: LiquidationRules, law: ImpactLaw, actors: CascadeActors,
                      whale: LargeAccountRecord, out: FloatArray2D, prices_out: FloatArray2D
                      ) -> None:
    """Run the exact engine on every path: ``out[path, OUT_*]`` and, when ``prices_out`` has
    one row per path, the mid at the end of each step (column 0: the start price).

    ``columns`` is the book as :func:`~delever.kernels.cascade.book_columns` gives it (a
    parallel loop cannot take a record of arrays; the records of numbers are arguments).
    """
    for path in prange(exogenous_usd.shape[0]):
        _one_path(np.int64(path), exogenous_usd, columns, rules, law, actors, whale, out,
                  prices_out)


simulate_exact = njit(cache=True, parallel=True, error_model="numpy")(simulate_exact_py)

__all__ = ["ExactScratch", "simulate_exact", "simulate_exact_py"]

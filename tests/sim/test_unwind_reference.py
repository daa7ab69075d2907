"""The staged unwind kernel against a verbatim copy of the kernel it replaced.

``_old_unwind_steps_py`` below is the monolithic kernel as it was before the stages and the
records (square-root law written out, Aave v3.6's ``liquidation_call_py``), run as plain
Python. With the fixed-depth square-root law and Aave v3.6's rules, the staged kernel must
give the same numbers to rounding (the transient memory now decays by
``exp(-decay_per_s * dt / 0.5)`` instead of ``decay**2``, and ``x**0.5`` replaces ``sqrt``)
on rule specs with liquidations, followers, the book ladder and tracked reserves.
"""
# mypy: ignore-errors

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest

from delever._typing import FloatArray1D, FloatArray2D
from delever.book import build_ladder, synthetic_book
from delever.kernels import unwind as K  # noqa: N812
from delever.kernels.liquidation import STATUS_LIQUIDATED, liquidate_one_py
from delever.kernels.oracle import oracle_step_py as oracle_step
from delever.kernels.records import LiquidationRules
from delever.market import SquareRootImpact, gbm_paths
from delever.protocol import RESERVES, ReserveState
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    BookSales,
    LendingParams,
    OracleParams,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    _Run,
)
from delever.strategy import (
    TWAP,
    HFLadder,
    Hold,
    RuleSpec,
    SellIntoRebounds,
    StopLoss,
    Strategy,
    StrategyContext,
)

# --- the old kernel, verbatim (plain Python) ---------------------------------------------------

SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0  # Aave's MathUtils.SECONDS_PER_YEAR

# Rule codes of the strategy spec.
RULE_HOLD = 0
RULE_SCHEDULE = 1  # params[0] unused; schedule[k-1] = fraction of the initial ETH for step k
RULE_HF_LADDER = 2  # params: trigger HF, target HF
RULE_STOP_LOSS = 3  # params: price level (USD); sell everything from the first mid <= level
RULE_REBOUND = 4  # params: rebound fraction, batch fraction of the initial ETH
RULE_CUSTOM = 5  # this step's ETH to sell is want_eth[path]

N_PARAMS = 4

# Columns of the per-path state array.
S_QALL = 0  # ETH sold into the market by the model's sellers since the start (permanent)
S_QMEM = 1  # decaying memory of that volume (transient), ETH
S_ORACLE = 2  # oracle answer, USD
S_SINCE = 3  # seconds since the oracle's last update
S_LOW = 4  # running low of the mid (rebound rule's reference)
S_CASH = 5  # owner's USD cash: proceeds - repayments
S_SOLD = 6  # ETH sold (filled) by the owner
S_PROCEEDS = 7  # USD proceeds of the owner's sales
S_MARKVAL = 8  # sum of pre-trade mid x ETH filled (owner), USD
S_REPAID = 9  # debt repaid by the owner, USD
S_SEIZED = 10  # ETH taken by liquidations (to the liquidator + protocol fee)
S_LIQ_REPAID = 11  # debt repaid by liquidators, USD
S_BAD_DEBT = 12  # debt written off, USD
S_ACCRUED = 13  # interest accrued on the owner's debt, USD
S_LIQ_INV = 14  # the liquidators' unsold ETH
S_LIQ_SOLD = 15  # ETH sold by liquidators
S_FLAG = 16  # stop-loss triggered (1.0)
S_FIRST_LIQ = 17  # first step with a liquidation, -1 if none
S_D_SUP = 18  # debt reserve: total supplied, USD
S_D_BOR = 19  # debt reserve: total borrowed, USD
S_W_SUP = 20  # WETH reserve: total supplied, ETH (inf: not tracked)
S_W_BOR = 21  # WETH reserve: total borrowed, ETH
S_N_LIQ = 22  # number of liquidation calls
S_FEE_ETH = 23  # protocol fee ETH (part of S_SEIZED)
S_UNFILLED = 24  # largest backlog: most ETH wanted sold in one step and not sold (<= held)
S_BOOK_NEXT = 25  # index of the book's next untriggered rung
S_BOOK_SOLD = 26  # ETH sold by the liquidators of the other borrowers' book
S_FOLLOW_SOLD = 27  # ETH sold by followers
N_STATE = 28


def _old_rate_py(borrowed: float, supplied: float, curve: FloatArray1D) -> float:
    """Two-slope borrow rate at ``U = borrowed / supplied``; ``curve = (Uopt, base, s1, s2)``.

    ``DefaultReserveInterestRateStrategyV2.calculateInterestRates`` (as
    :func:`delever.protocol.borrow_rate`); U is clipped to [0, 1].
    """
    u = borrowed / supplied if supplied > 0.0 else 0.0
    u = min(max(u, 0.0), 1.0)
    uopt = curve[0]
    if u > uopt:
        return float(curve[1] + curve[2] + curve[3] * (u - uopt) / (1.0 - uopt))
    return float(curve[1] + curve[2] * u / uopt)


rate = _old_rate_py


def _old_compounded_py(r: float, dt_s: float) -> float:
    """``1 + x + x^2/2 + x^3/6``, ``x = r dt / year``.

    ``MathUtils.calculateCompoundedInterest``, as ``protocol.compounded_interest_factor``.
    """
    x = r * dt_s / SECONDS_PER_YEAR
    return 1.0 + x + x * x / 2.0 + x * x * x / 6.0


compounded = _old_compounded_py

_AAVE_V36 = LiquidationRules(0.5, 0.95, 2_000.0, 1_000.0, True)  # the old kernel's rules


def _liq_call(c: float, d: float, p: float, lt: float, bonus: float, fee: float,
              cover: float, *outs: Any) -> None:
    """The old kernel's one-account ``liquidation_call_py`` (Aave v3.6), written into
    one-element ``outs`` as it was."""
    status, *values = liquidate_one_py(_AAVE_V36, c, d, p, lt, bonus, fee, cover)
    for out, value in zip(outs[:7], values, strict=True):
        out[0] = value
    outs[7][0] = status


def _old_impact_fraction_py(q_all: float, q_mem: float, y_sigma: float, adv: float,
                       perm: float) -> float:
    """``I = Y sigma (perm sqrt(Q_all / V) + (1 - perm) sqrt(Q_mem / V))``, at most 1."""
    if y_sigma <= 0.0:
        return 0.0
    out = y_sigma * (perm * math.sqrt(q_all / adv) + (1.0 - perm) * math.sqrt(q_mem / adv))
    return out if out < 1.0 else 1.0


impact_fraction = _old_impact_fraction_py


def _area_py(a: float, q: float) -> float:
    """``2/3 ((a + q)^1.5 - a^1.5)``: the integral of ``sqrt(a + x)`` over ``[0, q]``."""
    return (2.0 / 3.0) * ((a + q) * math.sqrt(a + q) - a * math.sqrt(a))


_area = _area_py


def _mid_py(st: FloatArray2D, i: int, exo: float, y_sigma: float, adv: float,
            perm: float) -> float:
    fraction: float = impact_fraction(st[i, S_QALL], st[i, S_QMEM], y_sigma, adv, perm)
    return exo * (1.0 - fraction)


_mid = _mid_py


def _sell_py(
    st: FloatArray2D, i: int, q: float, exo: float, y_sigma: float, adv: float, perm: float,
    decay: float,
) -> tuple[float, float, float]:
    """Sell ``q`` ETH along the metaorder curve; update the volumes. Returns filled, USD, mid."""
    q_all = st[i, S_QALL]
    q_mem = st[i, S_QMEM]
    m = exo * (1.0 - impact_fraction(q_all, q_mem, y_sigma, adv, perm))
    if q <= 0.0:
        return 0.0, 0.0, m
    filled = q
    if y_sigma > 0.0:

        def raw(x: float) -> float:
            return y_sigma * (perm * math.sqrt((q_all + x) / adv)
                              + (1.0 - perm) * math.sqrt((q_mem + x) / adv))

        if raw(q) > 1.0:
            # capacity: the marginal price reaches zero at I = 1 (bisection, monotone in x)
            lo, hi = 0.0, q
            for _ in range(80):
                mid_x = 0.5 * (lo + hi)
                if raw(mid_x) > 1.0:
                    hi = mid_x
                else:
                    lo = mid_x
            filled = lo
        cost = y_sigma * (perm * _area(q_all, filled)
                          + (1.0 - perm) * _area(q_mem, filled)) / math.sqrt(adv)
    else:
        cost = 0.0
    proceeds = exo * (filled - cost)
    st[i, S_QALL] = q_all + filled
    st[i, S_QMEM] = q_mem + filled if decay > 0.0 else 0.0
    return filled, proceeds, m


_sell = _sell_py


def _hf_min_py(coll: FloatArray2D, debt: FloatArray2D, lt: FloatArray1D, i: int, p: float) -> float:
    out = math.inf
    for a in range(coll.shape[1]):
        if debt[i, a] > 0.0:
            hf = coll[i, a] * p * lt[a] / debt[i, a]
            out = min(out, hf)
    return out


_hf_min = _hf_min_py


def _old_unwind_init_py(
    exo: FloatArray2D,
    coll0: FloatArray1D,
    debt0: FloatArray1D,
    lt: FloatArray1D,
    reserves0: FloatArray1D,
    st: FloatArray2D,
    coll: FloatArray2D,
    debt: FloatArray2D,
    out_mid: FloatArray2D,
    out_oracle: FloatArray2D,
    out_hf: FloatArray2D,
    out_sold: FloatArray2D,
    out_seized: FloatArray2D,
    out_debt: FloatArray2D,
    out_cash: FloatArray2D,
) -> None:
    """Start every path: the position, a fresh market and oracle at ``exo[:, 0]``, the reserves
    ``reserves0 = (debt supplied, debt borrowed, WETH supplied, WETH borrowed)``; record step 0."""
    n_paths = exo.shape[0]
    for i in range(n_paths):
        for f in range(N_STATE):
            st[i, f] = 0.0
        p0 = exo[i, 0]
        st[i, S_ORACLE] = p0
        st[i, S_LOW] = p0
        st[i, S_FIRST_LIQ] = -1.0
        st[i, S_D_SUP] = reserves0[0]
        st[i, S_D_BOR] = reserves0[1]
        st[i, S_W_SUP] = reserves0[2]
        st[i, S_W_BOR] = reserves0[3]
        total_debt = 0.0
        for a in range(coll0.shape[0]):
            coll[i, a] = coll0[a]
            debt[i, a] = debt0[a]
            total_debt += debt0[a]
        out_mid[i, 0] = p0
        out_oracle[i, 0] = p0
        out_hf[i, 0] = _hf_min(coll, debt, lt, i, p0)
        out_sold[i, 0] = 0.0
        out_seized[i, 0] = 0.0
        out_debt[i, 0] = total_debt
        out_cash[i, 0] = 0.0


_old_unwind_init = _old_unwind_init_py


def _old_unwind_steps_py(
    exo: FloatArray2D,
    lt: FloatArray1D,
    bonus: FloatArray1D,
    fee: FloatArray1D,
    rule: int,
    params: FloatArray1D,
    schedule_cum: FloatArray1D,
    split: FloatArray1D,
    want_eth: FloatArray1D,
    eth0: float,
    k_start: int,
    k_stop: int,
    y_sigma: float,
    adv_eth: float,
    perm: float,
    decay: float,
    step_s: float,
    heartbeat_s: float,
    deviation: float,
    curve_debt: FloatArray1D,
    curve_weth: FloatArray1D,
    liq_sell_frac: float,
    max_rounds: int,
    repay_with_collateral: int,
    floor_hf: float,
    book_trigger_usd: FloatArray1D,
    book_value_usd: FloatArray1D,
    follow_kappa: float,
    follow_lag: int,
    st: FloatArray2D,
    coll: FloatArray2D,
    debt: FloatArray2D,
    out_mid: FloatArray2D,
    out_oracle: FloatArray2D,
    out_hf: FloatArray2D,
    out_sold: FloatArray2D,
    out_seized: FloatArray2D,
    out_debt: FloatArray2D,
    out_cash: FloatArray2D,
) -> None:
    """Advance every path through steps ``k_start .. k_stop - 1`` (see the module docstring).

    ``schedule_cum[k - 1]`` is the cumulative fraction of ``eth0`` the schedule rule wants sold
    by the end of step ``k``; ``params`` holds the rule's numbers (``RULE_*``). ``split``
    (n_accounts,) fixed shares of every sale per account (e.g. a replay's stated split), or
    empty: in proportion to the collateral held (the HF ladder sizes each account itself).
    ``book_trigger_usd`` / ``book_value_usd`` (n_rungs,): the other borrowers' ladder, triggers
    descending, USD value each rung's liquidator sells (0 rungs: no book); ``follow_kappa``
    (>= 0) and ``follow_lag`` (>= 1 steps): the followers.
    """
    n_paths = exo.shape[0]
    n_acc = coll.shape[1]
    n_rungs = book_trigger_usd.shape[0]
    lag = follow_lag if follow_lag > 0 else 1
    floor = floor_hf if floor_hf > 1.0 else 1.0
    for i in range(n_paths):
        want = np.zeros(n_acc)
        d_o = np.empty(1)
        s_o = np.empty(1)
        tl_o = np.empty(1)
        f_o = np.empty(1)
        b_o = np.empty(1)
        cf_o = np.empty(1)
        h_o = np.empty(1)
        stat = np.empty(1, dtype=np.int64)
        for k in range(k_start, k_stop):
            x_exo = exo[i, k]
            # 1. interest over the step, at the rates set by the last action
            r_d = rate(st[i, S_D_BOR], st[i, S_D_SUP], curve_debt)
            g_d = compounded(r_d, step_s)
            accrued = 0.0
            for a in range(n_acc):
                inc = debt[i, a] * (g_d - 1.0)
                debt[i, a] += inc
                accrued += inc
            st[i, S_ACCRUED] += accrued
            reserve_interest = st[i, S_D_BOR] * (g_d - 1.0)
            st[i, S_D_BOR] += reserve_interest
            st[i, S_D_SUP] += reserve_interest
            if math.isfinite(st[i, S_W_SUP]):
                g_w = compounded(rate(st[i, S_W_BOR], st[i, S_W_SUP], curve_weth), step_s)
                w_int = st[i, S_W_BOR] * (g_w - 1.0)
                st[i, S_W_BOR] += w_int
                st[i, S_W_SUP] += w_int
            # 2. exogenous move; transient impact decays
            st[i, S_QMEM] *= decay * decay
            mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
            if mid < st[i, S_LOW]:
                st[i, S_LOW] = mid
            # 3. followers copy the owner's sales and seizures of lag steps ago
            if follow_kappa > 0.0 and k - lag >= 1:
                q_fol = follow_kappa * (out_sold[i, k - lag] + out_seized[i, k - lag])
                if q_fol > 0.0:
                    q_f, _usd, _m = _sell(st, i, q_fol, x_exo, y_sigma, adv_eth, perm, decay)
                    st[i, S_FOLLOW_SOLD] += q_f
                    mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
                    if mid < st[i, S_LOW]:
                        st[i, S_LOW] = mid
            # 4. oracle
            ans, since = oracle_step(st[i, S_ORACLE], st[i, S_SINCE], mid, step_s, heartbeat_s,
                                     deviation)
            st[i, S_ORACLE] = ans
            st[i, S_SINCE] = since
            p_o = ans
            # 5. the owner's decision: desired ETH per account
            held = 0.0
            for a in range(n_acc):
                want[a] = 0.0
                held += coll[i, a]
            total_want = 0.0
            if rule == RULE_SCHEDULE:
                total_want = schedule_cum[k - 1] * eth0 - st[i, S_SOLD]
            elif rule == RULE_STOP_LOSS:
                if mid <= params[0]:
                    st[i, S_FLAG] = 1.0
                if st[i, S_FLAG] > 0.0:
                    total_want = held
            elif rule == RULE_REBOUND:
                if held > 0.0 and mid >= st[i, S_LOW] * (1.0 + params[0]):
                    total_want = params[1] * eth0
                    st[i, S_LOW] = mid  # the next batch needs a new rebound from here
            elif rule == RULE_CUSTOM:
                total_want = want_eth[i]
            if rule == RULE_HF_LADDER:
                trigger = params[0]
                target = params[1]
                # closed form per account: HF after selling x at fill m (1 - delta) = target
                #   x = (H d - c p LT) / (H m (1 - delta) - p LT); delta by fixed point
                delta = 0.0
                for _ in range(6):
                    tot = 0.0
                    for a in range(n_acc):
                        d = debt[i, a]
                        c = coll[i, a]
                        want[a] = 0.0
                        if d <= 0.0 or c <= 0.0:
                            continue
                        hf = c * p_o * lt[a] / d
                        if hf >= trigger:
                            continue
                        den = target * mid * (1.0 - delta) - p_o * lt[a]
                        x = (target * d - c * p_o * lt[a]) / den if den > 0.0 else c
                        want[a] = min(max(x, 0.0), c)
                        tot += want[a]
                    delta = (2.0 / 3.0) * y_sigma * math.sqrt(tot / adv_eth)
            elif total_want > 0.0 and held > 0.0:
                for a in range(n_acc):
                    if split.shape[0] == n_acc:
                        want[a] = total_want * split[a]
                    else:
                        want[a] = total_want * coll[i, a] / held
            # caps: collateral held, the withdrawal rule, the WETH reserve's liquidity
            tot = 0.0
            desired = 0.0  # what the rule wants sold now, at most what is held
            for a in range(n_acc):
                x = min(want[a], coll[i, a])
                desired += max(x, 0.0)
                if repay_with_collateral == 0 and debt[i, a] > 0.0:
                    # worthless collateral (a mid driven to 0 at the law's capacity) frees none
                    cap = coll[i, a] - floor * debt[i, a] / (p_o * lt[a]) if p_o > 0.0 else 0.0
                    x = min(x, max(cap, 0.0))
                want[a] = max(x, 0.0)
                tot += want[a]
            avail = st[i, S_W_SUP] - st[i, S_W_BOR]
            if tot > avail:
                scale = max(avail, 0.0) / tot
                for a in range(n_acc):
                    want[a] *= scale
                tot = max(avail, 0.0)
            filled, proceeds, m_before = _sell(st, i, tot, x_exo, y_sigma, adv_eth, perm, decay)
            # a backlog is wanted again next step, so the largest one (not a sum) is what the
            # caps held back; it never exceeds the ETH held
            backlog = desired - filled
            if backlog > st[i, S_UNFILLED]:
                st[i, S_UNFILLED] = backlog
            if filled > 0.0:
                share = filled / tot
                st[i, S_SOLD] += filled
                st[i, S_PROCEEDS] += proceeds
                st[i, S_MARKVAL] += m_before * filled
                if math.isfinite(st[i, S_W_SUP]):
                    st[i, S_W_SUP] -= filled
                cash = st[i, S_CASH] + proceeds
                repaid = 0.0
                for a in range(n_acc):
                    x = want[a] * share
                    coll[i, a] -= x
                    if coll[i, a] < 0.0:
                        coll[i, a] = 0.0
                    r = min(proceeds * x / filled, debt[i, a])
                    debt[i, a] -= r
                    repaid += r
                    cash -= r
                for a in range(n_acc):  # the excess repays the other accounts
                    r = min(cash, debt[i, a])
                    if r > 0.0:
                        debt[i, a] -= r
                        repaid += r
                        cash -= r
                st[i, S_CASH] = cash
                st[i, S_REPAID] += repaid
                st[i, S_D_BOR] = max(st[i, S_D_BOR] - repaid, 0.0)
            # 6. the oracle may react to the sale (deviation rule only)
            mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
            ans, since = oracle_step(st[i, S_ORACLE], st[i, S_SINCE], mid, 0.0, heartbeat_s,
                                     deviation)
            st[i, S_ORACLE] = ans
            st[i, S_SINCE] = since
            # 7. liquidations at the oracle price; the liquidator sells into the same market
            seized_step = 0.0
            hf_trigger = math.inf  # lowest HF at the oracle that set off a call this step
            for rnd in range(max_rounds):
                p_o = st[i, S_ORACLE]
                any_call = False
                for a in range(n_acc):
                    d = debt[i, a]
                    c = coll[i, a]
                    # at an oracle price of 0 no call can value the collateral: skip it
                    if not (d > 0.0 and p_o > 0.0 and c * p_o * lt[a] < d):
                        continue
                    _liq_call(c, d, p_o, lt[a], bonus[a], fee[a], math.inf, d_o, s_o, tl_o,
                              f_o, b_o, cf_o, h_o, stat)
                    if stat[0] != STATUS_LIQUIDATED:
                        continue
                    any_call = True
                    hf_trigger = min(hf_trigger, c * p_o * lt[a] / d)
                    coll[i, a] = c - s_o[0]
                    if coll[i, a] < 0.0:
                        coll[i, a] = 0.0
                    debt[i, a] = d - d_o[0] - b_o[0]
                    if b_o[0] > 0.0 or debt[i, a] < 0.0:
                        debt[i, a] = 0.0
                    st[i, S_SEIZED] += s_o[0]
                    st[i, S_FEE_ETH] += f_o[0]
                    st[i, S_LIQ_REPAID] += d_o[0]
                    st[i, S_BAD_DEBT] += b_o[0]
                    st[i, S_N_LIQ] += 1.0
                    st[i, S_LIQ_INV] += tl_o[0]
                    seized_step += s_o[0]
                    st[i, S_D_BOR] = max(st[i, S_D_BOR] - d_o[0] - b_o[0], 0.0)
                    if math.isfinite(st[i, S_W_SUP]):
                        # the liquidator takes the underlying; the fee stays supplied (aTokens)
                        st[i, S_W_SUP] = max(st[i, S_W_SUP] - tl_o[0], st[i, S_W_BOR])
                    if st[i, S_FIRST_LIQ] < 0.0:
                        st[i, S_FIRST_LIQ] = float(k)
                inv = st[i, S_LIQ_INV]
                if inv > 0.0 and liq_sell_frac > 0.0 and (any_call or rnd == 0):
                    q_liq = inv * liq_sell_frac
                    q_f, _usd, _m = _sell(st, i, q_liq, x_exo, y_sigma, adv_eth, perm, decay)
                    st[i, S_LIQ_INV] = inv - q_f
                    st[i, S_LIQ_SOLD] += q_f
                    mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
                    ans, since = oracle_step(st[i, S_ORACLE], st[i, S_SINCE], mid, 0.0,
                                             heartbeat_s, deviation)
                    st[i, S_ORACLE] = ans
                    st[i, S_SINCE] = since
                if n_rungs > 0:
                    # the book: every rung the mid has reached, its ETH at value / mid
                    j = int(st[i, S_BOOK_NEXT])
                    mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
                    book_any = False
                    while j < n_rungs and book_trigger_usd[j] >= mid and mid > 0.0:
                        usd = 0.0
                        while j < n_rungs and book_trigger_usd[j] >= mid:
                            usd += book_value_usd[j]
                            j += 1
                        q_f, _usd, _m = _sell(st, i, usd / mid, x_exo, y_sigma, adv_eth, perm,
                                              decay)
                        st[i, S_BOOK_SOLD] += q_f
                        book_any = True
                        mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
                    st[i, S_BOOK_NEXT] = float(j)
                    if book_any:
                        ans, since = oracle_step(st[i, S_ORACLE], st[i, S_SINCE], mid, 0.0,
                                                 heartbeat_s, deviation)
                        st[i, S_ORACLE] = ans
                        st[i, S_SINCE] = since
                        any_call = True
                if not any_call:
                    break
            # 8. record
            mid = _mid(st, i, x_exo, y_sigma, adv_eth, perm)
            total_debt = 0.0
            for a in range(n_acc):
                total_debt += debt[i, a]
            out_mid[i, k] = mid
            out_oracle[i, k] = st[i, S_ORACLE]
            # the record keeps the HF that triggered a liquidation (before the call), so a
            # liquidated path always shows a health factor below 1
            out_hf[i, k] = min(_hf_min(coll, debt, lt, i, st[i, S_ORACLE]), hf_trigger)
            out_sold[i, k] = filled
            out_seized[i, k] = seized_step
            out_debt[i, k] = total_debt
            out_cash[i, k] = st[i, S_CASH]




# --- the comparison ----------------------------------------------------------------------------

USDT_CURVE = RESERVES["USDT"].rate_curve_on(date(2026, 2, 6))
WETH_CURVE = RESERVES["WETH"].rate_curve_on(date(2026, 2, 6))
N_OLD_STATE = 28  # the old kernel's state columns (the new kernel appends S_VAR, S_PEAK, S_DEPTH)


def _position() -> UnwindPosition:
    coll = np.array([40_000.0, 234_277.0, 121_723.0])
    debt = np.array([50_098_800.0, 303_341_860.0, 172_559_340.0])
    return UnwindPosition(("A", "B", "C"), coll, debt, np.full(3, 0.83), np.full(3, 0.05),
                          np.full(3, 0.10), 3_180.0)


def _paths(seed: int) -> np.ndarray:
    """Four GBM paths and a crash through the liquidation band to bad debt, with a rebound."""
    gbm = gbm_paths(1_904.04, 4, 24, sigma_per_step=0.04, seed=seed)
    crash = 1_904.04 * np.concatenate([np.linspace(1.0, 0.55, 9), np.linspace(0.55, 0.35, 8),
                                       np.linspace(0.37, 0.5, 8)])
    return np.vstack([gbm, crash[None, :]])


def _run(strategy: Strategy | RuleSpec, market: UnwindMarket, *, weth: bool,
         oracle: OracleParams, config: SimConfig, seed: int) -> _Run:
    pos = _position()
    paths = _paths(seed)
    ctx = StrategyContext(n_steps=paths.shape[1] - 1, step_hours=config.step_hours,
                          initial_eth=pos.total_eth, initial_debt_usd=pos.total_debt_usd,
                          mark_price_usd=float(paths[0, 0]), sigma_daily=0.039,
                          adv_eth=501_029.0, impact_y=1.0)
    spec = strategy if isinstance(strategy, RuleSpec) else strategy.spec_or_custom(ctx)
    lending = LendingParams(ReserveState(5e9, 3.3e9), USDT_CURVE,
                            ReserveState(3e6, 2.6e6) if weth else None,
                            WETH_CURVE if weth else None)
    return _Run(pos, spec, Hold(), ctx, market, lending, oracle, config, lending.rules)


def _old(run: _Run, paths: np.ndarray, want: np.ndarray) -> dict[str, np.ndarray]:
    spec = run.kernel_spec(paths.shape[1] - 1)
    acc, m, rule, cur, book = spec.accounts, spec.market, spec.rule, spec.curves, spec.book
    n, n_cols = paths.shape
    st_ = np.empty((n, N_OLD_STATE))
    coll = np.empty((n, 3))
    debt = np.empty((n, 3))
    outs = [np.empty((n, n_cols)) for _ in range(7)]
    _old_unwind_init_py(paths, acc.collateral_eth.copy(), acc.debt_usd.copy(),
                        acc.liquidation_threshold.copy(), cur.reserves0, st_, coll, debt, *outs)
    law = spec.law
    decay = run.market.decay_per_step(run.config.step_hours)
    _old_unwind_steps_py(
        paths, acc.liquidation_threshold, acc.liquidation_bonus, acc.protocol_fee, rule.rule,
        rule.params, rule.schedule_cum, rule.split, want, rule.eth0, 1, n_cols, law.scale,
        law.adv_eth, law.permanent, decay, m.step_s, m.heartbeat_s, m.deviation,
        cur.debt_curve, cur.weth_curve, m.liq_sell_frac, m.max_rounds,
        int(rule.repay_with_collateral), rule.floor_hf, book.trigger_usd, book.value_usd,
        m.follow_kappa, m.follow_lag, st_, coll, debt, *outs)
    return {**dict(zip(K.UnwindOutputs._fields, outs, strict=True)), "state": st_,
            "coll": coll, "debt": debt}


def _new(run: _Run, paths: np.ndarray, want: np.ndarray) -> dict[str, np.ndarray]:
    spec = run.kernel_spec(paths.shape[1] - 1)
    state = K.new_state(paths.shape[0], 3)
    out = K.new_outputs(*paths.shape)
    state.want_eth[:] = want
    K.unwind_init(paths, spec, state, out)
    K.unwind_steps(paths, 1, paths.shape[1], spec, state, out)
    return {**out._asdict(), "state": state.st[:, :N_OLD_STATE], "coll": state.coll,
            "debt": state.debt}


def _max_rel(new: np.ndarray, ref: np.ndarray, floor: float) -> float:
    """Largest ``|new - ref| / max(|new|, |ref|, floor)`` (inf == inf counts as equal)."""
    same = new == ref
    scale = np.maximum(np.maximum(np.abs(new), np.abs(ref)), floor)
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf (same)
        return float(np.where(same, 0.0, np.abs(new - ref) / scale).max())


def _gaps(new: dict[str, np.ndarray], old: dict[str, np.ndarray], debt0_usd: float
          ) -> dict[str, float]:
    """Relative gaps per record and state column. Values under 1e-6 of the largest in their
    array are compared against that; cash (proceeds - repayments, both ~1e8 USD) against the
    position's debt, since it is a difference of large numbers."""
    out = {}
    for key, ref in old.items():
        cols = range(ref.shape[1]) if key == "state" else [None]
        for col in cols:
            r = ref[:, col] if col is not None else ref
            n = new[key][:, col] if col is not None else new[key]
            finite = np.abs(r[np.isfinite(r)])
            floor = 1e-6 * float(finite.max()) if finite.size else 0.0
            if key == "cash_usd" or col == K.S_CASH:
                floor = debt0_usd
            out[f"{key}[{col}]" if col is not None else key] = _max_rel(n, r, max(floor, 1e-300))
    return out


BOOK = BookSales.from_ladder(build_ladder(synthetic_book(100, 3e5, 1_904.04, seed=2)))
IMPACT = SquareRootImpact(0.039, 501_029.0, 1.0, 2 / 3)

CASES = {
    "ladder-weth-oracle": (HFLadder(1.3, 1.5), UnwindMarket(IMPACT, 2.0), True,
                           CHAINLINK_ETH_USD, SimConfig()),
    "twap-book-followers": (TWAP(n_batches=6), UnwindMarket(IMPACT, 0.0, BOOK, 0.7, 2), False,
                            CHAINLINK_ETH_USD, SimConfig(liquidator_sell_frac=0.5)),
    "hold-book-bad-debt": (Hold(), UnwindMarket(IMPACT, 6.0, BOOK, 0.5, 1), True,
                           OracleParams(), SimConfig()),
    "stop-loss": (StopLoss(drop_frac=0.1), UnwindMarket(IMPACT, 4.0), True, CHAINLINK_ETH_USD,
                  SimConfig(max_liquidation_rounds=2)),
    "rebound-flash-loan": (SellIntoRebounds(0.02, 0.1),
                           UnwindMarket(SquareRootImpact(0.039, 501_029.0, 1.0, 1.0), 1.0), True,
                           OracleParams(), SimConfig(repay_with_collateral=True)),
    "schedule-split": (RuleSpec(K.RULE_SCHEDULE, schedule_frac=tuple([0.05] * 12),
                                account_split=(0.2, 0.5, 0.3)),
                       UnwindMarket(IMPACT, 3.0, BOOK, 0.3, 3), True, CHAINLINK_ETH_USD,
                       SimConfig(liquidator_sell_frac=0.3)),
    "custom": (RuleSpec(K.RULE_CUSTOM), UnwindMarket(IMPACT, 2.0, BOOK, 0.2, 1), True,
               CHAINLINK_ETH_USD, SimConfig()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_staged_kernel_matches_the_old_kernel(case: str) -> None:
    strategy, market, weth, oracle, config = CASES[case]
    seed = 1 + list(CASES).index(case)
    run = _run(strategy, market, weth=weth, oracle=oracle, config=config, seed=seed)
    paths = _paths(seed)
    want = np.linspace(2_000.0, 30_000.0, paths.shape[0])  # RULE_CUSTOM's sale per step
    old = _old(run, paths, want)
    new = _new(run, paths, want)
    assert old["state"][:, K.S_N_LIQ].sum() > 0  # every case liquidates (the crash path)
    if market.book is not None:
        assert old["state"][:, K.S_BOOK_SOLD].sum() > 0
    if market.followers_kappa > 0:
        assert old["state"][:, K.S_FOLLOW_SOLD].sum() > 0
    gaps = _gaps(new, old, run.position.total_debt_usd)
    worst = max(gaps, key=gaps.__getitem__)
    assert gaps[worst] < 1e-12, (worst, gaps[worst])

"""The unwind time loop: one leveraged position over a batch of exogenous price paths.

Every path carries its own copy of the position (several single-collateral ETH /
stablecoin-debt accounts), its own market (permanent and transient impact of every sale in
the model: the owner's, liquidators', followers' and the other borrowers' liquidations), its
own oracle and its own reserve totals. Paths are independent, so the loop over paths is a
``prange`` and the result does not depend on the number of threads (no reductions across
paths, no random numbers: the exogenous paths are drawn beforehand by the wrapper).

A strategy reaches the kernel as a *rule spec*: a rule code (``RULE_*``), a parameter vector
and a per-step schedule. ``RULE_CUSTOM`` takes this step's desired sale from ``want_eth``
(one value per path), which is how a Python strategy drives the same step code one step at
a time (see :mod:`delever.sim.unwind`).

One step ``k`` of one path, in this order:

1. interest: every account's debt grows by ``1 + x + x^2/2 + x^3/6``, ``x = r * dt / year``,
   ``r`` the debt reserve's borrow rate at its utilization (Aave ``calculateCompoundedInterest``
   and the two-slope curve); the reserve's debt and supply grow by the same interest; the WETH
   reserve accrues at its own rate (the owner's collateral earns no supply interest here);
2. the exogenous move and the decay of the transient impact (its memory volume shrinks by
   ``decay**2`` so the transient impact shrinks by ``decay``): ``mid = exo[k] * (1 - I)``;
3. followers (``follow_kappa > 0``): they sell ``kappa * (sold[k - lag] + seized[k - lag])``,
   the owner's sales plus the collateral seized from it ``lag`` steps earlier (nothing while
   ``k - lag < 1``), into the same metaorder market; the mid and the running low follow;
4. the oracle: ``oracle_step`` (heartbeat and deviation) to the mid;
5. the owner's sale (rule spec), each account capped by the withdrawal rule (below), sold as
   one square-root-law metaorder; the proceeds repay each account's own debt, the excess goes
   to cash, and cash then repays the other accounts' debt;
6. the oracle again (deviation rule only: ``step_s = 0``), so it can react to the sale;
7. liquidation rounds: every account with HF < 1 at the oracle price gets
   ``liquidationCall`` with ``debtToCover = max`` (Aave v3.3+ rules,
   :func:`delever.kernels.aave.liquidation_call_py`); the liquidator sells ``liq_sell_frac``
   of its ETH inventory into the same market; the oracle re-checks; then the other
   borrowers' book (below) liquidates every rung the mid has reached, its liquidators sell,
   the oracle re-checks; repeat while a round liquidated someone (owner or book), at most
   ``max_rounds`` rounds;
8. the record.

The other borrowers' book arrives as a ladder of rungs (:mod:`delever.book.cascade`):
``book_trigger_usd`` (descending) and ``book_value_usd`` = the ETH the rung's liquidator
sells if the call executes at its trigger, times that trigger. Debt covered is fixed in USD
and Aave converts it at the execution price, so a rung executed at mid ``p`` sells
``value / p`` ETH. In a round, every not-yet-triggered rung with trigger >= mid is taken (a
pointer walk down the sorted rungs: O(rungs crossed)), their ETH is sold at once through the
same metaorder curve, the mid is recomputed, and this repeats until no new rung is crossed.
APPROXIMATION: rungs are triggered by the mid, not by the oracle (the book's accounts are
many and small; the oracle lags the mid by at most the deviation threshold), each rung is
triggered once (the ladder's later rungs stand for re-liquidation; a borrower already below
HF 0.95 in a gap is not closed 100% as Aave would), and the book's liquidations do not touch
the owner's reserve totals.

Impact: the square-root law of a *metaorder*, so that slicing a sale does not inflate it.
Every ETH sold into the market by the model's sellers (owner, its liquidators, followers and
the book's liquidators) adds to two
volumes: ``Q_all`` (all of it, kept: the permanent part) and ``Q_mem`` (decaying: the
transient part). The impact on the mid is
``I = Y sigma (perm sqrt(Q_all / V) + (1 - perm) sqrt(Q_mem / V))`` and ``mid = exo (1 - I)``.
A sale of ``q`` walks that curve: proceeds ``exo (q - Y sigma (perm F(Q_all, q) +
(1 - perm) F(Q_mem, q)))`` with ``F(a, q) = 2/3 ((a + q)^1.5 - a^1.5) / sqrt(V)``. One sale from
a fresh market fills at ``m (1 - 2/3 I)``, ``I = Y sigma sqrt(q / V)`` (Bouchaud, Bonart,
Donier & Gould 2018, ch. 12), as :class:`delever.market.SquareRootImpact`; a sale in many
slices with no decay costs the same as one sale of the total. With ``decay == 0`` the
transient part is gone at once and the mid right after is ``m (1 - perm I)``. Beyond the
law's capacity (``I = 1``) the rest is unfilled.

Withdrawal rule (the owner sells only what Aave lets it withdraw): with
``repay_with_collateral == 0`` the owner withdraws, sells and then repays, so the withdrawal
itself must leave ``HF >= floor`` (``floor >= 1``, Aave's ``validateHFAndLtv``) at the oracle
price: ``x <= c - floor * d / (p_oracle * LT)``. With ``repay_with_collateral == 1`` (Aave's
repay-with-collateral adapter, a flash loan) the repayment comes first and no cap applies
beyond the collateral held. Either way, the owner's withdrawals together cannot exceed the
WETH reserve's available liquidity ``supplied - borrowed``.
"""

from __future__ import annotations

import math

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D
from delever.kernels._numba import njit, prange
from delever.kernels.aave import STATUS_LIQUIDATED, liquidation_call_py
from delever.kernels.oracle import oracle_step

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


def rate_py(borrowed: float, supplied: float, curve: FloatArray1D) -> float:
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


rate = njit(cache=True)(rate_py)


def compounded_py(r: float, dt_s: float) -> float:
    """``1 + x + x^2/2 + x^3/6``, ``x = r dt / year``.

    ``MathUtils.calculateCompoundedInterest``, as ``protocol.compounded_interest_factor``.
    """
    x = r * dt_s / SECONDS_PER_YEAR
    return 1.0 + x + x * x / 2.0 + x * x * x / 6.0


compounded = njit(cache=True)(compounded_py)

_liq_call = njit(cache=True)(liquidation_call_py)  # serial compile: called inside the prange


def impact_fraction_py(q_all: float, q_mem: float, y_sigma: float, adv: float,
                       perm: float) -> float:
    """``I = Y sigma (perm sqrt(Q_all / V) + (1 - perm) sqrt(Q_mem / V))``, at most 1."""
    if y_sigma <= 0.0:
        return 0.0
    out = y_sigma * (perm * math.sqrt(q_all / adv) + (1.0 - perm) * math.sqrt(q_mem / adv))
    return out if out < 1.0 else 1.0


impact_fraction = njit(cache=True)(impact_fraction_py)


def _area_py(a: float, q: float) -> float:
    """``2/3 ((a + q)^1.5 - a^1.5)``: the integral of ``sqrt(a + x)`` over ``[0, q]``."""
    return (2.0 / 3.0) * ((a + q) * math.sqrt(a + q) - a * math.sqrt(a))


_area = njit(cache=True)(_area_py)


def _mid_py(st: FloatArray2D, i: int, exo: float, y_sigma: float, adv: float,
            perm: float) -> float:
    fraction: float = impact_fraction(st[i, S_QALL], st[i, S_QMEM], y_sigma, adv, perm)
    return exo * (1.0 - fraction)


_mid = njit(cache=True)(_mid_py)


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


_sell = njit(cache=True)(_sell_py)


def _hf_min_py(coll: FloatArray2D, debt: FloatArray2D, lt: FloatArray1D, i: int, p: float) -> float:
    out = math.inf
    for a in range(coll.shape[1]):
        if debt[i, a] > 0.0:
            hf = coll[i, a] * p * lt[a] / debt[i, a]
            out = min(out, hf)
    return out


_hf_min = njit(cache=True)(_hf_min_py)


def unwind_init_py(
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
    for i in prange(n_paths):
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


unwind_init = njit(cache=True, parallel=True)(unwind_init_py)


def unwind_steps_py(
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
    for i in prange(n_paths):
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


unwind_steps = njit(cache=True, parallel=True)(unwind_steps_py)

__all__ = [
    "N_PARAMS",
    "N_STATE",
    "RULE_CUSTOM",
    "RULE_HF_LADDER",
    "RULE_HOLD",
    "RULE_REBOUND",
    "RULE_SCHEDULE",
    "RULE_STOP_LOSS",
    "S_BOOK_NEXT",
    "S_BOOK_SOLD",
    "S_FOLLOW_SOLD",
    "compounded",
    "compounded_py",
    "rate",
    "rate_py",
    "unwind_init",
    "unwind_init_py",
    "unwind_steps",
    "unwind_steps_py",
]

"""Cascade kernels: a borrower book liquidated by Aave's rules while its sales move the price.

Two engines share one time loop (:func:`simulate_py`) and differ only in how a round finds
the borrowers to liquidate at the current price ``p``:

- **exact**: every borrower, every round of every step: ``HF = c·p·LT / d < 1`` is tested
  for all of them and each one below 1 gets one Aave v3.6 ``liquidationCall`` (the
  :func:`delever.kernels.aave.liquidation_call_py` rules, called on one account).
- **ladder**: the price levels at which each borrower can need a call are computed once per
  book (:func:`build_ladder_py`: a falling price liquidates a borrower at HF = 1 by 50%,
  which restores ``HF' = 2·HF − (1 + bonus)·LT``, so the next call comes at a lower price,
  and so on down to the final 100% call), sorted from the highest price down; S(p), the ETH
  sold in a continuous fall to p, is a running sum over them (:func:`ladder_sold_eth_py`).
  A path walks a pointer down each borrower's first rung (and alert rung): a step that
  reaches no new trigger costs O(1). At a visited rung the borrower's actual state on this
  path gets the same Aave call at the execution price (debt covered in USD, converted to
  ETH at the execution price, 100% close factor when HF < 0.95 there: gaps are handled as
  the protocol does), and its next trigger, ``D'/(C'·LT)`` from the state the call left
  (higher than the precomputed rung when the call executed below its trigger), goes on a
  per-path queue looked at from the next round: singly linked lists in buckets of
  log-price (exponent and top mantissa bits of the price, ~0.2% wide), so a push costs
  O(1) and a round takes out every entry above ``p`` by walking down from the highest
  non-empty bucket. The common call (a 50% close with no cap nor dust) is done inline with
  one division per round (:func:`_partial_call`), the rest by the full Aave rules. Every
  borrower with HF < 1 is therefore reached each round, as in the exact engine, and the
  two agree to rounding; the cost is O(steps + calls) per path instead of
  O(steps · rounds · n).

Price model of one step (both engines): ``p = E_t · max(0, 1 − Y·σ·sqrt(Q / V))`` with
``E_t`` the exogenous price, ``Q`` all ETH sold since the start (permanent square-root
impact: the one-line formula of :mod:`delever.kernels.impact` written here to keep the
``book`` layer free of ``market``). Within a step, rounds repeat: liquidate at ``p``, sell,
recompute ``p``, until a round liquidates nobody. Iterating from above reaches the largest
fixed point of the monotone map ``p ↦ E_t (1 − I(Q + S(p)))``, which is the price the
rounds of a real cascade stop at; a bisection over a price grid could stop at a lower
fixed point of the same step function, so the rounds are kept in both engines.

Other actors (all sales enter ``Q``; decisions use the state at the end of the previous
step, so a step's fixed point stays monotone):

- liquidators sell a share ``phi`` of the ETH they receive at once and the rest in equal
  parts over the next ``k_defer`` steps (``k_defer = 0``: all at once);
- followers sell ``kappa`` times the large account's sales (its own sales plus the
  collateral seized from it) of ``lag`` steps earlier;
- panic sellers sell ``panic_eth`` once, in the step after the market price first closes a
  step at or below ``P0·(1 − drawdown)``;
- cautious borrowers (``watch[i] > 1``) act once when their HF falls below ``watch[i]``
  (the alert level) while still >= 1: ``deleverage`` sells collateral at ``p`` and repays
  debt, ``add`` adds collateral, either to restore HF to ``target_hf``;
- the large account (``whale_*``) is one more Aave account checked every round; it may sell
  ``whale_rate_eth`` per step at the step's opening price and repay debt with the proceeds.
"""

from __future__ import annotations

import math
import types

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D, IntArray1D
from delever.kernels._numba import njit, prange
from delever.kernels.aave import (
    CLOSE_FACTOR_HF_THRESHOLD,
    DEFAULT_LIQUIDATION_CLOSE_FACTOR,
    MIN_BASE_MAX_CLOSE_FACTOR_USD,
    MIN_LEFTOVER_USD,
    STATUS_LIQUIDATED,
    liquidation_call_py,
)

# One account at a time: the array kernel of delever.kernels.aave compiled without
# parallel=True (its prange becomes range), so it can run inside the path-parallel loop.
# It gets its own name: under cache=True the same function's cache entry holds the
# parallel build of liquidation_call_kernel, whose thread launch per call would dominate.
_liquidation_call_serial_py = types.FunctionType(
    liquidation_call_py.__code__.replace(co_name="liquidation_call_serial_py",
                                         co_qualname="liquidation_call_serial_py"),
    liquidation_call_py.__globals__,
    "liquidation_call_serial_py",
)
_liquidation_call_1 = njit(inline="always", error_model="numpy")(_liquidation_call_serial_py)

RUNG_LIQUIDATION = 0
RUNG_ALERT = 1
MAX_RUNGS_PER_BORROWER = 64

# Columns of the per-path output of simulate().
OUT_FINAL_PRICE = 0
OUT_MIN_PRICE = 1
OUT_SEIZED_ETH = 2  # collateral taken from borrowers (to liquidators + protocol fee)
OUT_TO_LIQUIDATOR_ETH = 3
OUT_LIQUIDATOR_SOLD_ETH = 4
OUT_OTHER_SOLD_ETH = 5  # large account, followers, panic sellers, cautious deleveraging
OUT_DEBT_REPAID_USD = 6
OUT_BAD_DEBT_USD = 7
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


def impact_fraction_py(sold_eth: float, y_sigma: float, adv_eth: float) -> float:
    """Square-root law ``Y·σ·sqrt(Q / V)`` (Tóth et al. 2011), capped at 1 (price >= 0)."""
    if sold_eth <= 0.0:
        return 0.0
    frac = y_sigma * math.sqrt(sold_eth / adv_eth)
    return frac if frac < 1.0 else 1.0


impact_fraction = njit(cache=True)(impact_fraction_py)


def _count_rungs_py(
    c: float, d: float, lt: float, bonus: float, watch: float, target_hf: float, add: bool
) -> int:
    n: int = _rungs(c, d, lt, bonus, watch, target_hf, add, 0.0,
                    np.empty(0), np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                    0, False)
    return n


def _rungs_py(
    c: float,
    d: float,
    lt: float,
    bonus: float,
    watch: float,
    target_hf: float,
    add: bool,
    protocol_fee: float,
    trigger_out: FloatArray1D,
    sold_out: FloatArray1D,
    kind_out: IntArray1D,
    borrower_out: IntArray1D,
    start: int,
    write: bool,
) -> int:
    """Walk one borrower down its ladder; write the rungs from ``start`` when ``write``.

    Returns the number of rungs. ``sold_out`` gets the ETH sold at the rung if it executed
    at its own trigger (liquidators' share of the seized collateral, or the deleveraging
    sale), which defines the continuous-fall ladder S(p).
    """
    n = 0
    if not (d > 0.0 and c > 0.0 and lt > 0.0):
        return 0
    t_prev = math.inf
    bf = 1.0 + bonus
    if watch > 1.0:
        ta = watch * d / (c * lt)  # HF = watch here
        sold = 0.0
        if add:
            c = target_hf * d / (ta * lt)
        else:
            sold = d * (target_hf - watch) / (ta * (target_hf - lt))
            if sold * ta >= d:
                sold = d / ta
            c -= sold
            d -= sold * ta
        if write:
            trigger_out[start + n] = ta
            sold_out[start + n] = sold
            kind_out[start + n] = RUNG_ALERT
        n += 1
        t_prev = ta
        if not (d > 0.0 and c > 0.0):
            return n
    while True:
        t = d / (c * lt)
        if t > t_prev:
            t = t_prev
        full = not (c * t >= MIN_BASE_MAX_CLOSE_FACTOR_USD and d >= MIN_BASE_MAX_CLOSE_FACTOR_USD)
        seized = 0.0
        if not full:
            seized = 0.5 * d * bf / t
            if (c - seized) * t < MIN_LEFTOVER_USD or n >= MAX_RUNGS_PER_BORROWER - 1:
                # Aave refuses a partial call leaving dust: the next call is the 100% one
                # once HF < 0.95 (or, past the rung budget, take the rest there).
                full = True
                t = t * CLOSE_FACTOR_HF_THRESHOLD
        if full:
            seized = d * bf / t
            if seized > c:
                seized = c
        if write:
            trigger_out[start + n] = t
            sold_out[start + n] = seized - (seized - seized / bf) * protocol_fee
            kind_out[start + n] = RUNG_LIQUIDATION
        n += 1
        if full:
            return n
        c -= seized
        d -= 0.5 * d
        t_prev = t


_rungs = njit(cache=True)(_rungs_py)
_count_rungs = njit(cache=True)(_count_rungs_py)


def build_ladder_py(
    collateral_eth: FloatArray1D,
    debt_usd: FloatArray1D,
    liquidation_threshold: FloatArray1D,
    liquidation_bonus: FloatArray1D,
    watch_hf: FloatArray1D,
    target_hf: float,
    add_collateral: bool,
    protocol_fee: float,
    counts: IntArray1D,
    trigger_out: FloatArray1D,
    sold_out: FloatArray1D,
    kind_out: IntArray1D,
    borrower_out: IntArray1D,
) -> int:
    """Fill the (unsorted) rungs of every borrower; ``counts`` must hold :func:`count_rungs`.

    Returns the number of rungs written. Rungs of one borrower come out highest first.
    """
    pos = 0
    for i in range(collateral_eth.shape[0]):
        m = _rungs(collateral_eth[i], debt_usd[i], liquidation_threshold[i], liquidation_bonus[i],
                   watch_hf[i], target_hf, add_collateral, protocol_fee,
                   trigger_out, sold_out, kind_out, borrower_out, pos, True)
        for j in range(pos, pos + m):
            borrower_out[j] = i
        pos += m
    return pos


build_ladder = njit(cache=True)(build_ladder_py)


def count_rungs_py(
    collateral_eth: FloatArray1D,
    debt_usd: FloatArray1D,
    liquidation_threshold: FloatArray1D,
    liquidation_bonus: FloatArray1D,
    watch_hf: FloatArray1D,
    target_hf: float,
    add_collateral: bool,
    counts: IntArray1D,
) -> None:
    """Number of ladder rungs of each borrower, into ``counts``."""
    for i in range(collateral_eth.shape[0]):
        counts[i] = _count_rungs(collateral_eth[i], debt_usd[i], liquidation_threshold[i],
                                 liquidation_bonus[i], watch_hf[i], target_hf, add_collateral)


count_rungs = njit(cache=True)(count_rungs_py)


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


def _apply_call(
    i: int,
    c_s: FloatArray1D,
    d_s: FloatArray1D,
    p: float,
    lt: float,
    bonus: float,
    protocol_fee: float,
    res: tuple[FloatArray1D, FloatArray1D, FloatArray1D, FloatArray1D, FloatArray1D,
               FloatArray1D, FloatArray1D],
    st: IntArray1D,
    acc: FloatArray1D,
) -> bool:
    """One Aave call on account ``i`` at ``p``; update its state and the accumulators.

    ``res`` is scratch: 7 one-element arrays (no views made per call), ``st`` of 1 int.
    ``acc``: [seized, to liquidator, fee, repaid, bad debt]. Returns whether the call went through.
    """
    _liquidation_call_1(c_s[i], d_s[i], p, lt, bonus, protocol_fee, math.inf,
                        res[0], res[1], res[2], res[3], res[4], res[5], res[6], st)
    if st[0] != STATUS_LIQUIDATED:
        return False
    repaid = res[0][0]
    seized = res[1][0]
    bad = res[4][0]
    c_s[i] -= seized
    if c_s[i] < 0.0:
        c_s[i] = 0.0
    d_s[i] -= repaid + bad
    if d_s[i] < 0.0 or bad > 0.0 or c_s[i] == 0.0:
        d_s[i] = 0.0  # all collateral gone: the rest was written off as bad debt
    acc[0] += seized
    acc[1] += res[2][0]
    acc[2] += res[3][0]
    acc[3] += repaid
    acc[4] += bad
    return True


_apply_call_j = njit(inline="always", error_model="numpy")(_apply_call)


def _partial_call(
    i: int,
    c_s: FloatArray1D,
    d_s: FloatArray1D,
    p: float,
    inv_p: float,
    lt: float,
    bonus: float,
    protocol_fee: float,
    acc: FloatArray1D,
) -> bool:
    """The common calls on account ``i`` at ``p`` (HF < 1, collateral not all taken).

    A 50% close that leaves no dust, or a 100% close (HF <= 0.95, or collateral or debt
    under $2,000). Same rules as :func:`delever.kernels.aave.liquidation_call_py` in those
    cases, without its output arrays and divisions (``inv_p = 1 / p``, so results differ
    from it only by rounding); returns False (state untouched) for any other case.
    """
    c = c_s[i]
    d = d_s[i]
    cp = c * p
    if not cp * lt < d:  # HF >= 1
        return False
    # HF > 0.95 without a division (the boundary differs from HF's only by rounding)
    if (cp * lt > CLOSE_FACTOR_HF_THRESHOLD * d and cp >= MIN_BASE_MAX_CLOSE_FACTOR_USD
            and d >= MIN_BASE_MAX_CLOSE_FACTOR_USD):
        actual = d * DEFAULT_LIQUIDATION_CLOSE_FACTOR
    else:
        actual = d
    base = actual * inv_p  # ETH worth the debt covered
    seized = base * (1.0 + bonus)
    if seized >= c:
        return False  # capped at the balance: bad debt
    if actual < d and (d - actual < MIN_LEFTOVER_USD or cp - seized * p < MIN_LEFTOVER_USD):
        return False  # Aave refuses a partial call that leaves dust
    fee = base * bonus * protocol_fee  # the protocol's share of the bonus part
    c_s[i] = c - seized
    d_s[i] = d - actual
    acc[0] += seized
    acc[1] += seized - fee
    acc[2] += fee
    acc[3] += actual
    return True


_partial_call_j = njit(inline="always", error_model="numpy")(_partial_call)


def _cautious_act(
    i: int, c_s: FloatArray1D, d_s: FloatArray1D, p: float, lt: float, target_hf: float,
    add: bool,
) -> float:
    """Restore account ``i``'s HF to ``target_hf`` at ``p``; return ETH sold (<0: added)."""
    c = float(c_s[i])
    d = float(d_s[i])
    if add:
        extra = target_hf * d / (p * lt) - c
        if extra <= 0.0:
            return 0.0
        c_s[i] = c + extra
        return -extra
    sold = (target_hf * d - c * p * lt) / (p * (target_hf - lt))
    if sold <= 0.0:
        return 0.0
    if sold * p >= d:
        sold = d / p
        d_s[i] = 0.0
    else:
        d_s[i] = d - sold * p
    if sold > c:
        sold = c
    c_s[i] = c - sold
    return sold


_cautious_act_j = njit(inline="always")(_cautious_act)


Q_BITS = 9
Q_BUCKETS = 17 << Q_BITS


def _bucket(key: float, scale: float, fbits: FloatArray1D, ibits: IntArray1D) -> int:
    """Bucket of a positive price: exponent and top ``Q_BITS`` mantissa bits of key·scale.

    Monotone non-decreasing in ``key`` (clamped to the ends), which is all the queue needs.
    """
    fbits[0] = key * scale
    b = (ibits[0] >> (52 - Q_BITS)) - (1023 << Q_BITS)
    if b < 0:
        return 0
    if b >= Q_BUCKETS:
        return Q_BUCKETS - 1
    return int(b)


_bucket_j = njit(inline="always")(_bucket)


def simulate_py(
    exogenous_usd: FloatArray2D,
    collateral_eth: FloatArray1D,
    debt_usd: FloatArray1D,
    liquidation_threshold: FloatArray1D,
    liquidation_bonus: FloatArray1D,
    watch_hf: FloatArray1D,
    exact: bool,
    rung_trigger_usd: FloatArray1D,
    rung_borrower: IntArray1D,
    rung_kind: IntArray1D,
    protocol_fee: float,
    target_hf: float,
    add_collateral: bool,
    y_sigma: float,
    adv_eth: float,
    phi: float,
    k_defer: int,
    follower_kappa: float,
    follower_lag: int,
    panic_drawdown: float,
    panic_eth: float,
    whale: FloatArray1D,
    max_rounds: int,
    n_blocks: int,
    out: FloatArray2D,
    prices_out: FloatArray2D,
) -> None:
    """Run the cascade on every exogenous path; write ``out[path, OUT_*]`` (and prices).

    Parameters
    ----------
    exogenous_usd : (n_paths, n_steps + 1)
        Exogenous ETH price; column 0 is the start price P0 (no liquidation at step 0).
    collateral_eth, debt_usd, liquidation_threshold, liquidation_bonus : (n,)
        The book at the start.
    watch_hf : (n,)
        Alert HF of each cautious borrower (> 1), 1.0 for the others.
    exact : bool
        Exact engine (every borrower every round) or ladder engine (rungs below).
    rung_trigger_usd, rung_borrower, rung_kind : (n_rungs,)
        The ladder's schedule (each borrower's alert rung and first liquidation rung)
        sorted by trigger, highest first; unused by the exact engine, which passes empty
        arrays.
    protocol_fee : float
        Treasury share of the liquidation bonus (0.10 for WETH).
    target_hf : float
        HF a cautious borrower restores.
    add_collateral : bool
        Cautious borrowers add collateral (True) or deleverage (False).
    y_sigma, adv_eth : float
        Y·σ_daily of the square-root law and the daily volume V in ETH.
    phi, k_defer : float, int
        Liquidators' immediate share and the number of later steps for the rest.
    follower_kappa, follower_lag : float, int
        Followers' multiple of the large account's sales and their lag in steps (>= 1).
    panic_drawdown, panic_eth : float
        Drawdown from P0 that triggers the panic sale, and its size (0: no panic).
    whale : (6,)
        Large account: collateral ETH, debt USD, LT, bonus, voluntary sale ETH per step,
        unused (0). Collateral 0 means none.
    max_rounds : int
        Rounds per step at most (a safety net; reported in OUT_CAPPED_STEPS).
    n_blocks : int
        Paths are split into this many interleaved blocks, each with its own scratch; the
        results do not depend on it nor on the number of threads.
    out : (n_paths, N_OUT)
    prices_out : (n_paths, n_steps + 1) or (0, 0)
        Market price at the end of each step, when wanted.
    """
    n_paths = exogenous_usd.shape[0]
    n_steps = exogenous_usd.shape[1] - 1
    n = collateral_eth.shape[0]
    n_rungs = rung_trigger_usd.shape[0]
    record = prices_out.shape[0] == n_paths and prices_out.shape[1] == n_steps + 1
    total_d0 = 0.0
    total_c0 = 0.0
    for i in range(n):
        total_d0 += debt_usd[i]
        total_c0 += collateral_eth[i]
    k_slots = k_defer if k_defer > 0 else 1
    # buckets cover [P0 / 2^8, P0 · 2^9) (P0 of the first path), the ends catch the rest
    q_scale = 256.0 / exogenous_usd[0, 0] if n_paths > 0 else 1.0
    phi_now = phi if k_defer > 0 else 1.0
    lag = follower_lag if follower_lag > 0 else 1
    for blk in prange(n_blocks):
        c_s = np.empty(n)
        d_s = np.empty(n)
        flags = np.zeros(n, dtype=np.int64)  # bit 0: liquidated once, bit 1: cautious acted
        touched = np.empty(n, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        cap = 3 * n + 8
        # queue of the borrowers followed from their actual state: entries (key = trigger
        # price, borrower) in singly linked lists, one per bucket of log-price (Q_BITS
        # mantissa bits: ~0.2% wide), so a push and a pop cost O(1)
        q_head = np.full(Q_BUCKETS, -1, dtype=np.int64)
        q_next = np.empty(cap, dtype=np.int64)
        q_key = np.empty(cap)
        q_id = np.empty(cap, dtype=np.int64)
        q_free = np.empty(cap, dtype=np.int64)
        popped = np.empty(cap, dtype=np.int64)
        fbits = np.empty(1)
        ibits = fbits.view(np.int64)
        stage_key = np.empty(cap)
        stage_id = np.empty(cap, dtype=np.int64)
        round_id = 0
        pend = np.zeros(k_slots)
        follow = np.zeros(lag)
        res = (np.empty(1), np.empty(1), np.empty(1), np.empty(1), np.empty(1), np.empty(1),
               np.empty(1))
        st = np.empty(1, dtype=np.int64)
        acc = np.zeros(5)
        wc = np.empty(1)
        wd = np.empty(1)
        for i in range(n):
            c_s[i] = math.nan
        for path in range(blk, n_paths, n_blocks):
            n_touched = 0
            if not exact:
                for b in range(Q_BUCKETS):
                    q_head[b] = -1
            q_top = -1  # no bucket above this one holds entries
            n_alloc = 0
            n_free = 0
            if exact:
                for i in range(n):
                    c_s[i] = collateral_eth[i]
                    d_s[i] = debt_usd[i]
                    flags[i] = 0
            for s in range(k_slots):
                pend[s] = 0.0
            for s in range(lag):
                follow[s] = 0.0
            for s in range(5):
                acc[s] = 0.0
            wc[0] = whale[0]
            wd[0] = whale[1]
            w_lt = whale[2]
            w_bonus = whale[3]
            w_rate = whale[4]
            p0 = exogenous_usd[path, 0]
            q_total = 0.0
            liq_sold = 0.0
            other_sold = 0.0
            to_liq_total = 0.0
            n_liquidated = 0
            n_calls = 0
            n_rounds = 0
            capped = 0
            whale_first = -1.0
            whale_seized = 0.0
            whale_bad = 0.0
            cautious_sold = 0.0
            cautious_added = 0.0
            panic_done = panic_eth <= 0.0
            ptr = 0
            p = p0
            p_min = p0
            e_min = p0
            if record:
                prices_out[path, 0] = p0
            for t in range(1, n_steps + 1):
                e_t = exogenous_usd[path, t]
                if e_t < e_min:
                    e_min = e_t
                # sales decided at the end of the previous step
                slot = t % k_slots
                q_pre_liq = pend[slot]
                pend[slot] = 0.0
                fslot = t % lag
                q_pre = follower_kappa * follow[fslot]
                follow[fslot] = 0.0
                if not panic_done and p <= p0 * (1.0 - panic_drawdown):
                    q_pre += panic_eth
                    panic_done = True
                whale_sold_now = 0.0
                if w_rate > 0.0 and wc[0] > 0.0:
                    p_open = e_t * (1.0 - impact_fraction(q_total, y_sigma, adv_eth))
                    sale = w_rate if w_rate < wc[0] else wc[0]
                    if wd[0] > 0.0 and p_open > 0.0:
                        if sale * p_open > wd[0]:
                            sale = wd[0] / p_open
                        wc[0] -= sale
                        wd[0] -= sale * p_open
                        if wd[0] < 0.0:
                            wd[0] = 0.0
                        whale_sold_now += sale
                        q_pre += sale
                    # with no debt left there is nothing to unwind: the large account holds
                liq_sold += q_pre_liq
                other_sold += q_pre
                q_total += q_pre_liq + q_pre
                p = e_t * (1.0 - impact_fraction(q_total, y_sigma, adv_eth))
                rounds = 0
                while p > 0.0:
                    if rounds >= max_rounds:
                        capped += 1
                        break
                    received = 0.0
                    sold_round = 0.0
                    active = False
                    # the large account
                    if wd[0] > 0.0 and wc[0] * p * w_lt < wd[0]:
                        before = acc[1]
                        seized_before = acc[0]
                        bad_before = acc[4]
                        # reuse the per-account call on a one-element state
                        if _apply_call_j(0, wc, wd, p, w_lt, w_bonus, protocol_fee, res, st,
                                         acc):
                            active = True
                            n_calls += 1
                            if whale_first < 0.0:
                                whale_first = float(t)
                            got = acc[1] - before
                            received += got
                            whale_sold_now += got
                            whale_seized += acc[0] - seized_before
                            whale_bad += acc[4] - bad_before
                    if exact:
                        for i in range(n):
                            if c_s[i] * p * liquidation_threshold[i] < watch_hf[i] * d_s[i]:
                                if c_s[i] * p * liquidation_threshold[i] < d_s[i]:
                                    before = acc[1]
                                    if _apply_call_j(i, c_s, d_s, p, liquidation_threshold[i],
                                                     liquidation_bonus[i], protocol_fee, res,
                                                     st, acc):
                                        active = True
                                        n_calls += 1
                                        received += acc[1] - before
                                        if flags[i] & 1 == 0:
                                            # liquidated first: a cautious borrower caught
                                            # below HF 1 has missed its alert (as ladder)
                                            flags[i] |= 3
                                            n_liquidated += 1
                                elif flags[i] & 2 == 0:
                                    flags[i] |= 2
                                    got = _cautious_act_j(i, c_s, d_s, p,
                                                          liquidation_threshold[i], target_hf,
                                                          add_collateral)
                                    active = True
                                    if got > 0.0:
                                        sold_round += got
                                        cautious_sold += got
                                    else:
                                        cautious_added -= got
                    else:
                        round_id += 1
                        n_stage = 0
                        inv_p = 1.0 / p
                        # take out every queued entry with key > p
                        n_pop = 0
                        bp = _bucket_j(p, q_scale, fbits, ibits)
                        while q_top >= bp:
                            e = q_head[q_top]
                            keep = -1
                            while e >= 0:
                                nx = q_next[e]
                                if q_top > bp or q_key[e] > p:
                                    popped[n_pop] = q_id[e]
                                    n_pop += 1
                                    q_free[n_free] = e
                                    n_free += 1
                                else:
                                    q_next[e] = keep
                                    keep = e
                                e = nx
                            q_head[q_top] = keep
                            if q_top == bp:
                                break
                            q_top -= 1
                        k_pop = 0
                        while True:
                            from_ptr = ptr < n_rungs and rung_trigger_usd[ptr] > p
                            if from_ptr:
                                i = rung_borrower[ptr]
                                kind = rung_kind[ptr]
                                ptr += 1
                            elif k_pop < n_pop:
                                i = popped[k_pop]
                                k_pop += 1
                                kind = RUNG_LIQUIDATION
                            else:
                                break
                            if math.isnan(c_s[i]):
                                c_s[i] = collateral_eth[i]
                                d_s[i] = debt_usd[i]
                                flags[i] = 0
                                stamp[i] = -1
                                touched[n_touched] = i
                                n_touched += 1
                            if not d_s[i] > 0.0:
                                continue
                            lt_i = liquidation_threshold[i]
                            if stamp[i] != round_id:
                                if kind == RUNG_ALERT and flags[i] & 2 == 0:
                                    flags[i] |= 2
                                    if (not c_s[i] * p * lt_i < d_s[i]) and (
                                        c_s[i] * p * lt_i < watch_hf[i] * d_s[i]
                                    ):
                                        got = _cautious_act_j(i, c_s, d_s, p, lt_i, target_hf,
                                                              add_collateral)
                                        active = True
                                        stamp[i] = round_id
                                        if got > 0.0:
                                            sold_round += got
                                            cautious_sold += got
                                        else:
                                            cautious_added -= got
                                if stamp[i] != round_id and c_s[i] * p * lt_i < d_s[i]:
                                    before = acc[1]
                                    bonus_i = liquidation_bonus[i]
                                    if _partial_call_j(i, c_s, d_s, p, inv_p, lt_i, bonus_i,
                                                       protocol_fee, acc) or _apply_call_j(
                                            i, c_s, d_s, p, lt_i, bonus_i, protocol_fee, res,
                                            st, acc):
                                        active = True
                                        stamp[i] = round_id
                                        n_calls += 1
                                        received += acc[1] - before
                                        if flags[i] & 1 == 0:
                                            flags[i] |= 3
                                            n_liquidated += 1
                            if d_s[i] > 0.0 and c_s[i] > 0.0:
                                # where this borrower's HF crosses 1 from now on (its actual
                                # state): looked at again from the next round
                                stage_key[n_stage] = d_s[i] / (c_s[i] * lt_i)
                                stage_id[n_stage] = i
                                n_stage += 1
                        for s in range(n_stage):
                            if n_free > 0:
                                n_free -= 1
                                e = q_free[n_free]
                            else:
                                e = n_alloc
                                n_alloc += 1
                            b = _bucket_j(stage_key[s], q_scale, fbits, ibits)
                            q_key[e] = stage_key[s]
                            q_id[e] = stage_id[s]
                            q_next[e] = q_head[b]
                            q_head[b] = e
                            if b > q_top:
                                q_top = b
                    if not active:
                        break
                    rounds += 1
                    to_liq_total += received
                    now = received * phi_now
                    later = (received - now) / k_slots
                    if later > 0.0:
                        for s in range(k_slots):
                            pend[s] += later
                    liq_sold += now
                    other_sold += sold_round
                    q_total += now + sold_round
                    p = e_t * (1.0 - impact_fraction(q_total, y_sigma, adv_eth))
                n_rounds += rounds
                follow[t % lag] = whale_sold_now
                if p < p_min:
                    p_min = p
                if record:
                    prices_out[path, t] = p
            held = 0.0
            for s in range(k_slots):
                held += pend[s]
            if exact:
                debt_left = 0.0
                coll_left = 0.0
                for i in range(n):
                    debt_left += d_s[i]
                    coll_left += c_s[i]
            else:
                debt_left = total_d0
                coll_left = total_c0
                for k in range(n_touched):
                    i = touched[k]
                    debt_left += d_s[i] - debt_usd[i]
                    coll_left += c_s[i] - collateral_eth[i]
                    c_s[i] = math.nan  # back to "untouched" for the block's next path
            o = out[path]
            o[OUT_FINAL_PRICE] = p
            o[OUT_MIN_PRICE] = p_min
            o[OUT_SEIZED_ETH] = acc[0]
            o[OUT_TO_LIQUIDATOR_ETH] = acc[1]
            o[OUT_LIQUIDATOR_SOLD_ETH] = liq_sold
            o[OUT_OTHER_SOLD_ETH] = other_sold
            o[OUT_DEBT_REPAID_USD] = acc[3]
            o[OUT_BAD_DEBT_USD] = acc[4]
            o[OUT_PROTOCOL_FEE_ETH] = acc[2]
            o[OUT_ACCOUNTS_LIQUIDATED] = n_liquidated
            o[OUT_CALLS] = n_calls
            o[OUT_ROUNDS] = n_rounds
            o[OUT_WHALE_FIRST_STEP] = whale_first
            o[OUT_WHALE_SEIZED_ETH] = whale_seized
            o[OUT_WHALE_BAD_DEBT_USD] = whale_bad
            o[OUT_CAUTIOUS_SOLD_ETH] = cautious_sold
            o[OUT_CAUTIOUS_ADDED_ETH] = cautious_added
            o[OUT_CAPPED_STEPS] = capped
            o[OUT_DEBT_LEFT_USD] = debt_left + wd[0]
            o[OUT_COLLATERAL_LEFT_ETH] = coll_left + wc[0]
            o[OUT_MIN_EXOGENOUS] = e_min
            o[OUT_HELD_ETH] = held


simulate = njit(cache=True, parallel=True, error_model="numpy")(simulate_py)


__all__ = [
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
    "build_ladder",
    "build_ladder_py",
    "count_rungs",
    "count_rungs_py",
    "impact_fraction",
    "impact_fraction_py",
    "ladder_sold_eth",
    "ladder_sold_eth_py",
    "simulate",
    "simulate_py",
]

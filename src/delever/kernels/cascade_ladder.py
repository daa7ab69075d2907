"""The ladder cascade engine: only the borrowers whose trigger price the market crosses.

Stages (the step model is in :mod:`delever.kernels.cascade`):

1. The ladder, once per book (:func:`delever.kernels.cascade.build_ladder_py`, sorted by the
   book layer): each borrower's alert rung and first liquidation rung, highest trigger
   first. Borrowers are numbered in the order of their first rung, so a path walking the
   schedule touches their state in memory order.
2. A path walks a pointer down that schedule: a step that reaches no new trigger costs O(1).
   At a visited rung the borrower's actual state on this path gets the protocol's call at
   the execution price (debt covered in USD, converted to ETH at that price, the full close
   when HF is below ``full_close_hf`` there: gaps are handled as the protocol does), and its
   next trigger, ``D' / (C' LT)`` from the state the call left, goes on a per-path queue read
   from the next round: singly linked lists in buckets of log-price (exponent and top
   ``Q_BITS`` mantissa bits, ~0.2% wide), so a push costs O(1) and a round takes out every
   entry above ``p`` walking down from the highest non-empty bucket.
3. The step's fixed point (:func:`_settle_py`): rounds at the current price until a round
   liquidates nobody, as the exact engine does; every borrower with HF < 1 is reached in
   each round, so the two engines agree to rounding. The common call (a partial or full
   close with no collateral cap nor dust) is done inline with no division
   (:func:`_ladder_call_py`), the rest by :func:`~delever.kernels.liquidation.liquidate_one`.

4. The plain book (most borrowers: no alert rule, the book's most common LT and bonus, and
   rules under which :func:`plain_rules_ok` holds, as Aave v3.0-v3.6 and Morpho Blue do for
   their usual parameters) is not walked borrower by borrower: the calls of a round on it
   are sums over ranges of the book sorted by u = C·LT/D, read from prefix sums
   (:func:`fast_tables`), one O(log) step per cohort of borrowers sharing a history of
   calls (:func:`_fast_round`; the idea of DESIGN.md's S(p), kept exact per rung: each
   rung's debt is covered in USD and converted at the execution price, gaps below
   ``full_close_hf`` and the ``min_base_usd`` rule close the whole position as the
   protocol does). Cost per round: O(cohorts called · log n), not O(borrowers called).

The walked borrowers' state is one row of 8 floats each (one cache line): collateral, debt, LT,
bonus, alert HF, the round of its last call with its flags, and its starting collateral and
debt. The hot functions take plain arrays rather than records of arrays: numba counts
references to every array a record carries each time one is passed, which cost more than
the calls themselves.
"""

from __future__ import annotations

import math
import struct
from typing import Any, NamedTuple

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D, IntArray, IntArray1D
from delever.kernels._numba import JIT_DISABLED, njit, prange
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
    RUNG_ALERT,
    RUNG_LIQUIDATION,
    CascadeActors,
    LargeAccountRecord,
)
from delever.kernels.impact_law import (
    add_volume,
    decay_memory,
    depth_eth,
    ewma_variance,
    impact_fraction,
)
from delever.kernels.liquidation import STATUS_LIQUIDATED, LiquidationOne, liquidate_one
from delever.kernels.records import ImpactLaw, LiquidationRules

Q_BITS = 9
Q_BUCKETS = 17 << Q_BITS

# Columns of a borrower's row.
A_C = 0  # collateral, ETH (NaN: untouched on this path)
A_D = 1  # debt, USD
A_LT = 2
A_BONUS = 3
A_WATCH = 4  # alert HF
A_MARK = 5  # 4 * (round of its last call or action) + flags (bit 0 liquidated, 1 cautious)
A_C0 = 6
A_D0 = 7
A_WIDTH = 8

# Columns of the queue's integer array.
L_NEXT = 0  # next entry in the bucket's list
L_ID = 1  # the entry's borrower
L_FREE = 2  # stack of free entries
L_POPPED = 3  # borrowers taken out in this round
L_TOUCHED = 4  # borrowers visited on this path
N_L = 5

# A path's integers: the buckets' list heads (-1: empty), then these counters.
C_Q_TOP = Q_BUCKETS  # no bucket above this one holds entries
C_ALLOC = Q_BUCKETS + 1
C_FREE = Q_BUCKETS + 2
C_TOUCHED = Q_BUCKETS + 3
C_ROUND = Q_BUCKETS + 4
C_PTR = Q_BUCKETS + 5
C_Q_MIN = Q_BUCKETS + 6  # the buckets pushed to on this path lie in [C_Q_MIN, C_Q_MAX]:
C_Q_MAX = Q_BUCKETS + 7  # only those heads are reset for the next path
N_INTS = Q_BUCKETS + 8

# A path's market state, then the liquidators' deferred sales (one slot per later step),
# then the large account's sales (one slot per step of the followers' lag).
M_Q_PERM = 0
M_Q_MEM = 1
M_VAR = 2
M_PEAK = 3
M_DEPTH = 4
M_P = 5
M_P0 = 6
M_PANIC_DONE = 7
M_WHALE_C = 8
M_WHALE_D = 9
M_Q_SCALE = 10
M_FAST_N = 11  # the plain book's cohorts
M_FAST_UMIN = 12  # a lower bound of their u (the highest trigger is 1 / it)
M_FAST_DD = 13  # the plain book's change of debt, USD
M_FAST_DC = 14  # and of collateral, ETH
M_FAST_FREE = 15  # free cohort slots (stack in FastBook.work[0])
M_FAST_NEXT = 16  # cohort slots never used yet start here
N_M = 17


class LadderSchedule(NamedTuple):
    """The rungs a path walks (each walked borrower's alert and first liquidation rung),
    highest trigger first; ``who_kind[0]`` numbers rows of the (renumbered) book,
    ``who_kind[1]`` is the rung's kind; the plain book's table."""

    trigger_usd: FloatArray1D
    who_kind: IntArray
    plain: FloatArray1D  # the plain book (:func:`fast_tables`)


class LadderRun(NamedTuple):
    """The run's records of numbers (the book lives in the scratch's rows)."""

    rules: LiquidationRules
    law: ImpactLaw
    actors: CascadeActors
    whale: LargeAccountRecord


class LadderScratch(NamedTuple):
    """One block of paths' working memory (reused path after path); few arrays, as each
    one passed costs."""

    acct: FloatArray2D  # (n, A_WIDTH)
    ints: IntArray1D  # (N_INTS,) bucket heads and C_* counters
    links: IntArray  # (capacity, N_L): an entry's next and borrower share a cache line
    keys: FloatArray1D  # each queue entry's trigger price
    state: FloatArray1D  # M_* slots, deferred sales, the large account's sales


def _acct_template_py(columns: FloatArray2D) -> FloatArray2D:
    """Every borrower's row, untouched (built once per run, copied into each block)."""
    n = columns.shape[1]
    acct = np.empty((n, A_WIDTH))
    for i in range(n):
        acct[i, A_C] = math.nan
        acct[i, A_D] = 0.0
        acct[i, A_LT] = columns[2, i]
        acct[i, A_BONUS] = columns[3, i]
        acct[i, A_WATCH] = columns[4, i]
        acct[i, A_MARK] = -4.0
        acct[i, A_C0] = columns[0, i]
        acct[i, A_D0] = columns[1, i]
    return acct


acct_template = njit(cache=True)(_acct_template_py)


def _scratch_py(template: FloatArray2D, actors: CascadeActors) -> LadderScratch:
    cap = 3 * template.shape[0] + 8
    n_state = N_M + max(actors.k_defer, 1) + max(actors.follower_lag, 1)
    ints = np.empty(N_INTS, np.int64)
    ints[:Q_BUCKETS] = -1
    ints[C_Q_MIN] = Q_BUCKETS
    ints[C_Q_MAX] = -1
    return LadderScratch(template.copy(), ints, np.empty((cap, N_L), np.int64), np.empty(cap),
                         np.zeros(n_state))


_scratch = njit(cache=True)(_scratch_py)


def _float_bits_py(x: float) -> int:
    """The IEEE-754 bits of a float64 as an int64 (plain Python: JIT turned off)."""
    out: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return out


if JIT_DISABLED:
    _float_bits = _float_bits_py
else:
    from llvmlite import ir as _llvm_ir  # type: ignore[import-untyped]
    from numba import types as _nb_types
    from numba.extending import intrinsic

    @intrinsic
    def _float_bits(typingctx: Any, x: Any) -> Any:
        """The bits of a float64 as an int64: one register move, no call."""
        if not (isinstance(x, _nb_types.Float) and x.bitwidth == 64):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], _llvm_ir.IntType(64))

        return _nb_types.int64(_nb_types.float64), codegen


def _bucket_py(key: float, scale: float) -> int:
    """Bucket of a positive price: exponent and top ``Q_BITS`` mantissa bits of key * scale.

    Monotone non-decreasing in ``key`` (clamped to the ends), which is all the queue needs.
    """
    b = (_float_bits(key * scale) >> (52 - Q_BITS)) - (1023 << Q_BITS)
    return int(min(max(b, 0), Q_BUCKETS - 1))


_bucket = njit(cache=True, inline="always")(_bucket_py)


def _pop_due_py(heads: IntArray1D, links: IntArray, keys: FloatArray1D, p: float, bp: int
                ) -> int:
    """Take every queued entry with key > ``p`` (bucket ``bp``) into ``links[:, L_POPPED]``."""
    cnt = heads  # the counters follow the heads
    q_top = cnt[C_Q_TOP]
    n_pop = 0
    n_free = cnt[C_FREE]
    while q_top >= bp:
        e = heads[q_top]
        keep = -1
        while e >= 0:
            nx = links[e, L_NEXT]
            if q_top > bp or keys[e] > p:
                links[n_pop, L_POPPED] = links[e, L_ID]
                n_pop += 1
                links[n_free, L_FREE] = e
                n_free += 1
            else:
                links[e, L_NEXT] = keep
                keep = e
            e = nx
        heads[q_top] = keep
        if q_top == bp:
            break
        q_top -= 1
    cnt[C_Q_TOP] = q_top
    cnt[C_FREE] = n_free
    return n_pop


_pop_due = njit(cache=True, inline="always")(_pop_due_py)


def _push_py(heads: IntArray1D, links: IntArray, keys: FloatArray1D, key: float, i: int,
             scale: float) -> None:
    """Queue borrower ``i`` at trigger ``key`` (the round's entries were taken out before)."""
    cnt = heads  # the counters follow the heads
    if cnt[C_FREE] > 0:
        cnt[C_FREE] -= 1
        e = links[cnt[C_FREE], L_FREE]
    else:
        e = cnt[C_ALLOC]
        cnt[C_ALLOC] += 1
    b = _bucket(key, scale)
    keys[e] = key
    links[e, L_ID] = i
    links[e, L_NEXT] = heads[b]
    heads[b] = e
    if b > cnt[C_Q_TOP]:
        cnt[C_Q_TOP] = b
    if b < cnt[C_Q_MIN]:
        cnt[C_Q_MIN] = b
    if b > cnt[C_Q_MAX]:
        cnt[C_Q_MAX] = b


_push = njit(cache=True, inline="always")(_push_py)


def _rare_call_py(rules: LiquidationRules, c: float, d: float, p: float, lt: float,
                  bonus: float, fee_share: float) -> LiquidationOne:
    """``liquidate_one`` kept out of line: the calls the inline case leaves (a collateral
    cap, a dust refusal) are rare, and its code would crowd the hot loop."""
    return liquidate_one(rules, c, d, p, lt, bonus, fee_share, math.inf)  # type: ignore[no-any-return]


_rare_call = njit(cache=True, error_model="numpy")(_rare_call_py)


def _ladder_call_py(rules: LiquidationRules, fee_share: float, acct: FloatArray2D, i: int,
                    p: float, inv_p: float, o: FloatArray1D) -> float:
    """One call on borrower ``i`` (HF < 1) at ``p``; ETH to the liquidator, -1 if none.

    The common case (no collateral cap, no dust) inline and without a division
    (``inv_p = 1 / p``: results differ from ``liquidate_one`` only by rounding); the rest
    by ``liquidate_one``.
    """
    c = acct[i, A_C]
    d = acct[i, A_D]
    bonus = acct[i, A_BONUS]
    cp = c * p
    # HF > full_close_hf without a division (the boundary differs only by rounding)
    if (rules.close_factor < 1.0 and cp * acct[i, A_LT] > rules.full_close_hf * d
            and cp >= rules.min_base_usd and d >= rules.min_base_usd):
        actual = d * rules.close_factor
    else:
        actual = d
    base = actual * inv_p  # ETH worth the debt covered
    seized = base * (1.0 + bonus)
    if seized < c and not (actual < d and (d - actual < rules.min_leftover_usd
                                           or cp - seized * p < rules.min_leftover_usd)):
        fee = base * bonus * fee_share  # the protocol's share of the bonus part
        acct[i, A_C] = c - seized
        acct[i, A_D] = d - actual
        o[OUT_SEIZED_ETH] += seized
        o[OUT_TO_LIQUIDATOR_ETH] += seized - fee
        o[OUT_PROTOCOL_FEE_ETH] += fee
        o[OUT_DEBT_REPAID_USD] += actual
        return float(seized - fee)
    status, repaid, seized, to_liq, fee, bad, _, _ = _rare_call(rules, c, d, p, acct[i, A_LT],
                                                               bonus, fee_share)
    if status != STATUS_LIQUIDATED:
        return -1.0
    acct[i, A_C] = max(c - seized, 0.0)
    if bad > 0.0 and rules.write_off_bad_debt:
        acct[i, A_D] = 0.0
        o[OUT_BAD_DEBT_USD] += bad
    else:
        acct[i, A_D] = max(d - repaid, 0.0) if acct[i, A_C] > 0.0 or bad > 0.0 else 0.0
    o[OUT_SEIZED_ETH] += seized
    o[OUT_TO_LIQUIDATOR_ETH] += to_liq
    o[OUT_PROTOCOL_FEE_ETH] += fee
    o[OUT_DEBT_REPAID_USD] += repaid
    return float(to_liq)


_ladder_call = njit(cache=True, inline="always", error_model="numpy")(_ladder_call_py)


def _cautious_py(actors: CascadeActors, acct: FloatArray2D, i: int, p: float,
                 o: FloatArray1D) -> float:
    """Borrower ``i`` restores its HF to ``target_hf`` at ``p``; returns the ETH it sold."""
    c = acct[i, A_C]
    d = acct[i, A_D]
    lt = acct[i, A_LT]
    target = actors.target_hf
    if actors.add_collateral:
        extra = target * d / (p * lt) - c
        if extra > 0.0:
            acct[i, A_C] = c + extra
            o[OUT_CAUTIOUS_ADDED_ETH] += extra
        return 0.0
    sold = (target * d - c * p * lt) / (p * (target - lt))
    if sold <= 0.0:
        return 0.0
    if sold * p >= d:
        sold = d / p
        acct[i, A_D] = 0.0
    else:
        acct[i, A_D] = d - sold * p
    sold = min(sold, c)
    acct[i, A_C] = c - sold
    o[OUT_CAUTIOUS_SOLD_ETH] += sold
    return float(sold)


_cautious = njit(cache=True, inline="always", error_model="numpy")(_cautious_py)


def _visit_py(rules: LiquidationRules, actors: CascadeActors, acct: FloatArray2D, i: int,
              kind: int, p: float, inv_p: float, round_id: int, o: FloatArray1D
              ) -> tuple[bool, float, float]:
    """Borrower ``i`` (touched) reached in round ``round_id``: ``(acted, ETH to liquidators,
    ETH sold)``; at most one call or action per round."""
    mark = int(acct[i, A_MARK])
    if mark >> 2 == round_id or not acct[i, A_D] > 0.0:
        return False, 0.0, 0.0
    flags = mark & 3
    value = acct[i, A_C] * p * acct[i, A_LT]
    acted = False
    received = 0.0
    sold = 0.0
    if kind == RUNG_ALERT and flags & 2 == 0:
        flags |= 2
        if not value < acct[i, A_D] and value < acct[i, A_WATCH] * acct[i, A_D]:
            sold = _cautious(actors, acct, i, p, o)
            acted = True
    if not acted and value < acct[i, A_D]:
        got = _ladder_call(rules, actors.protocol_fee, acct, i, p, inv_p, o)
        if got >= 0.0:
            acted = True
            received = got
            o[OUT_CALLS] += 1.0
            if flags & 1 == 0:
                flags |= 3  # liquidated first: a cautious one missed its alert
                o[OUT_ACCOUNTS_LIQUIDATED] += 1.0
    acct[i, A_MARK] = float(4 * (round_id if acted else mark >> 2) + flags)
    return acted, received, sold


_visit = njit(cache=True, inline="always", error_model="numpy")(_visit_py)


def _round_py(rules: LiquidationRules, actors: CascadeActors, acct: FloatArray2D,
              ints: IntArray1D, links: IntArray, keys: FloatArray1D, trigger: FloatArray1D,
              who_kind: IntArray, p: float, scale: float, o: FloatArray1D
              ) -> tuple[bool, float, float]:
    """Every borrower whose trigger is above ``p``: ``(anything happened, ETH to
    liquidators, ETH sold by cautious borrowers)``."""
    cnt = ints
    ptr = cnt[C_PTR]
    n_rungs = trigger.shape[0]
    bp = _bucket(p, scale)
    if cnt[C_Q_TOP] < bp and not (ptr < n_rungs and trigger[ptr] > p):
        return False, 0.0, 0.0  # the common quiet round: nobody to look at
    n_pop = _pop_due(ints, links, keys, p, bp)
    cnt[C_ROUND] += 1
    round_id = cnt[C_ROUND]
    inv_p = 1.0 / p
    active = False
    received = 0.0
    sold = 0.0
    k_pop = 0
    while True:
        if ptr < n_rungs and trigger[ptr] > p:
            i = who_kind[0, ptr]
            kind = who_kind[1, ptr]
            ptr += 1
        elif k_pop < n_pop:
            i = links[k_pop, L_POPPED]
            k_pop += 1
            kind = RUNG_LIQUIDATION
        else:
            break
        if math.isnan(acct[i, A_C]):  # first visit on this path
            acct[i, A_C] = acct[i, A_C0]
            acct[i, A_D] = acct[i, A_D0]
            links[cnt[C_TOUCHED], L_TOUCHED] = i
            cnt[C_TOUCHED] += 1
        acted, got, sale = _visit(rules, actors, acct, i, kind, p, inv_p, round_id, o)
        if acted:
            active = True
            received += got
            sold += sale
        if acct[i, A_D] > 0.0 and acct[i, A_C] > 0.0:
            # where its HF crosses 1 from its actual state: looked at from the next round
            _push(ints, links, keys, acct[i, A_D] / (acct[i, A_C] * acct[i, A_LT]), i, scale)
    cnt[C_PTR] = ptr
    return active, received, sold


_round = njit(cache=True, inline="always", error_model="numpy")(_round_py)


# ---- The plain book by prefix sums (cohorts) ----------------------------------------------
#
# A "plain" borrower (no alert rule, the book's most common LT and bonus, rules under which
# a triggered partial call is never capped nor refused as dust: :func:`plain_rules_ok`) is
# described by u = C·LT / D (HF = u·p). A partial call at p maps u to (u − κ/p) / (1 − cf),
# κ = cf (1 + bonus) LT, and D to (1 − cf) D: the same affine map for every borrower called
# at the same price. Borrowers sorted by their starting u0 and called in the same rounds
# therefore keep their order, and a set of them with one history (a cohort: a range of the
# sorted book, its level k = calls so far, u = α u0 + β, D = s D0) is split by each round
# into a called prefix and the rest. The sums a round needs over a range are prefix sums of
# the count, D0 and D0 u0 over the borrowers still alive at the level (a call at level k is
# the full close when D < min_base_usd, i.e. when the borrower's partial-call budget L is
# k): O(log n) per cohort and round, whatever the number of borrowers called.

# The cohorts' integer columns (a block's (m + 1, 6) array) ...
F_LO = 0
F_HI = 1
F_LEVEL = 2
F_HEAP_SLOT = 3  # min-heap of the cohorts by the u of their first position: slots ...
F_FREE = 4  # stack of free cohort slots
F_OUT = 5  # the slots taken out in a round
# ... and float columns ((m + 1, 4))
F_ALPHA = 0
F_BETA = 1
F_SCALE = 2
F_HEAP_KEY = 3  # ... and keys
LEVEL_CAP = 48  # partial-call budgets are counted up to this (a sentinel: "this many or more")
# The plain book's table (:func:`fast_tables`, one float array): parameters, then u0 of each
# sorted position (contiguous: the searches gallop through it), then the prefix sums by
# position (a position's sums share cache lines: a round reads a few positions).
T_LT = 0
T_BONUS = 1
T_M = 2  # plain borrowers
T_WIDTH = 3  # prefix columns per position
T_PRE = 4  # where the prefix sums start
T_COLS = 5  # LEVEL_CAP + 1 slots: first prefix column of each level's set
T_U0 = 64  # u0 ascending, then +inf


class Cohorts(NamedTuple):
    """One block's cohorts (slots of at most m live ones: disjoint non-empty ranges)."""

    ints: IntArray  # (m + 1, 6) F_LO ... F_OUT
    floats: FloatArray2D  # (m + 1, 4) F_ALPHA ... F_HEAP_KEY


def plain_rules_ok(rules: LiquidationRules, lt: float, bonus: float) -> bool:
    """Whether a triggered call on a borrower of (``lt``, ``bonus``) is always one of: a
    partial call neither capped nor refused (HF > full_close_hf, D >= min_base_usd), a full
    close (HF <= full_close_hf or D < min_base_usd) capped only when HF < (1 + bonus) LT."""
    bf = 1.0 + bonus
    if not (lt > 0.0 and bonus >= 0.0 and rules.close_factor > 0.0):
        return False
    if rules.close_factor >= 1.0:
        return True
    fch = rules.full_close_hf
    return bool(lt <= fch and bf * lt < fch and rules.close_factor * bf * lt < fch
                and (1.0 - rules.close_factor) * rules.min_base_usd >= rules.min_leftover_usd
                and rules.min_base_usd * (fch / lt - rules.close_factor * bf)
                >= rules.min_leftover_usd)


def plain_mask(columns: FloatArray2D, rules: LiquidationRules) -> tuple[Any, float, float]:
    """Which borrowers of the book's columns (:func:`book_columns`) take the prefix-sum path,
    and their (LT, bonus): the most common pair among those without an alert rule."""
    c0, d0, lt, bonus, watch = columns
    ok = (c0 > 0.0) & (d0 > 0.0) & (lt > 0.0) & ~(watch > 1.0)
    if not ok.any():
        return ok, 0.0, 0.0
    lt_ok, bonus_ok = lt[ok], bonus[ok]
    if np.all(lt_ok == lt_ok[0]) and np.all(bonus_ok == bonus_ok[0]):
        lt_p, bonus_p = float(lt_ok[0]), float(bonus_ok[0])  # one pair (the usual book)
    else:
        pairs, counts = np.unique(np.stack((lt_ok, bonus_ok)), axis=1, return_counts=True)
        lt_p, bonus_p = (float(v) for v in pairs[:, int(np.argmax(counts))])
    if not plain_rules_ok(rules, lt_p, bonus_p):
        return np.zeros_like(ok), 0.0, 0.0
    return ok & (lt == lt_p) & (bonus == bonus_p), lt_p, bonus_p


def fast_tables(columns: FloatArray2D, rules: LiquidationRules, mask: Any, lt: float,
                bonus: float) -> FloatArray1D:
    """The plain borrowers (``mask``) as one array for :func:`simulate_ladder` (``T_*``
    slots): parameters, u0 ascending, then by sorted position (and one past the end) per
    level set the prefix count, D0 and D0 u0."""
    c0 = columns[0][mask]
    d0 = columns[1][mask]
    u0 = c0 * lt / d0
    order = np.argsort(u0, kind="stable")
    u0 = np.ascontiguousarray(u0[order])
    d0 = d0[order]
    cf = rules.close_factor
    budget = np.zeros(u0.shape[0], dtype=np.int64)  # partial calls before the full one
    if cf < 1.0:
        d = d0.copy()
        for _ in range(LEVEL_CAP):
            more = d >= rules.min_base_usd  # as the engines: D - D·cf after each call
            if not more.any():
                break
            budget += more
            d = np.where(more, d - d * cf, d)
    cols: list[FloatArray1D] = []
    col_of = np.zeros(LEVEL_CAP + 1, dtype=np.int64)
    last = -1
    for level in range(LEVEL_CAP + 1):
        alive = budget >= level
        n_alive = int(alive.sum())
        if n_alive != last:  # nested sets: the same count is the same set
            for col in (alive.astype(np.float64), np.where(alive, d0, 0.0),
                        np.where(alive, d0 * u0, 0.0)):
                cols.append(np.concatenate(([0.0], np.cumsum(col))))
            last = n_alive
        col_of[level] = len(cols) - 3
    m = u0.shape[0]
    width = len(cols)
    pre_at = T_U0 + m + 1
    tab = np.zeros(pre_at + (m + 1) * width)
    tab[T_LT], tab[T_BONUS], tab[T_M], tab[T_WIDTH], tab[T_PRE] = lt, bonus, m, width, pre_at
    tab[T_COLS:T_COLS + LEVEL_CAP + 1] = col_of
    tab[T_U0:T_U0 + m] = u0
    tab[T_U0 + m] = math.inf
    tab[pre_at:] = np.stack(cols, axis=1).ravel()
    return tab


def _cohorts_py(tab: FloatArray1D) -> Cohorts:
    """Empty cohort slots for one block of paths (``tab``: :func:`fast_tables`)."""
    cap = int(tab[T_M]) + 1
    return Cohorts(np.empty((cap, 6), np.int64), np.empty((cap, 4)))


_cohorts = njit(cache=True)(_cohorts_py)

# The hot helpers below take plain arrays: ``tab`` (:func:`fast_tables`: row 0 the
# parameters, row 1 + pos position pos's u0 and prefix sums), ``ci`` and ``cf`` (a block's
# :class:`Cohorts`).


def _col_py(tab: FloatArray1D, level: int) -> int:
    """First column of the level set of borrowers with a budget of ``level`` calls or more."""
    return int(tab[T_COLS + min(level, LEVEL_CAP)])


_col = njit(cache=True, inline="always")(_col_py)


def _at_py(tab: FloatArray1D, pos: int, col: int) -> float:
    """Prefix column ``col`` at sorted position ``pos`` (0..m)."""
    return float(tab[int(tab[T_PRE]) + pos * int(tab[T_WIDTH]) + col])


_at = njit(cache=True, inline="always")(_at_py)


def _heap_push_py(ci: IntArray, cf: FloatArray2D, m: FloatArray1D, key: float, slot: int
                  ) -> None:
    """Cohort ``slot`` into the heap at ``key`` (the u of its first position)."""
    i = int(m[M_FAST_N])
    m[M_FAST_N] = float(i + 1)
    while i > 0:
        up = (i - 1) >> 1
        if not cf[up, F_HEAP_KEY] > key:
            break
        cf[i, F_HEAP_KEY] = cf[up, F_HEAP_KEY]
        ci[i, F_HEAP_SLOT] = ci[up, F_HEAP_SLOT]
        i = up
    cf[i, F_HEAP_KEY] = key
    ci[i, F_HEAP_SLOT] = slot
    m[M_FAST_UMIN] = cf[0, F_HEAP_KEY]


_heap_push = njit(cache=True, inline="always")(_heap_push_py)


def _heap_pop_py(ci: IntArray, cf: FloatArray2D, m: FloatArray1D) -> int:
    """The cohort of the lowest key, out of the heap (which must not be empty)."""
    top = ci[0, F_HEAP_SLOT]
    n = int(m[M_FAST_N]) - 1
    m[M_FAST_N] = float(n)
    key = cf[n, F_HEAP_KEY]
    slot = ci[n, F_HEAP_SLOT]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and cf[child + 1, F_HEAP_KEY] < cf[child, F_HEAP_KEY]:
            child += 1
        if not cf[child, F_HEAP_KEY] < key:
            break
        cf[i, F_HEAP_KEY] = cf[child, F_HEAP_KEY]
        ci[i, F_HEAP_SLOT] = ci[child, F_HEAP_SLOT]
        i = child
    if n > 0:
        cf[i, F_HEAP_KEY] = key
        ci[i, F_HEAP_SLOT] = slot
    m[M_FAST_UMIN] = cf[0, F_HEAP_KEY] if n > 0 else math.inf
    return int(top)


_heap_pop = njit(cache=True, inline="always")(_heap_pop_py)


def _fast_start_py(tab: FloatArray1D, coh: Cohorts, m: FloatArray1D) -> None:
    """One cohort: the whole plain book, untouched; the plain book's totals in ``m`` (its
    changes are added to them)."""
    ci, cf = coh
    n = int(tab[T_M])
    m[M_FAST_N] = 0.0
    m[M_FAST_FREE] = 0.0
    m[M_FAST_NEXT] = 1.0
    m[M_FAST_UMIN] = math.inf
    ci[0, F_LO] = 0
    ci[0, F_HI] = n
    ci[0, F_LEVEL] = 0
    cf[0, F_ALPHA] = 1.0
    cf[0, F_BETA] = 0.0
    cf[0, F_SCALE] = 1.0
    if n > 0:
        _heap_push(ci, cf, m, tab[T_U0], 0)
    r0 = _col(tab, 0)
    m[M_FAST_DD] = _at(tab, n, r0 + 1)
    m[M_FAST_DC] = _at(tab, n, r0 + 2) / tab[T_LT] if n > 0 else 0.0


_fast_start = njit(cache=True)(_fast_start_py)


class _Called(NamedTuple):
    n_calls: float
    repaid_usd: float
    seized_eth: float
    fee_eth: float
    bad_usd: float


def _range_py(tab: FloatArray1D, col: int, lo: int, hi: int) -> tuple[float, float, float]:
    """Count, sum D0, sum D0 u0 of the level set at ``col`` over sorted positions [lo, hi)."""
    width = int(tab[T_WIDTH])
    at_lo = int(tab[T_PRE]) + lo * width + col
    at_hi = at_lo + (hi - lo) * width
    return (tab[at_hi] - tab[at_lo], tab[at_hi + 1] - tab[at_lo + 1],
            tab[at_hi + 2] - tab[at_lo + 2])


_range = njit(cache=True, inline="always")(_range_py)


def _cohort_call_py(rules: LiquidationRules, tab: FloatArray1D, ci: IntArray,
                    cf: FloatArray2D, j: int, cut: tuple[int, int, int, int], x: float,
                    fee_share: float) -> _Called:
    """The calls of one round on cohort ``j`` at price 1 / ``x``; ``cut = (lo, gc, g, mid)``:
    [lo, gc) full and capped, [gc, g) full, [g, mid) partial or (budget spent) full."""
    lo, gc, g, mid = cut
    lt, bonus = tab[T_LT], tab[T_BONUS]
    bf = 1.0 + bonus
    k = ci[j, F_LEVEL]
    a, b, s = cf[j, F_ALPHA], cf[j, F_BETA], cf[j, F_SCALE]
    r0 = _col(tab, k)
    r1 = _col(tab, k + 1)
    n_cap, d_cap, du_cap = _range(tab, r0, lo, gc)
    seized = s * (a * du_cap + b * d_cap) / lt  # all the collateral: C = D u / LT
    repaid = seized / (x * bf)
    fee = (seized - seized / bf) * fee_share if fee_share > 0.0 else 0.0
    bad = s * d_cap - repaid
    n_gap, d_gap, _ = _range(tab, r0, gc, g)
    n_all, d_all, _ = _range(tab, r0, g, mid)
    d_part = _range(tab, r1, g, mid)[1] if rules.close_factor < 1.0 else 0.0
    d_full = s * (d_gap + d_all - d_part)
    d_partial = s * d_part * rules.close_factor
    base = (d_full + d_partial) * x  # ETH worth the debt covered
    return _Called(n_cap + n_gap + n_all, repaid + d_full + d_partial, seized + base * bf,
                   fee + base * bonus * fee_share, bad if n_cap > 0.0 else 0.0)


_cohort_call = njit(cache=True, inline="always", error_model="numpy")(_cohort_call_py)


def _fast_split_py(rules: LiquidationRules, tab: FloatArray1D, ci: IntArray, cf: FloatArray2D,
                   m: FloatArray1D, j: int, g: int, mid: int, x: float) -> None:
    """Cohort ``j`` (taken out of the heap) keeps [mid, hi) if anyone is alive there; its
    partial calls [g, mid) become a cohort one level down (if anyone is alive there)."""
    close = rules.close_factor
    k = ci[j, F_LEVEL]
    a, b, s = cf[j, F_ALPHA], cf[j, F_BETA], cf[j, F_SCALE]
    r1 = _col(tab, k + 1)
    if close < 1.0 and _at(tab, mid, r1) - _at(tab, g, r1) > 0.0:
        if m[M_FAST_FREE] > 0.0:
            m[M_FAST_FREE] -= 1.0
            new = ci[int(m[M_FAST_FREE]), F_FREE]
        else:
            new = int(m[M_FAST_NEXT])
            m[M_FAST_NEXT] += 1.0
        a1 = a / (1.0 - close)
        b1 = (b - close * (1.0 + tab[T_BONUS]) * tab[T_LT] * x) / (1.0 - close)
        ci[new, F_LO] = g
        ci[new, F_HI] = mid
        ci[new, F_LEVEL] = k + 1
        cf[new, F_ALPHA] = a1
        cf[new, F_BETA] = b1
        cf[new, F_SCALE] = s * (1.0 - close)
        _heap_push(ci, cf, m, a1 * tab[T_U0 + g] + b1, new)
    hi = ci[j, F_HI]
    r0 = _col(tab, k)
    if _at(tab, hi, r0) - _at(tab, mid, r0) > 0.0:
        ci[j, F_LO] = mid
        _heap_push(ci, cf, m, a * tab[T_U0 + mid] + b, j)
    else:
        ci[int(m[M_FAST_FREE]), F_FREE] = j
        m[M_FAST_FREE] += 1.0


_fast_split = njit(cache=True, inline="always", error_model="numpy")(_fast_split_py)


def _search_py(tab: FloatArray1D, lo: int, hi: int, key: float, right: bool) -> int:
    """First position in [lo, hi) with ``u0 >= key`` (``right``: > key), else ``hi``;
    galloping from ``lo``, as the answer is usually a few positions away."""
    a = lo
    step = 1
    while a < hi:
        probe = min(a + step, hi) - 1
        v = tab[T_U0 + probe]
        if v < key or (right and v == key):
            a = probe + 1
            step *= 2
        else:
            hi = probe
            break
    while a < hi:
        half = (a + hi) >> 1
        v = tab[T_U0 + half]
        if v < key or (right and v == key):
            a = half + 1
        else:
            hi = half
    return a


_search = njit(cache=True, inline="always")(_search_py)


def _fast_round_py(rules: LiquidationRules, fee_share: float, tab: FloatArray1D, ci: IntArray,
                   cf: FloatArray2D, m: FloatArray1D, p: float, o: FloatArray1D
                   ) -> tuple[bool, float]:
    """One round of the plain book at ``p``: ``(anyone called, ETH to liquidators)``.

    Only the cohorts whose first position has HF < 1 are taken out of the heap: a round
    costs O(log) per cohort called, not per borrower nor per cohort alive."""
    x = 1.0 / p
    n_out = 0
    while m[M_FAST_N] > 0.0 and cf[0, F_HEAP_KEY] < x:  # out first: one call per round each
        ci[n_out, F_OUT] = _heap_pop(ci, cf, m)
        n_out += 1
    fch = rules.full_close_hf if rules.close_factor < 1.0 else math.inf
    cap_u = (1.0 + tab[T_BONUS]) * tab[T_LT] * x
    received = 0.0
    calls = 0.0
    for q in range(n_out):
        j = ci[q, F_OUT]
        lo, hi = ci[j, F_LO], ci[j, F_HI]
        a, b = cf[j, F_ALPHA], cf[j, F_BETA]
        inv_a = 1.0 / a
        mid = _search(tab, lo, hi, (x - b) * inv_a, False)  # HF < 1: u < 1 / p
        g = gc = lo
        if not a * tab[T_U0 + lo] + b > fch * x:  # a gap: someone at HF <= full_close_hf
            g = _search(tab, lo, mid, (fch * x - b) * inv_a, True)
            gc = _search(tab, lo, g, (cap_u - b) * inv_a, False)
        called = _cohort_call(rules, tab, ci, cf, j, (lo, gc, g, mid), x, fee_share)
        if called.n_calls > 0.0:
            calls += called.n_calls
            if ci[j, F_LEVEL] == 0:
                o[OUT_ACCOUNTS_LIQUIDATED] += called.n_calls
            to_liq = called.seized_eth - called.fee_eth
            received += to_liq
            o[OUT_SEIZED_ETH] += called.seized_eth
            o[OUT_TO_LIQUIDATOR_ETH] += to_liq
            o[OUT_PROTOCOL_FEE_ETH] += called.fee_eth
            o[OUT_DEBT_REPAID_USD] += called.repaid_usd
            m[M_FAST_DC] -= called.seized_eth
            m[M_FAST_DD] -= called.repaid_usd
            if rules.write_off_bad_debt and called.bad_usd > 0.0:
                o[OUT_BAD_DEBT_USD] += called.bad_usd
                m[M_FAST_DD] -= called.bad_usd
        _fast_split(rules, tab, ci, cf, m, j, g, mid, x)
    o[OUT_CALLS] += calls
    return calls > 0.0, received


# plain arrays, inlined: a record of arrays passed or bound costs a reference count per array
_fast_round = njit(cache=True, inline="always", error_model="numpy")(_fast_round_py)


def _whale_round_py(rules: LiquidationRules, actors: CascadeActors, whale: LargeAccountRecord,
                    m: FloatArray1D, t: int, p: float, o: FloatArray1D) -> float:
    """The large account's call of this round; ETH to the liquidator (-1: none)."""
    lt = whale.liquidation_threshold
    c = m[M_WHALE_C]
    d = m[M_WHALE_D]
    if not (d > 0.0 and c * p * lt < d):
        return -1.0
    status, repaid, seized, to_liq, fee, bad, _, _ = liquidate_one(
        rules, c, d, p, lt, whale.liquidation_bonus, actors.protocol_fee, math.inf)
    if status != STATUS_LIQUIDATED:
        return -1.0
    m[M_WHALE_C] = max(c - seized, 0.0)
    if bad > 0.0 and rules.write_off_bad_debt:
        m[M_WHALE_D] = 0.0
        o[OUT_BAD_DEBT_USD] += bad
        o[OUT_WHALE_BAD_DEBT_USD] += bad
    else:
        m[M_WHALE_D] = max(d - repaid, 0.0) if m[M_WHALE_C] > 0.0 or bad > 0.0 else 0.0
    o[OUT_SEIZED_ETH] += seized
    o[OUT_TO_LIQUIDATOR_ETH] += to_liq
    o[OUT_PROTOCOL_FEE_ETH] += fee
    o[OUT_DEBT_REPAID_USD] += repaid
    o[OUT_WHALE_SEIZED_ETH] += seized
    o[OUT_CALLS] += 1.0
    if o[OUT_WHALE_FIRST_STEP] < 0.0:
        o[OUT_WHALE_FIRST_STEP] = float(t)
    return float(to_liq)


_whale_round = njit(cache=True, inline="always", error_model="numpy")(_whale_round_py)


def _price_py(law: ImpactLaw, e_t: float, m: FloatArray1D) -> float:
    """The mid ``E_t (1 - I(q_perm, q_mem, V))`` from the path's state ``m``."""
    q_perm = m[M_Q_PERM]
    if law.exponent == 0.5 and law.permanent == 1.0 and law.scale > 0.0:
        # the permanent square-root law (the default): sqrt is several times cheaper than
        # the general law's pow(x, 0.5) and equal to rounding
        frac = law.scale * math.sqrt(q_perm / m[M_DEPTH])
        return float(e_t * (1.0 - (frac if frac < 1.0 else 1.0)))
    out: float = e_t * (1.0 - impact_fraction(law, q_perm, m[M_Q_MEM], m[M_DEPTH]))
    return out


_price = njit(cache=True, inline="always")(_price_py)


def _open_step_py(law: ImpactLaw, actors: CascadeActors, whale: LargeAccountRecord,
                  m: FloatArray1D, slot: int, fslot: int, e_t: float
                  ) -> tuple[float, float, float]:
    """Sales decided at the end of the last step (``m``: the path's state array; ``slot``
    and ``fslot``: this step's slots of the liquidators' deferred sales and of the large
    account's sales): ``(liquidators' deferred sale, others' sales, the large account's
    sale)``."""
    a = actors
    m[M_Q_MEM] = decay_memory(law, m[M_Q_MEM], a.step_s)
    if law.thin_vol > 0.0 or law.thin_drawdown > 0.0:
        drawdown = 1.0 - m[M_P] / m[M_PEAK] if m[M_PEAK] > 0.0 else 0.0
        m[M_DEPTH] = depth_eth(law, math.sqrt(m[M_VAR]), drawdown)
    q_liq = m[slot]
    m[slot] = 0.0
    q_other = a.follower_kappa * m[fslot]
    m[fslot] = 0.0
    if m[M_PANIC_DONE] == 0.0 and m[M_P] <= m[M_P0] * (1.0 - a.panic_drawdown):
        q_other += a.panic_eth
        m[M_PANIC_DONE] = 1.0
    whale_sold = 0.0
    rate = whale.sell_eth_per_step
    if rate > 0.0 and m[M_WHALE_C] > 0.0:
        p_open = _price(law, e_t, m)
        sale = min(rate, m[M_WHALE_C])
        if m[M_WHALE_D] > 0.0 and p_open > 0.0:
            sale = min(sale, m[M_WHALE_D] / p_open)
            m[M_WHALE_C] -= sale
            m[M_WHALE_D] = max(m[M_WHALE_D] - sale * p_open, 0.0)
            whale_sold = sale
            q_other += sale
    m[M_Q_PERM], m[M_Q_MEM] = add_volume(law, m[M_Q_PERM], m[M_Q_MEM], q_liq + q_other)
    return q_liq, q_other, whale_sold


_open_step = njit(cache=True, inline="always")(_open_step_py)


def _settle_py(run: LadderRun, acct: FloatArray2D, ints: IntArray1D, links: IntArray,
               keys: FloatArray1D, m: FloatArray1D, sched: LadderSchedule, coh: Cohorts,
               t: int, e_t: float, p: float, o: FloatArray1D) -> tuple[float, float]:
    """The fixed point of step ``t`` from its opening mid ``p``: rounds at the current
    price until nobody is liquidated. Returns ``(mid, ETH seized from the large account)``.
    Arrays: the scratch's and the schedule's."""
    rules, law, a, whale = run
    trigger, who_kind, tab = sched
    ci, cf = coh
    k_slots = max(a.k_defer, 1)
    phi_now = a.phi if a.k_defer > 0 else 1.0
    scale = m[M_Q_SCALE]
    whale_sold = 0.0
    rounds = 0
    while p > 0.0:
        if rounds >= a.max_rounds:
            o[OUT_CAPPED_STEPS] += 1.0
            break
        whale_got = _whale_round(rules, a, whale, m, t, p, o)
        active, received, sold = _round(rules, a, acct, ints, links, keys, trigger, who_kind, p,
                                        scale, o)
        if p * m[M_FAST_UMIN] < 1.0:
            plain_active, plain_got = _fast_round(rules, a.protocol_fee, tab, ci, cf, m, p, o)
            if plain_active:
                active = True
                received += plain_got
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
            for s in range(N_M, N_M + k_slots):
                m[s] += later
        o[OUT_LIQUIDATOR_SOLD_ETH] += now
        o[OUT_OTHER_SOLD_ETH] += sold
        m[M_Q_PERM], m[M_Q_MEM] = add_volume(law, m[M_Q_PERM], m[M_Q_MEM], now + sold)
        p = _price(law, e_t, m)
    o[OUT_ROUNDS] += rounds
    return p, whale_sold


_settle = njit(cache=True, error_model="numpy")(_settle_py)


def _walk_py(run: LadderRun, acct: FloatArray2D, ints: IntArray1D, links: IntArray,
             keys: FloatArray1D, m: FloatArray1D, sched: LadderSchedule, coh: Cohorts,
             exo: FloatArray1D, o: FloatArray1D, prices: FloatArray1D) -> float:
    """Every step of one path: the opening sales, then :func:`_settle` when a trigger is
    above the opening mid (else the step is quiet and costs a few comparisons); returns
    the last mid. ``prices``: empty, or one per step to record."""
    law, a, whale = run.law, run.actors, run.whale
    k_slots = max(a.k_defer, 1)
    lag = max(a.follower_lag, 1)
    lag_at = N_M + k_slots
    # the slots of step t are t % k_slots and t % lag, kept as counters: an integer
    # division per step costs as much as the rest of a quiet step
    ik = 1 % k_slots
    il = 1 % lag
    trigger = sched.trigger_usd
    n_rungs = trigger.shape[0]
    scale = m[M_Q_SCALE]
    record = prices.shape[0] == exo.shape[0]
    vol_state = law.thin_vol > 0.0 and law.vol_halflife_s < math.inf
    p = exo[0]
    for t in range(1, exo.shape[0]):
        e_t = exo[t]
        if e_t < o[OUT_MIN_EXOGENOUS]:
            o[OUT_MIN_EXOGENOUS] = e_t
        q_liq, q_other, whale_sold = _open_step(law, a, whale, m, N_M + ik, lag_at + il, e_t)
        o[OUT_LIQUIDATOR_SOLD_ETH] += q_liq
        o[OUT_OTHER_SOLD_ETH] += q_other
        p = _price(law, e_t, m)
        ptr = ints[C_PTR]
        if p > 0.0 and ((m[M_WHALE_D] > 0.0
                         and m[M_WHALE_C] * p * whale.liquidation_threshold < m[M_WHALE_D])
                        or ints[C_Q_TOP] >= _bucket(p, scale)
                        or (ptr < n_rungs and trigger[ptr] > p)
                        or p * m[M_FAST_UMIN] < 1.0):
            p, whale_got = _settle(run, acct, ints, links, keys, m, sched, coh, t, e_t, p, o)
            whale_sold += whale_got
        m[lag_at + il] = whale_sold
        ik = ik + 1 if ik + 1 < k_slots else 0
        il = il + 1 if il + 1 < lag else 0
        if vol_state and p > 0.0 and m[M_P] > 0.0:
            m[M_VAR] = ewma_variance(law, m[M_VAR], math.log(p / m[M_P]), a.step_s)
        m[M_P] = p
        if p > m[M_PEAK]:
            m[M_PEAK] = p
        if p < o[OUT_MIN_PRICE]:
            o[OUT_MIN_PRICE] = p
        if record:
            prices[t] = p
    return float(p)


_walk = njit(cache=True, error_model="numpy")(_walk_py)


def _start_path_py(run: LadderRun, sched: LadderSchedule, sc: LadderScratch, coh: Cohorts,
                   p0: float, o: FloatArray1D) -> None:
    # the heads the last path pushed to (a memset of every bucket costs as much as a path)
    sc.ints[sc.ints[C_Q_MIN]:sc.ints[C_Q_MAX] + 1] = -1
    sc.ints[Q_BUCKETS:] = 0
    sc.ints[C_Q_TOP] = -1
    sc.ints[C_Q_MIN] = Q_BUCKETS
    sc.ints[C_Q_MAX] = -1
    m = sc.state
    scale = m[M_Q_SCALE]
    m[:] = 0.0
    m[M_Q_SCALE] = scale
    m[M_DEPTH] = depth_eth(run.law, 0.0, 0.0)
    m[M_P] = p0
    m[M_P0] = p0
    m[M_PEAK] = p0
    m[M_PANIC_DONE] = 1.0 if run.actors.panic_eth <= 0.0 else 0.0
    m[M_WHALE_C] = run.whale.collateral_eth
    m[M_WHALE_D] = run.whale.debt_usd
    _fast_start(sched.plain, coh, m)
    o[:] = 0.0
    o[OUT_WHALE_FIRST_STEP] = -1.0
    o[OUT_MIN_PRICE] = p0
    o[OUT_MIN_EXOGENOUS] = p0


_start_path = njit(cache=True)(_start_path_py)


def _end_path_py(actors: CascadeActors, sc: LadderScratch, totals: FloatArray1D,
                 o: FloatArray1D) -> None:
    """What is left; the touched borrowers go back to untouched for the next path."""
    debt_left = totals[0]
    coll_left = totals[1]
    acct = sc.acct
    for k in range(sc.ints[C_TOUCHED]):
        i = sc.links[k, L_TOUCHED]
        debt_left += acct[i, A_D] - acct[i, A_D0]
        coll_left += acct[i, A_C] - acct[i, A_C0]
        acct[i, A_C] = math.nan
        acct[i, A_MARK] = -4.0
    m = sc.state
    debt_left += m[M_FAST_DD]
    coll_left += m[M_FAST_DC]
    o[OUT_HELD_ETH] = np.sum(m[N_M:N_M + max(actors.k_defer, 1)])
    o[OUT_DEBT_LEFT_USD] = debt_left + m[M_WHALE_D]
    o[OUT_COLLATERAL_LEFT_ETH] = coll_left + m[M_WHALE_C]


_end_path = njit(cache=True)(_end_path_py)


def _path_py(run: LadderRun, sched: LadderSchedule, coh: Cohorts, exo: FloatArray1D,
             sc: LadderScratch, totals: FloatArray1D, o: FloatArray1D, prices: FloatArray1D
             ) -> None:
    """One path from the book's start; ``prices`` empty or one per step."""
    p = exo[0]
    _start_path(run, sched, sc, coh, p, o)
    if prices.shape[0] == exo.shape[0]:
        prices[0] = p
    acct, ints, links, keys, m = sc  # once: each array a function takes is counted
    o[OUT_FINAL_PRICE] = _walk(run, acct, ints, links, keys, m, sched, coh, exo, o, prices)
    _end_path(run.actors, sc, totals, o)


_path = njit(cache=True)(_path_py)


def _block_py(blk: int, n_blocks: int, exogenous_usd: FloatArray2D, template: FloatArray2D,
              run: LadderRun, sched: LadderSchedule, out: FloatArray2D,
              prices_out: FloatArray2D) -> None:
    """Paths ``blk, blk + n_blocks, ...`` with one scratch; the book is ``template``
    (:func:`acct_template`), the schedule and the plain book ``sched``."""
    n_paths = exogenous_usd.shape[0]
    record = prices_out.shape[0] == n_paths
    totals = np.array([np.sum(template[:, A_D0]), np.sum(template[:, A_C0])])
    sc = _scratch(template, run.actors)
    coh = _cohorts(sched.plain)
    # buckets cover [P0 / 2^8, P0 * 2^9) (P0 of the first path), the ends catch the rest
    sc.state[M_Q_SCALE] = 256.0 / exogenous_usd[0, 0]
    for path in range(blk, n_paths, n_blocks):
        prices = prices_out[path] if record else np.empty(0)
        _path(run, sched, coh, exogenous_usd[path], sc, totals, out[path], prices)


_block = njit(cache=True)(_block_py)


def simulate_ladder_py(exogenous_usd: FloatArray2D, template: FloatArray2D,
                       rules: LiquidationRules, law: ImpactLaw, actors: CascadeActors,
                       whale: LargeAccountRecord, trigger_usd: FloatArray1D,
                       who_kind: IntArray, plain: FloatArray1D, n_blocks: int,
                       out: FloatArray2D, prices_out: FloatArray2D) -> None:
    """Run the ladder engine on every path: ``out[path, OUT_*]`` and, when ``prices_out`` has
    one row per path, the mid at the end of each step (column 0: the start price).

    ``template``: the (renumbered) book's rows (:func:`acct_template`); ``trigger_usd`` and
    ``who_kind`` (rows: borrower, kind): the schedule of the borrowers walked one by one;
    ``plain``: :func:`fast_tables` of the plain borrowers (taken out of the schedule; their
    rows in ``template`` stay untouched). Paths are split into ``n_blocks`` interleaved
    blocks, each with its own scratch; the results depend neither on it nor on the number
    of threads.
    """
    for blk in prange(n_blocks):
        _block(np.int64(blk), n_blocks, exogenous_usd, template,
               LadderRun(rules, law, actors, whale),
               LadderSchedule(trigger_usd, who_kind, plain), out, prices_out)


simulate_ladder = njit(cache=True, parallel=True, error_model="numpy")(simulate_ladder_py)

__all__ = [
    "Cohorts",
    "LadderRun",
    "LadderSchedule",
    "LadderScratch",
    "acct_template",
    "fast_tables",
    "plain_mask",
    "plain_rules_ok",
    "simulate_ladder",
    "simulate_ladder_py",
]

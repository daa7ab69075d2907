"""The unwind time loop: one leveraged position over a batch of exogenous price paths.

Every path carries its own copy of the position (several single-collateral ETH /
stablecoin-debt accounts), its own market (permanent and transient impact of every sale in
the model: the owner's, liquidators', followers' and the other borrowers' liquidations), its
own oracle and its own reserve totals. Paths are independent, so the loop over paths is a
``prange`` and the result does not depend on the number of threads (no reductions across
paths, no random numbers: the exogenous paths are drawn beforehand by the wrapper).

The kernel takes records (NamedTuples of arrays and numbers, :class:`UnwindSpec`): the
accounts (:class:`UnwindAccounts`), the market (:class:`MarketSpec`, holding the impact law
as an :class:`~delever.kernels.records.ImpactLaw`), the protocol's liquidation rules (a
:class:`~delever.kernels.records.LiquidationRules`), the strategy's rule
(:class:`UnwindRule`), the reserves (:class:`ReserveCurves`) and the other borrowers'
ladder (:class:`BookLadder`); the state and the per-step record live in
:class:`UnwindState` and :class:`UnwindOutputs`.

A strategy reaches the kernel as a rule: a rule code (``RULE_*``), a parameter vector and a
per-step schedule. ``RULE_CUSTOM`` takes this step's desired sale from
``UnwindState.want_eth`` (one value per path), which is how a Python strategy drives the
same step code one step at a time (see :mod:`delever.sim.unwind`).

One step ``k`` of one path, in this order (each stage its own function):

1. interest (:func:`_accrue`): every account's debt grows by ``1 + x + x^2/2 + x^3/6``,
   ``x = r * dt / year``, ``r`` the debt reserve's borrow rate at its utilization (Aave
   ``calculateCompoundedInterest`` and the two-slope curve); the reserve's debt and supply
   grow by the same interest; the WETH reserve accrues at its own rate (the owner's
   collateral earns no supply interest here);
2. the market (:func:`_move_market`): the transient impact decays over the step
   (:func:`~delever.kernels.impact_law.decay_memory`: its impact shrinks by
   ``exp(-decay_per_s * dt)``); ``mid = exo[k] * (1 - I)``; the realized-volatility EWMA
   (of the mid's log return since the last step's record) and the running peak of the mid
   update, and the depth ``V`` is thinned by them
   (:func:`~delever.kernels.impact_law.depth_eth`; a fixed-depth law keeps ``V``);
3. followers (:func:`_followers`, ``follow_kappa > 0``): they sell
   ``kappa * (sold[k - lag] + seized[k - lag])``, the owner's sales plus the collateral
   seized from it ``lag`` steps earlier (nothing while ``k - lag < 1``), into the same
   metaorder market; the mid and the running low follow;
4. the oracle: ``oracle_step`` (heartbeat and deviation) to the mid; or, with
   ``MarketSpec.oracle_path``, that path's answer for the step (an exchange-rate oracle,
   which no sale moves; the book's rungs are then triggered by it too);
5. the owner's sale (:func:`_owner_sale`, the rule), each account capped by the withdrawal
   rule (below), sold as one metaorder (:func:`~delever.kernels.impact_law.fill`); the
   proceeds repay each account's own debt, the excess goes to cash, and cash then repays
   the other accounts' debt;
6. the oracle again (deviation rule only: ``step_s = 0``), so it can react to the sale;
7. liquidation rounds (:func:`_liquidation_rounds`): every account with HF < 1 at the
   oracle price gets one liquidation call with ``debtToCover = max`` by the protocol's
   rules record (:func:`delever.kernels.liquidation.liquidate_one`); the liquidator sells
   ``liq_sell_frac`` of its ETH inventory into the same market; the oracle re-checks; then
   the other borrowers' book (below) liquidates every rung the mid has reached, its
   liquidators sell, the oracle re-checks; repeat while a round liquidated someone (owner
   or book), at most ``max_rounds`` rounds;
8. the record (:func:`_record`).

The other borrowers' book arrives as a ladder of rungs (:mod:`delever.book.cascade`):
``trigger_usd`` (descending) and ``value_usd`` = the ETH the rung's liquidator sells if the
call executes at its trigger, times that trigger. Debt covered is fixed in USD and Aave
converts it at the execution price, so a rung executed at mid ``p`` sells ``value / p`` ETH.
In a round, every not-yet-triggered rung with trigger >= mid is taken (a pointer walk down
the sorted rungs: O(rungs crossed)), their ETH is sold at once through the same metaorder
curve, the mid is recomputed, and this repeats until no new rung is crossed.
APPROXIMATION: rungs are triggered by the mid, not by the oracle (the book's accounts are
many and small; the oracle lags the mid by at most the deviation threshold), each rung is
triggered once (the ladder's later rungs stand for re-liquidation; a borrower already below
HF 0.95 in a gap is not closed 100% as Aave would), and the book's liquidations do not touch
the owner's reserve totals.

Impact: the market's :class:`~delever.kernels.records.ImpactLaw`, a *metaorder* law, so that
slicing a sale does not inflate it (:mod:`delever.kernels.impact_law`). Every ETH sold into
the market by the model's sellers (owner, its liquidators, followers and the book's
liquidators) adds to two volumes: ``Q_all`` (all of it, kept: the permanent part) and
``Q_mem`` (decaying: the transient part). The impact on the mid is
``I = scale (perm (Q_all / V)^e + (1 - perm) (Q_mem / V)^e)`` and ``mid = exo (1 - I)``; a
sale walks that curve. For the square-root law (``e = 1/2``, ``scale = Y sigma``) one sale
from a fresh market fills at ``m (1 - 2/3 I)`` (Bouchaud, Bonart, Donier & Gould 2018,
ch. 12), as :class:`delever.market.SquareRootImpact`; a sale in many slices with no decay
costs the same as one sale of the total. With ``decay_per_s = inf`` the transient part is
gone at once and the mid right after is ``m (1 - perm I)``. Beyond the law's capacity
(``I = 1``) the rest is unfilled. APPROXIMATION: the HF ladder sizes its sale with the
fill discount of a fresh market, ``scale (q / V)^e / (e + 1)``.

Withdrawal rule (the owner sells only what the protocol lets it withdraw): with
``repay_with_collateral`` false the owner withdraws, sells and then repays, so the
withdrawal itself must leave ``HF >= floor`` (``floor >= 1``, Aave's ``validateHFAndLtv``) at
the oracle price: ``x <= c - floor * d / (p_oracle * LT)``. With ``repay_with_collateral``
(Aave's repay-with-collateral adapter, a flash loan) the repayment comes first and no cap
applies beyond the collateral held. Either way, the owner's withdrawals together cannot
exceed the WETH reserve's available liquidity ``supplied - borrowed``.

Liquidations: the repaid debt, seized ETH and protocol fee are those of the rules record.
When a call takes all of an account's collateral, the debt left is written off as bad debt
if ``rules.write_off_bad_debt`` (Aave v3.3+, Morpho Blue); otherwise (Aave v3.0) it stays
owed on the empty account and is not counted as bad debt.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from delever._typing import FloatArray1D, FloatArray2D
from delever.kernels._numba import njit, prange
from delever.kernels.impact_law import (
    add_volume,
    decay_memory,
    depth_eth,
    ewma_variance,
    fill,
    impact_fraction,
)
from delever.kernels.liquidation import STATUS_LIQUIDATED, liquidate_one
from delever.kernels.oracle import oracle_step
from delever.kernels.records import ImpactLaw, LiquidationRules

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
S_VAR = 28  # EWMA of the mid's squared log returns, per day (ImpactLaw.vol_halflife_s)
S_PEAK = 29  # running peak of the mid, USD (drawdown thinning)
S_DEPTH = 30  # depth V this step, ETH: the law's adv_eth thinned by volatility and drawdown
N_STATE = 31

# MarketSpec.oracle_path: follow the mid. Writable like every path array, so that numba
# compiles one signature for both cases.
NO_ORACLE_PATH: FloatArray2D = np.empty((0, 0))


# ---------------------------------------------------------------------------------------------
# Records


class UnwindAccounts(NamedTuple):
    """The owner's accounts at the start, one entry per account."""

    collateral_eth: FloatArray1D
    debt_usd: FloatArray1D
    liquidation_threshold: FloatArray1D
    liquidation_bonus: FloatArray1D
    protocol_fee: FloatArray1D


class MarketSpec(NamedTuple):
    """The market and the actors that trade in it (the unwind kernel's market record)."""

    var0_per_day: float  # the realized-variance EWMA's start (squared daily volatility)
    step_s: float  # seconds per step
    heartbeat_s: float  # oracle heartbeat (<= 0: the oracle follows the mid)
    deviation: float  # oracle deviation threshold (<= 0: the oracle follows the mid)
    follow_kappa: float  # followers sell kappa x (owner's sales + seizures) lag steps later
    follow_lag: int  # steps, >= 1
    liq_sell_frac: float  # share of its ETH inventory a liquidator sells each round
    max_rounds: int  # liquidation rounds per step, at most
    # (n_paths, n_steps + 1) exogenous oracle answers, or (0, 0): the oracle follows the mid.
    # An exchange-rate oracle (Aave's CAPO adapters read the token's contract rate, not the
    # market) is exogenous: the model's sales move the mid, never this answer.
    oracle_path: FloatArray2D = NO_ORACLE_PATH


class UnwindRule(NamedTuple):
    """The owner's strategy as the kernel sees it (``delever.strategy.RuleSpec`` in numbers)."""

    rule: int  # RULE_* code
    params: FloatArray1D  # (N_PARAMS,) the rule's numbers
    schedule_cum: FloatArray1D  # (n_steps,) cumulative fraction of eth0 sold by step k
    split: FloatArray1D  # (n_accounts,) fixed shares of each sale, or empty: pro rata
    eth0: float  # the position's ETH at the start
    floor_hf: float  # lowest HF a withdrawal may leave (at least 1)
    repay_with_collateral: bool  # flash-loan repay first: no withdrawal cap


class ReserveCurves(NamedTuple):
    """The reserves' rate curves ``(Uopt, base, slope1, slope2)`` and starting totals."""

    debt_curve: FloatArray1D
    weth_curve: FloatArray1D
    reserves0: FloatArray1D  # (debt supplied, debt borrowed, WETH supplied, WETH borrowed)


class BookLadder(NamedTuple):
    """The other borrowers' liquidation rungs (triggers descending; empty: no book)."""

    trigger_usd: FloatArray1D
    value_usd: FloatArray1D


class UnwindSpec(NamedTuple):
    """Everything fixed over a run: what the step stages read.

    Every field is a flat record (no record inside another): numba's parallel loop can take
    flat records as arguments only, so the kernels pass the fields and rebuild this record
    inside the loop."""

    accounts: UnwindAccounts
    market: MarketSpec
    law: ImpactLaw  # the market's impact law (delever.kernels.impact_law)
    rules: LiquidationRules
    rule: UnwindRule
    curves: ReserveCurves
    book: BookLadder


class UnwindState(NamedTuple):
    """The per-path state the kernel advances: ``(n_paths, N_STATE)`` and per account."""

    st: FloatArray2D
    coll: FloatArray2D  # (n_paths, n_accounts) ETH
    debt: FloatArray2D  # (n_paths, n_accounts) USD
    want_eth: FloatArray1D  # (n_paths,) this step's sale under RULE_CUSTOM (set by the caller)


class UnwindOutputs(NamedTuple):
    """The per-step record, each ``(n_paths, n_steps + 1)``, column 0 the start."""

    mid_usd: FloatArray2D
    oracle_usd: FloatArray2D
    health_factor: FloatArray2D
    sold_eth: FloatArray2D
    seized_eth: FloatArray2D
    debt_usd: FloatArray2D
    cash_usd: FloatArray2D


def new_state(n_paths: int, n_accounts: int) -> UnwindState:
    """Uninitialised state arrays (:func:`unwind_init` fills them)."""
    return UnwindState(np.empty((n_paths, N_STATE)), np.empty((n_paths, n_accounts)),
                       np.empty((n_paths, n_accounts)), np.zeros(n_paths))


def new_outputs(n_paths: int, n_cols: int) -> UnwindOutputs:
    """Uninitialised record arrays for ``n_cols = n_steps + 1`` columns."""
    return UnwindOutputs(*(np.empty((n_paths, n_cols)) for _ in range(7)))


# ---------------------------------------------------------------------------------------------
# Small pieces


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


def _mid_py(law: ImpactLaw, s: FloatArray1D, exo: float) -> float:
    """The mid of a path whose state row is ``s``, at exogenous price ``exo``."""
    fraction: float = impact_fraction(law, s[S_QALL], s[S_QMEM], s[S_DEPTH])
    return exo * (1.0 - fraction)


_mid = njit(cache=True, inline="always")(_mid_py)


def _sell_py(law: ImpactLaw, s: FloatArray1D, q: float, exo: float) -> tuple[float, float]:
    """Sell ``q`` ETH along the metaorder curve; update the volumes. Returns filled and USD.

    The callers carry the mid from stage to stage (each ``_mid`` costs two powers)."""
    filled: float
    proceeds: float
    filled, proceeds = fill(law, s[S_QALL], s[S_QMEM], s[S_DEPTH], exo, q)
    q_all, q_mem = add_volume(law, s[S_QALL], s[S_QMEM], filled)
    s[S_QALL] = q_all
    s[S_QMEM] = q_mem
    return filled, proceeds


_sell = njit(cache=True, inline="always")(_sell_py)


def _hf_min_py(coll: FloatArray1D, debt: FloatArray1D, lt: FloatArray1D, p: float) -> float:
    """Lowest HF over the accounts with debt at price ``p`` (inf with no debt)."""
    out = math.inf
    for a in range(coll.shape[0]):
        if debt[a] > 0.0:
            hf = coll[a] * p * lt[a] / debt[a]
            out = min(out, hf)
    return out


_hf_min = njit(cache=True, inline="always")(_hf_min_py)


def _oracle_py(market: MarketSpec, s: FloatArray1D, mid: float, dt_s: float) -> float:
    """Advance the path's oracle by ``dt_s`` to ``mid``; returns the answer. An exogenous
    oracle (``market.oracle_path``) keeps the answer its step set."""
    if market.oracle_path.shape[0] > 0:
        answer: float = s[S_ORACLE]
        return answer
    ans: float
    since: float
    ans, since = oracle_step(s[S_ORACLE], s[S_SINCE], mid, dt_s, market.heartbeat_s,
                             market.deviation)
    s[S_ORACLE] = ans
    s[S_SINCE] = since
    return ans


_oracle = njit(cache=True, inline="always")(_oracle_py)


# ---------------------------------------------------------------------------------------------
# Stages 1-3: interest, the market, followers


def _accrue_py(curves: ReserveCurves, step_s: float, s: FloatArray1D, debt: FloatArray1D
               ) -> None:
    """Stage 1: interest over the step, at the rates set by the last action."""
    g_d = compounded(rate(s[S_D_BOR], s[S_D_SUP], curves.debt_curve), step_s)
    accrued = 0.0
    for a in range(debt.shape[0]):
        inc = debt[a] * (g_d - 1.0)
        debt[a] += inc
        accrued += inc
    s[S_ACCRUED] += accrued
    reserve_interest = s[S_D_BOR] * (g_d - 1.0)
    s[S_D_BOR] += reserve_interest
    s[S_D_SUP] += reserve_interest
    if math.isfinite(s[S_W_SUP]):
        g_w = compounded(rate(s[S_W_BOR], s[S_W_SUP], curves.weth_curve), step_s)
        w_int = s[S_W_BOR] * (g_w - 1.0)
        s[S_W_BOR] += w_int
        s[S_W_SUP] += w_int


_accrue = njit(cache=True, inline="always")(_accrue_py)


def _move_market_py(law: ImpactLaw, step_s: float, s: FloatArray1D, exo: float,
                    prev_mid: float) -> float:
    """Stage 2: the exogenous move, the transient decay, volatility, peak and depth; the mid."""
    s[S_QMEM] = decay_memory(law, s[S_QMEM], step_s)
    mid: float = _mid(law, s, exo)
    if law.vol_halflife_s < math.inf and mid > 0.0 and prev_mid > 0.0:
        s[S_VAR] = ewma_variance(law, s[S_VAR], math.log(mid / prev_mid), step_s)
    if mid > s[S_PEAK]:
        s[S_PEAK] = mid
    if law.thin_vol > 0.0 or law.thin_drawdown > 0.0:
        drawdown = 1.0 - mid / s[S_PEAK] if s[S_PEAK] > 0.0 else 0.0
        s[S_DEPTH] = depth_eth(law, math.sqrt(s[S_VAR]), drawdown)
        mid = _mid(law, s, exo)
    if mid < s[S_LOW]:
        s[S_LOW] = mid
    return mid


_move_market = njit(cache=True, inline="always")(_move_market_py)


def _followers_py(market: MarketSpec, law: ImpactLaw, s: FloatArray1D, out: UnwindOutputs,
                  i: int, k: int, exo: float, mid: float) -> float:
    """Stage 3: followers copy the owner's sales and seizures of ``lag`` steps ago."""
    lag = market.follow_lag if market.follow_lag > 0 else 1
    if not (market.follow_kappa > 0.0 and k - lag >= 1):
        return mid
    q_fol = market.follow_kappa * (out.sold_eth[i, k - lag] + out.seized_eth[i, k - lag])
    if q_fol <= 0.0:
        return mid
    q_f, _usd = _sell(law, s, q_fol, exo)
    s[S_FOLLOW_SOLD] += q_f
    mid = _mid(law, s, exo)
    if mid < s[S_LOW]:
        s[S_LOW] = mid
    return mid


_followers = njit(cache=True, inline="always")(_followers_py)


# ---------------------------------------------------------------------------------------------
# Stage 5: the owner's sale


def _rule_total_py(rule: UnwindRule, s: FloatArray1D, k: int, mid: float, held_eth: float,
                   want_eth: float) -> float:
    """The ETH the rule wants sold this step (all rules but the HF ladder)."""
    code = rule.rule
    if code == RULE_SCHEDULE:
        out: float = rule.schedule_cum[k - 1] * rule.eth0 - s[S_SOLD]
        return out
    if code == RULE_STOP_LOSS:
        if mid <= rule.params[0]:
            s[S_FLAG] = 1.0
        return held_eth if s[S_FLAG] > 0.0 else 0.0
    if code == RULE_REBOUND:
        if held_eth > 0.0 and mid >= s[S_LOW] * (1.0 + rule.params[0]):
            s[S_LOW] = mid  # the next batch needs a new rebound from here
            batch: float = rule.params[1] * rule.eth0
            return batch
        return 0.0
    if code == RULE_CUSTOM:
        return want_eth
    return 0.0


_rule_total = njit(cache=True, inline="always")(_rule_total_py)


def _ladder_want_py(rule: UnwindRule, law: ImpactLaw, depth_eth_now: float, lt: FloatArray1D,
                    coll: FloatArray1D, debt: FloatArray1D, p_o: float, mid: float,
                    want: FloatArray1D) -> None:
    """The HF ladder's sale per account: HF after selling ``x`` at fill ``m (1 - delta)`` is
    the target, ``x = (H d - c p LT) / (H m (1 - delta) - p LT)``; ``delta`` (the fill
    discount of a fresh market, ``scale (q / V)^e / (e + 1)``) by fixed point."""
    trigger = rule.params[0]
    target = rule.params[1]
    delta = 0.0
    for _ in range(6):
        tot = 0.0
        for a in range(coll.shape[0]):
            d = debt[a]
            c = coll[a]
            want[a] = 0.0
            if d <= 0.0 or c <= 0.0:
                continue
            if c * p_o * lt[a] / d >= trigger:
                continue
            den = target * mid * (1.0 - delta) - p_o * lt[a]
            x = (target * d - c * p_o * lt[a]) / den if den > 0.0 else c
            want[a] = min(max(x, 0.0), c)
            tot += want[a]
        delta = law.scale * (tot / depth_eth_now) ** law.exponent / (law.exponent + 1.0)


_ladder_want = njit(cache=True, inline="always")(_ladder_want_py)


def _caps_py(rule: UnwindRule, lt: FloatArray1D, s: FloatArray1D, coll: FloatArray1D,
             debt: FloatArray1D, p_o: float, want: FloatArray1D) -> tuple[float, float]:
    """Cap ``want`` by the collateral held, the withdrawal rule and the WETH reserve's
    liquidity. Returns the capped total and what the rule wanted (at most what is held)."""
    floor = rule.floor_hf if rule.floor_hf > 1.0 else 1.0
    tot = 0.0
    desired = 0.0
    for a in range(coll.shape[0]):
        x = min(want[a], coll[a])
        desired += max(x, 0.0)
        if not rule.repay_with_collateral and debt[a] > 0.0:
            # worthless collateral (a mid driven to 0 at the law's capacity) frees none
            cap = coll[a] - floor * debt[a] / (p_o * lt[a]) if p_o > 0.0 else 0.0
            x = min(x, max(cap, 0.0))
        want[a] = max(x, 0.0)
        tot += want[a]
    avail = s[S_W_SUP] - s[S_W_BOR]
    if tot > avail:
        scale = max(avail, 0.0) / tot
        for a in range(coll.shape[0]):
            want[a] *= scale
        tot = max(avail, 0.0)
    return tot, desired


_caps = njit(cache=True, inline="always")(_caps_py)


def _settle_py(s: FloatArray1D, coll: FloatArray1D, debt: FloatArray1D, want: FloatArray1D,
               tot: float, filled: float, proceeds: float, mid_before: float) -> None:
    """Book a sale of ``filled`` (of ``tot`` asked): each account's ETH out and its own debt
    repaid pro rata; the excess cash repays the other accounts."""
    share = filled / tot
    s[S_SOLD] += filled
    s[S_PROCEEDS] += proceeds
    s[S_MARKVAL] += mid_before * filled
    if math.isfinite(s[S_W_SUP]):
        s[S_W_SUP] -= filled
    cash = s[S_CASH] + proceeds
    repaid = 0.0
    for a in range(coll.shape[0]):
        x = want[a] * share
        coll[a] -= x
        if coll[a] < 0.0:
            coll[a] = 0.0
        r = min(proceeds * x / filled, debt[a])
        debt[a] -= r
        repaid += r
        cash -= r
    for a in range(coll.shape[0]):  # the excess repays the other accounts
        r = min(cash, debt[a])
        if r > 0.0:
            debt[a] -= r
            repaid += r
            cash -= r
    s[S_CASH] = cash
    s[S_REPAID] += repaid
    s[S_D_BOR] = max(s[S_D_BOR] - repaid, 0.0)


_settle = njit(cache=True, inline="always")(_settle_py)


def _owner_sale_py(spec: UnwindSpec, s: FloatArray1D, coll: FloatArray1D, debt: FloatArray1D,
                   k: int, exo: float, mid: float, p_o: float, want_eth: float,
                   want: FloatArray1D) -> float:
    """Stage 5: the rule's sale, capped, sold as one metaorder at the current ``mid``,
    settled. Returns ETH filled."""
    rule = spec.rule
    law = spec.law
    held = 0.0
    for a in range(coll.shape[0]):
        want[a] = 0.0
        held += coll[a]
    total_want = _rule_total(rule, s, k, mid, held, want_eth)
    if rule.rule == RULE_HF_LADDER:
        _ladder_want(rule, law, s[S_DEPTH], spec.accounts.liquidation_threshold, coll, debt,
                     p_o, mid, want)
    elif total_want > 0.0 and held > 0.0:
        for a in range(coll.shape[0]):
            if rule.split.shape[0] == coll.shape[0]:
                want[a] = total_want * rule.split[a]
            else:
                want[a] = total_want * coll[a] / held
    tot, desired = _caps(rule, spec.accounts.liquidation_threshold, s, coll, debt, p_o, want)
    filled: float
    filled, proceeds = _sell(law, s, tot, exo)
    # a backlog is wanted again next step, so the largest one (not a sum) is what the caps
    # held back; it never exceeds the ETH held
    backlog = desired - filled
    if backlog > s[S_UNFILLED]:
        s[S_UNFILLED] = backlog
    if filled > 0.0:
        _settle(s, coll, debt, want, tot, filled, proceeds, mid)
    return filled


_owner_sale = njit(cache=True, inline="always")(_owner_sale_py)


# ---------------------------------------------------------------------------------------------
# Stage 7: liquidation rounds


def _liquidate_owner_py(spec: UnwindSpec, s: FloatArray1D, coll: FloatArray1D,
                        debt: FloatArray1D, k: int, seized_step: float, hf_trigger: float
                        ) -> tuple[bool, float, float]:
    """One call on every owner account with HF < 1 at the oracle, by the rules record.

    Returns whether any call executed, and ``seized_step`` / ``hf_trigger`` (the lowest HF
    that set off a call) updated."""
    acc = spec.accounts
    rules = spec.rules
    p_o = s[S_ORACLE]
    any_call = False
    for a in range(coll.shape[0]):
        d = debt[a]
        c = coll[a]
        lt = acc.liquidation_threshold[a]
        # at an oracle price of 0 no call can value the collateral: skip it
        if not (d > 0.0 and p_o > 0.0 and c * p_o * lt < d):
            continue
        status, repaid, seized, to_liq, fee, bad, _cf, _hf = liquidate_one(
            rules, c, d, p_o, lt, acc.liquidation_bonus[a], acc.protocol_fee[a], math.inf)
        if status != STATUS_LIQUIDATED:
            continue
        any_call = True
        hf_trigger = min(hf_trigger, c * p_o * lt / d)
        coll[a] = max(c - seized, 0.0)
        # without deficit accounting (Aave v3.0) the debt left stays owed on the empty account
        written_off = bad if rules.write_off_bad_debt else 0.0
        debt[a] = d - repaid - written_off
        if written_off > 0.0 or debt[a] < 0.0:
            debt[a] = 0.0
        s[S_SEIZED] += seized
        s[S_FEE_ETH] += fee
        s[S_LIQ_REPAID] += repaid
        s[S_BAD_DEBT] += written_off
        s[S_N_LIQ] += 1.0
        s[S_LIQ_INV] += to_liq
        seized_step += seized
        s[S_D_BOR] = max(s[S_D_BOR] - repaid - written_off, 0.0)
        if math.isfinite(s[S_W_SUP]):
            # the liquidator takes the underlying; the fee stays supplied (aTokens)
            s[S_W_SUP] = max(s[S_W_SUP] - to_liq, s[S_W_BOR])
        if s[S_FIRST_LIQ] < 0.0:
            s[S_FIRST_LIQ] = float(k)
    return any_call, seized_step, hf_trigger


_liquidate_owner = njit(cache=True, inline="always")(_liquidate_owner_py)


def _liquidator_sale_py(market: MarketSpec, law: ImpactLaw, s: FloatArray1D, exo: float
                        ) -> float:
    """The owner's liquidators sell ``liq_sell_frac`` of their inventory; the oracle checks.
    Returns the mid after the sale."""
    inv = s[S_LIQ_INV]
    q_f, _usd = _sell(law, s, inv * market.liq_sell_frac, exo)
    s[S_LIQ_INV] = inv - q_f
    s[S_LIQ_SOLD] += q_f
    mid: float = _mid(law, s, exo)
    _oracle(market, s, mid, 0.0)
    return mid


_liquidator_sale = njit(cache=True, inline="always")(_liquidator_sale_py)


def _book_round_py(market: MarketSpec, law: ImpactLaw, book: BookLadder, s: FloatArray1D,
                   exo: float, mid: float) -> tuple[bool, float]:
    """The book: every rung the mid has reached, its ETH at ``value / mid``, until no new
    rung is crossed; the oracle checks. Returns whether a rung was taken, and the mid.

    With an exogenous oracle (``market.oracle_path``) the rungs are triggered by the oracle's
    answer, which the sales do not move: one pass takes every rung at or above it."""
    trigger = book.trigger_usd
    n_rungs = trigger.shape[0]
    if n_rungs == 0:
        return False, mid
    exogenous = market.oracle_path.shape[0] > 0
    j = int(s[S_BOOK_NEXT])
    book_any = False
    level = s[S_ORACLE] if exogenous else mid
    while j < n_rungs and trigger[j] >= level and mid > 0.0:
        usd = 0.0
        while j < n_rungs and trigger[j] >= level:
            usd += book.value_usd[j]
            j += 1
        q_f, _usd = _sell(law, s, usd / mid, exo)
        s[S_BOOK_SOLD] += q_f
        book_any = True
        mid = _mid(law, s, exo)
        if not exogenous:
            level = mid
    s[S_BOOK_NEXT] = float(j)
    if book_any:
        _oracle(market, s, mid, 0.0)
    return book_any, mid


_book_round = njit(cache=True, inline="always")(_book_round_py)


def _liquidation_rounds_py(spec: UnwindSpec, s: FloatArray1D, coll: FloatArray1D,
                           debt: FloatArray1D, k: int, exo: float, mid: float
                           ) -> tuple[float, float, float]:
    """Stage 7: owner calls, its liquidators' sale, the book; repeat while any executed.

    Returns the ETH seized from the owner this step, the lowest HF that set off a call and
    the mid after the rounds."""
    market = spec.market
    seized_step = 0.0
    hf_trigger = math.inf
    for rnd in range(market.max_rounds):
        any_call, seized_step, hf_trigger = _liquidate_owner(spec, s, coll, debt, k,
                                                             seized_step, hf_trigger)
        if s[S_LIQ_INV] > 0.0 and market.liq_sell_frac > 0.0 and (any_call or rnd == 0):
            mid = _liquidator_sale(market, spec.law, s, exo)
        book_any, mid = _book_round(market, spec.law, spec.book, s, exo, mid)
        if book_any:
            any_call = True
        if not any_call:
            break
    return seized_step, hf_trigger, mid


_liquidation_rounds = njit(cache=True, inline="always")(_liquidation_rounds_py)


# ---------------------------------------------------------------------------------------------
# Stage 8, one step, the kernels


def _record_py(spec: UnwindSpec, s: FloatArray1D, coll: FloatArray1D, debt: FloatArray1D,
               out: UnwindOutputs, i: int, k: int, mid: float, filled: float,
               seized: float, hf_trigger: float) -> None:
    """Stage 8: write step ``k`` of path ``i``."""
    total_debt = 0.0
    for a in range(debt.shape[0]):
        total_debt += debt[a]
    out.mid_usd[i, k] = mid
    out.oracle_usd[i, k] = s[S_ORACLE]
    # the record keeps the HF that triggered a liquidation (before the call), so a
    # liquidated path always shows a health factor below 1
    hf = _hf_min(coll, debt, spec.accounts.liquidation_threshold, s[S_ORACLE])
    out.health_factor[i, k] = min(hf, hf_trigger)
    out.sold_eth[i, k] = filled
    out.seized_eth[i, k] = seized
    out.debt_usd[i, k] = total_debt
    out.cash_usd[i, k] = s[S_CASH]


_record = njit(cache=True, inline="always")(_record_py)


def _step_py(spec: UnwindSpec, exo: float, i: int, k: int, s: FloatArray1D,
             coll: FloatArray1D, debt: FloatArray1D, want_eth: float, out: UnwindOutputs,
             want: FloatArray1D) -> None:
    """Step ``k`` of path ``i`` (the stages of the module docstring); ``s``, ``coll`` and
    ``debt`` are the path's rows of the state."""
    market = spec.market
    _accrue(spec.curves, market.step_s, s, debt)
    mid = _move_market(spec.law, market.step_s, s, exo, out.mid_usd[i, k - 1])
    mid = _followers(market, spec.law, s, out, i, k, exo, mid)
    if market.oracle_path.shape[0] > 0:
        s[S_ORACLE] = market.oracle_path[i, k]
    p_o = _oracle(market, s, mid, market.step_s)
    filled = _owner_sale(spec, s, coll, debt, k, exo, mid, p_o, want_eth, want)
    if filled > 0.0:
        mid = _mid(spec.law, s, exo)
    _oracle(market, s, mid, 0.0)  # deviation rule only
    seized, hf_trigger, mid = _liquidation_rounds(spec, s, coll, debt, k, exo, mid)
    _record(spec, s, coll, debt, out, i, k, mid, filled, seized, hf_trigger)


_step = njit(cache=True, inline="always")(_step_py)


def _run_path_py(spec: UnwindSpec, exo: FloatArray2D, k_start: int, k_stop: int,
                 state: UnwindState, out: UnwindOutputs, i: int, scratch: FloatArray2D) -> None:
    """Steps ``k_start .. k_stop - 1`` of path ``i``; ``scratch[i]`` (n_accounts,) holds the
    sale per account."""
    want = scratch[i]
    s = state.st[i]
    coll = state.coll[i]
    debt = state.debt[i]
    for k in range(k_start, k_stop):
        _step(spec, exo[i, k], i, k, s, coll, debt, state.want_eth[i], out, want)


# No reference counting in the per-path loop: the stages pass the records' arrays around and
# every hand-off would otherwise cost an atomic increment and decrement (4x the step's time).
# Nothing in it allocates (the scratch comes from the caller).
_run_path = njit(cache=True, _nrt=False)(_run_path_py)


def _init_path_py(exo: FloatArray2D, spec: UnwindSpec, state: UnwindState,
                  out: UnwindOutputs, i: int) -> None:
    """Start path ``i`` and record its step 0."""
    acc = spec.accounts
    r0 = spec.curves.reserves0
    s = state.st[i]
    for f in range(N_STATE):
        s[f] = 0.0
    p0 = exo[i, 0]
    oracle_path = spec.market.oracle_path
    p_o = oracle_path[i, 0] if oracle_path.shape[0] > 0 else p0
    s[S_ORACLE] = p_o
    s[S_LOW] = p0
    s[S_FIRST_LIQ] = -1.0
    s[S_D_SUP] = r0[0]
    s[S_D_BOR] = r0[1]
    s[S_W_SUP] = r0[2]
    s[S_W_BOR] = r0[3]
    s[S_VAR] = spec.market.var0_per_day
    s[S_PEAK] = p0
    s[S_DEPTH] = depth_eth(spec.law, math.sqrt(spec.market.var0_per_day), 0.0)
    total_debt = 0.0
    for a in range(acc.collateral_eth.shape[0]):
        state.coll[i, a] = acc.collateral_eth[a]
        state.debt[i, a] = acc.debt_usd[a]
        total_debt += acc.debt_usd[a]
    out.mid_usd[i, 0] = p0
    out.oracle_usd[i, 0] = p_o
    out.health_factor[i, 0] = _hf_min(state.coll[i], state.debt[i], acc.liquidation_threshold,
                                      p_o)
    out.sold_eth[i, 0] = 0.0
    out.seized_eth[i, 0] = 0.0
    out.debt_usd[i, 0] = total_debt
    out.cash_usd[i, 0] = 0.0


_init_path = njit(cache=True)(_init_path_py)


def _spec_py(accounts: UnwindAccounts, market: MarketSpec, law: ImpactLaw,
             rules: LiquidationRules, rule: UnwindRule, curves: ReserveCurves, book: BookLadder
             ) -> UnwindSpec:
    return UnwindSpec(accounts, market, law, rules, rule, curves, book)


_spec = njit(cache=True)(_spec_py)


# The parallel loops take the spec's fields one by one and rebuild the spec inside the loop:
# numba's parfor lowering cannot pass a record that holds records into the parallel region.
# The stages are inlined (inline="always") into the per-path function, which the loop calls
# uninlined: inlined into the prange body itself they gave wrong numbers (numba 0.6x), and
# left as calls they cost ~4x the time (every call passes the records by value). The path
# index goes in as int64: the parfor's own index is unsigned in the gufunc it outlines, and
# a second integer type would compile the whole per-path function a second time.


def _init_loop_py(exo: FloatArray2D, accounts: UnwindAccounts, market: MarketSpec,
                  law: ImpactLaw, rules: LiquidationRules, rule: UnwindRule,
                  curves: ReserveCurves, book: BookLadder, state: UnwindState,
                  out: UnwindOutputs) -> None:
    for i in prange(exo.shape[0]):
        spec = _spec(accounts, market, law, rules, rule, curves, book)
        _init_path(exo, spec, state, out, np.int64(i))


_init_loop = njit(cache=True, parallel=True)(_init_loop_py)


def _steps_loop_py(exo: FloatArray2D, k_start: int, k_stop: int, accounts: UnwindAccounts,
                   market: MarketSpec, law: ImpactLaw, rules: LiquidationRules,
                   rule: UnwindRule, curves: ReserveCurves, book: BookLadder,
                   state: UnwindState, out: UnwindOutputs) -> None:
    scratch = np.zeros((exo.shape[0], state.coll.shape[1]))
    for i in prange(exo.shape[0]):
        _run_path(_spec(accounts, market, law, rules, rule, curves, book), exo, k_start, k_stop,
                  state, out, np.int64(i), scratch)


_steps_loop = njit(cache=True, parallel=True)(_steps_loop_py)


def _preview_path_py(exo: FloatArray2D, k: int, market: MarketSpec, law: ImpactLaw,
                     state: UnwindState, out: UnwindOutputs, i: int) -> float:
    s = state.st[i].copy()
    mid = _move_market(law, market.step_s, s, exo[i, k], out.mid_usd[i, k - 1])
    out_mid: float = _followers(market, law, s, out, i, k, exo[i, k], mid)
    return out_mid


_preview_path = njit(cache=True)(_preview_path_py)


def _preview_loop_py(exo: FloatArray2D, k: int, market: MarketSpec, law: ImpactLaw,
                     state: UnwindState, out: UnwindOutputs) -> FloatArray1D:
    mids = np.empty(exo.shape[0])
    for i in prange(exo.shape[0]):
        mids[i] = _preview_path(exo, k, market, law, state, out, i)
    return mids


_preview_loop = njit(cache=True, parallel=True)(_preview_loop_py)


def unwind_init(exo: FloatArray2D, spec: UnwindSpec, state: UnwindState,
                out: UnwindOutputs, *, compiled: bool = True) -> None:
    """Start every path: the position, a fresh market and oracle at ``exo[:, 0]``, the
    reserves ``spec.curves.reserves0``; record step 0. ``compiled=False`` runs the plain
    Python twin (same stages)."""
    loop = _init_loop if compiled else _init_loop_py
    loop(exo, *spec, state, out)


def unwind_steps(exo: FloatArray2D, k_start: int, k_stop: int, spec: UnwindSpec,
                 state: UnwindState, out: UnwindOutputs, *, compiled: bool = True) -> None:
    """Advance every path through steps ``k_start .. k_stop - 1`` (see the module docstring).

    ``exo`` (n_paths, n_steps + 1) exogenous prices; ``state`` and ``out`` as left by
    :func:`unwind_init` or an earlier call (``state.want_eth``: this step's sale under
    ``RULE_CUSTOM``). ``compiled=False`` runs the plain Python twin (same stages).
    """
    loop = _steps_loop if compiled else _steps_loop_py
    loop(exo, int(k_start), int(k_stop), *spec, state, out)


def preview_mid(exo: FloatArray2D, k: int, spec: UnwindSpec, state: UnwindState,
                out: UnwindOutputs) -> FloatArray1D:
    """The mid each path's owner sees at step ``k`` before it sells: stages 2 and 3 run on a
    copy of the state (what a Python strategy observes; the state is left unchanged)."""
    mids: FloatArray1D = _preview_loop(exo, int(k), spec.market, spec.law, state, out)
    return mids


__all__ = [
    "NO_ORACLE_PATH",
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
    "S_DEPTH",
    "S_FOLLOW_SOLD",
    "BookLadder",
    "MarketSpec",
    "ReserveCurves",
    "UnwindAccounts",
    "UnwindOutputs",
    "UnwindRule",
    "UnwindSpec",
    "UnwindState",
    "compounded",
    "compounded_py",
    "new_outputs",
    "new_state",
    "preview_mid",
    "rate",
    "rate_py",
    "unwind_init",
    "unwind_steps",
]

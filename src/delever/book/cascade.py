"""Liquidation cascades of a borrower book: the ladder S(p), the path engines, one shock.

- :class:`Ladder` / :func:`build_ladder`: each borrower's rungs of liquidations under a
  protocol's :class:`~delever.kernels.records.LiquidationRules` (Aave: partial calls down
  to the full close; Morpho Blue: one rung), sorted once per book, and the continuous-fall
  curve S(p) (DESIGN.md, "The cascade, and why it can be fast").
- :func:`run_cascade`: the book (and a large account, followers, panic sellers, cautious
  borrowers, liquidators who hold part of their ETH) on exogenous price paths, with the
  ``"exact"`` engine (every borrower every round, one ``liquidate_one`` call each) or the
  ``"ladder"`` engine (the plain book by prefix sums over cohorts of borrowers sorted by
  trigger; the others only when the price crosses their trigger: first rungs from the
  ladder, later ones from a per-path queue of each borrower's actual trigger; the same
  calls at the execution price, so the two agree to rounding). The sales move the price by
  an :class:`~delever.kernels.records.ImpactLaw` (``ImpactParams`` gives the square-root
  one). Rules default to Aave v3.6 (:func:`_default_rules`).
- :func:`cascade`: the deterministic cascade after one shock (``delever cascade``).

The engines and the step model are documented in :mod:`delever.kernels.cascade`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from delever._results import ResultContract
from delever._typing import FloatArray1D, FloatArray2D, IntArray, IntArray1D
from delever.book.actors import (
    NO_LARGE_ACCOUNT,
    CautiousBorrowers,
    Followers,
    ImpactParams,
    LargeAccount,
    Liquidators,
    PanicSellers,
)
from delever.book.book import BorrowerBook
from delever.errors import InvalidArgument, check_fraction, check_positive, unknown_name
from delever.kernels import cascade as k
from delever.kernels.cascade_exact import simulate_exact
from delever.kernels.cascade_ladder import (
    acct_template,
    fast_tables,
    plain_mask,
    simulate_ladder,
)
from delever.kernels.records import ImpactLaw, LiquidationRules
from delever.protocol.registry import get_protocol

Engine = Literal["exact", "ladder"]
ENGINES: tuple[str, ...] = ("exact", "ladder")

# Square-root-law inputs, all ESTIMATES (same figures as delever.market.calibration; copied
# here because the book layer does not import market; tests/book/test_cascade_engines.py
# checks they still match calibrate()):
# - Y = 1.0: "of order unity", Tóth et al. 2011 (Phys. Rev. X 1, 021006), Bouchaud et al.
#   2018 (Trades, Quotes and Prices, ch. 12); central value is a judgement.
DEFAULT_IMPACT_Y = 1.0
# - σ_daily = 0.03896: std of 365 daily ETHUSDT log returns 2025-01-01..2025-12-31 (Binance
#   spot klines, delever.market.calibration.calibrate(cutoff=2026-01-01)).
DEFAULT_SIGMA_DAILY = 0.03896437077538771
# - V = 501,029 ETH/day: mean Binance spot ETHUSDT daily volume 2024-06-25..2025-06-24
#   (same calibration; one venue only, so the whole market is deeper: errs towards impact).
DEFAULT_ADV_ETH = 501_029.2341863014
DEFAULT_IMPACT = ImpactParams(DEFAULT_IMPACT_Y, DEFAULT_SIGMA_DAILY, DEFAULT_ADV_ETH)

# Aave v3 Ethereum Core WETH liquidationProtocolFee = 10% of the bonus part
# (delever.protocol.get_reserve("WETH").liquidation_protocol_fee).
DEFAULT_PROTOCOL_FEE = 0.10
DEFAULT_MAX_ROUNDS = 10_000
N_BLOCKS = 32  # scratch blocks of the path loop; fixed so results never depend on threads
DEFAULT_STEP_S = 3_600.0  # hourly steps (only a decaying or state-thinned impact law uses it)


def _default_rules() -> LiquidationRules:
    """The default protocol's rules (Aave v3.6: ``delever.protocol.get_protocol()``)."""
    return get_protocol().kernel_rules()


ImpactSpec = ImpactParams | ImpactLaw


def _law(impact: ImpactSpec) -> ImpactLaw:
    return impact.law() if isinstance(impact, ImpactParams) else impact


DEFAULT_LIQUIDATORS = Liquidators()  # sell everything in the step of the call
NO_FOLLOWERS = Followers()
NO_PANIC = PanicSellers()


def _engine(engine: str) -> bool:
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    return engine == "exact"


@dataclass(frozen=True, eq=False)
class Ladder:
    """A book's liquidation ladder: rungs sorted by trigger price, highest first.

    Attributes
    ----------
    trigger_usd : (n_rungs,)
        ETH price below which the rung's borrower has HF < 1 (or, for an alert rung,
        HF < its alert level), computed as if every earlier rung executed at its trigger.
    borrower : (n_rungs,) int64
        Position of the borrower in the book.
    kind : (n_rungs,) int64
        ``RUNG_LIQUIDATION`` or ``RUNG_ALERT``.
    sold_eth : (n_rungs,)
        ETH sold at the rung if executed at its trigger (liquidators' share of the seized
        collateral, or a cautious borrower's sale).
    cum_sold_eth : (n_rungs + 1,)
        Running sums of ``sold_eth`` (0 first): S(p) = ``cum_sold_eth[#rungs above p]``.
    schedule : (n_schedule,) int64
        Positions (in the sorted rungs) of each borrower's alert rung and first liquidation
        rung: what the path engine walks; later calls are re-triggered from each borrower's
        actual state after its previous call.
    path_order, path_borrower : (n,) and (n_schedule,) int64
        The path engine numbers borrowers in the order of their first scheduled rung (its
        memory order): the book position of each number, and the number of each scheduled
        rung's borrower.
    walk_order, walk_trigger_usd, walk_who_kind
        What the ladder engine walks borrower by borrower (the others, the plain book, are
        in ``plain_tables``): the book positions of its numbered borrowers, and the
        schedule's triggers and (number, kind) rows restricted to them.
    plain_tables : 1-d float
        The plain book's sorted u = C·LT/D and prefix sums
        (:func:`delever.kernels.cascade_ladder.fast_tables`).
    """

    trigger_usd: FloatArray1D
    borrower: IntArray1D
    kind: IntArray1D
    sold_eth: FloatArray1D
    cum_sold_eth: FloatArray1D = field(repr=False)
    schedule: IntArray1D = field(repr=False)
    path_order: IntArray1D = field(repr=False)
    path_borrower: IntArray1D = field(repr=False)
    walk_order: IntArray1D = field(repr=False)
    walk_trigger_usd: FloatArray1D = field(repr=False)
    walk_who_kind: IntArray = field(repr=False)
    plain_tables: FloatArray1D = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("trigger_usd", "borrower", "kind", "sold_eth", "cum_sold_eth",
                     "schedule", "path_order", "path_borrower", "walk_order",
                     "walk_trigger_usd", "walk_who_kind", "plain_tables"):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return int(self.trigger_usd.shape[0])

    def sold_eth_at(self, min_price_usd: float | FloatArray1D) -> FloatArray1D:
        """S(p): ETH sold once the price has fallen continuously to ``min_price_usd``.

        Non-increasing in the price (more rungs are crossed as it falls). A continuous fall
        executes each rung at its trigger; the path engines convert at the execution price.
        """
        prices = np.ascontiguousarray(np.atleast_1d(np.asarray(min_price_usd, np.float64)))
        out: FloatArray1D = k.ladder_sold_eth(prices, self.trigger_usd, self.cum_sold_eth)
        return out


def build_ladder(
    book: BorrowerBook,
    *,
    cautious: CautiousBorrowers | None = None,
    protocol_fee: float = DEFAULT_PROTOCOL_FEE,
    rules: LiquidationRules | None = None,
) -> Ladder:
    """Build a book's ladder once (per book, rules and cautious-borrower rule).

    Parameters
    ----------
    book : BorrowerBook
    cautious : CautiousBorrowers, optional
        Adds each cautious borrower's alert rung and builds its later rungs from the state
        after its action.
    protocol_fee : float
        Treasury share of the bonus (for ``sold_eth``).
    rules : LiquidationRules, optional
        The protocol's liquidation rules (default Aave v3.6).

    Returns
    -------
    Ladder

    Notes
    -----
    Aave (close factor 0.5): from HF = 1 at trigger t = D / (C·LT), while C·t and D are both
    >= ``min_base_usd`` ($2,000) a call repays D/2 and seizes D/2·(1 + bonus)/t, leaving
    HF' = 2 − (1 + bonus)·LT > 1, so the next trigger is t / HF'; the last rung (D or C·t
    below $2,000, or a partial call that would leave < $1,000, which Aave refuses) is a 100%
    call at HF ``full_close_hf`` (0.95). Morpho Blue (close factor 1): one rung per borrower.
    """
    cautious = cautious or CautiousBorrowers()
    rules = rules or _default_rules()
    kbook = _kernel_book(book, cautious)
    spec = k.RungSpec(float(cautious.target_hf), cautious.action == "add", float(protocol_fee))
    counts = np.empty(len(book), dtype=np.int64)
    k.count_rungs(kbook, rules, spec, counts)
    total = int(counts.sum())
    trigger = np.empty(total)
    sold = np.empty(total)
    kind = np.empty(total, dtype=np.int64)
    borrower = np.empty(total, dtype=np.int64)
    k.build_ladder(kbook, rules, spec, k.RungsOut(trigger, sold, kind), borrower)
    order = np.argsort(-trigger, kind="stable")  # stable: a borrower's rungs stay in order
    sold = np.ascontiguousarray(sold[order])
    borrower = np.ascontiguousarray(borrower[order])
    kind = np.ascontiguousarray(kind[order])
    liq = np.flatnonzero(kind == k.RUNG_LIQUIDATION)
    _, first = np.unique(borrower[liq], return_index=True)  # highest trigger comes first
    schedule = np.sort(np.concatenate((liq[first], np.flatnonzero(kind == k.RUNG_ALERT))))
    schedule = np.ascontiguousarray(schedule, dtype=np.int64)
    path_order, path_borrower = _path_order(borrower, schedule, len(book))
    columns = k.book_columns(kbook)
    plain, lt, bonus = plain_mask(columns, rules)
    walked = ~plain[borrower[schedule]]
    walk_order, walk_who = _path_order(borrower, schedule[walked], len(book))
    n_walk = len(np.unique(walk_who))
    return Ladder(
        trigger_usd=np.ascontiguousarray(trigger[order]),
        borrower=borrower,
        kind=kind,
        sold_eth=sold,
        cum_sold_eth=np.concatenate(([0.0], np.cumsum(sold))),
        schedule=schedule,
        path_order=path_order,
        path_borrower=path_borrower,
        walk_order=np.ascontiguousarray(walk_order[:n_walk]),
        walk_trigger_usd=np.ascontiguousarray(trigger[order][schedule[walked]]),
        walk_who_kind=np.ascontiguousarray(np.stack((walk_who, kind[schedule[walked]]))),
        plain_tables=fast_tables(columns, rules, plain, lt, bonus),
    )


@dataclass(frozen=True, eq=False)
class CascadePaths:
    """Per-path outcome of :func:`run_cascade` (one row per exogenous path).

    ``values[:, OUT_*]`` (see :mod:`delever.kernels.cascade`); ``prices_usd`` holds the
    market price at the end of each step when asked for, else None.
    """

    values: FloatArray2D
    prices_usd: FloatArray2D | None
    engine: str

    def __post_init__(self) -> None:
        self.values.setflags(write=False)
        if self.prices_usd is not None:
            self.prices_usd.setflags(write=False)

    def column(self, index: int) -> FloatArray1D:
        """One ``OUT_*`` column."""
        out: FloatArray1D = self.values[:, index]
        return out

    @property
    def final_price_usd(self) -> FloatArray1D:
        return self.column(k.OUT_FINAL_PRICE)

    @property
    def min_price_usd(self) -> FloatArray1D:
        return self.column(k.OUT_MIN_PRICE)

    @property
    def collateral_liquidated_eth(self) -> FloatArray1D:
        """Collateral seized from borrowers (book and large account), ETH."""
        return self.column(k.OUT_SEIZED_ETH)

    @property
    def bad_debt_usd(self) -> FloatArray1D:
        return self.column(k.OUT_BAD_DEBT_USD)

    @property
    def large_account_liquidated(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return self.column(k.OUT_WHALE_FIRST_STEP) >= 0

    def to_frame(self) -> pd.DataFrame:
        """One row per path, one column per ``OUT_*`` name (lower case, ``OUT_`` dropped)."""
        names = sorted(
            (getattr(k, name), name[4:].lower()) for name in k.__all__ if name.startswith("OUT_")
        )
        return pd.DataFrame(self.values, columns=[name for _, name in names])


def _contiguous(values: FloatArray2D) -> FloatArray2D:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 2 or array.shape[0] < 1:
        raise InvalidArgument(
            f"exogenous_usd has shape {array.shape}; give (n_paths, n_steps + 1) prices."
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array[:, 0] <= 0):
        raise InvalidArgument("exogenous_usd must be finite, >= 0, with positive start prices.")
    return array


def _kernel_book(book: BorrowerBook, cautious: CautiousBorrowers) -> k.CascadeBook:
    return k.CascadeBook(book.collateral_eth, book.debt_usd, book.liquidation_threshold,
                         book.liquidation_bonus, cautious.watch_hf(len(book)))


def _path_order(borrower: IntArray1D, schedule: IntArray1D, n: int
                ) -> tuple[IntArray1D, IntArray1D]:
    """Borrowers numbered in the order of their first scheduled rung (so a path reads their
    state in memory order): ``(book position of each number, number of each scheduled
    rung's borrower)``."""
    who = borrower[schedule]
    first, at = np.unique(who, return_index=True)
    order = first[np.argsort(at, kind="stable")]
    rest = np.setdiff1d(np.arange(n), order, assume_unique=True)
    perm = np.ascontiguousarray(np.concatenate((order, rest)), dtype=np.int64)
    renumber = np.empty(n, dtype=np.int64)
    renumber[perm] = np.arange(n)
    return perm, np.ascontiguousarray(renumber[who])


def _actors(liquidators: Liquidators, followers: Followers, panic: PanicSellers,
            cautious: CautiousBorrowers, protocol_fee: float, max_rounds: int,
            step_s: float) -> k.CascadeActors:
    return k.CascadeActors(
        float(protocol_fee), float(cautious.target_hf), cautious.action == "add",
        float(liquidators.immediate_share), int(liquidators.later_steps),
        float(followers.kappa), int(followers.lag_steps), float(panic.drawdown),
        float(panic.sell_eth), int(max_rounds), float(step_s))


def run_cascade(
    book: BorrowerBook,
    exogenous_usd: FloatArray2D,
    *,
    engine: Engine = "ladder",
    impact: ImpactSpec = DEFAULT_IMPACT,
    liquidators: Liquidators = DEFAULT_LIQUIDATORS,
    followers: Followers = NO_FOLLOWERS,
    panic: PanicSellers = NO_PANIC,
    cautious: CautiousBorrowers | None = None,
    large_account: LargeAccount = NO_LARGE_ACCOUNT,
    protocol_fee: float = DEFAULT_PROTOCOL_FEE,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    record_prices: bool = False,
    ladder: Ladder | None = None,
    rules: LiquidationRules | None = None,
    step_s: float = DEFAULT_STEP_S,
) -> CascadePaths:
    """Liquidate ``book`` along exogenous price paths, its sales feeding back into the price.

    Parameters
    ----------
    book : BorrowerBook
        Borrowers at the start of every path.
    exogenous_usd : (n_paths, n_steps + 1) float64
        Exogenous ETH price per step; column 0 is the start price.
    engine : {"ladder", "exact"}
        ``exact``: every borrower tested every round; ``ladder``: only the rungs crossed.
    impact : ImpactParams or ImpactLaw
        Impact law of the sales (default: the permanent square-root law on all ETH sold).
    liquidators, followers, panic, cautious, large_account
        The other actors (:mod:`delever.book.actors`); defaults: liquidators sell at once,
        nobody else acts, no large account.
    protocol_fee : float
        Treasury share of the liquidation bonus.
    max_rounds : int
        Rounds per step at most.
    record_prices : bool
        Keep the market price of every step (memory n_paths × (n_steps + 1)).
    ladder : Ladder, optional
        A ladder already built for this book, ``rules`` and ``cautious`` rule (ladder engine).
    rules : LiquidationRules, optional
        The protocol's liquidation rules (default Aave v3.6).
    step_s : float
        Seconds per step (a decaying or state-thinned impact law uses it).

    Returns
    -------
    CascadePaths

    Notes
    -----
    Step t: ``p = E_t · (1 − I(Q))``; then rounds of calls at ``p`` (each account with
    HF < 1 once per round, maximum debt to cover), sales, new ``p``, until a round
    liquidates nobody (see :mod:`delever.kernels.cascade`).
    """
    exact = _engine(engine)
    exog = _contiguous(exogenous_usd)
    check_fraction("protocol_fee", protocol_fee, low_open=False)
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise InvalidArgument(f"max_rounds={max_rounds!r} must be a whole number >= 1.")
    check_positive("step_s", step_s, "Give the step length in seconds, e.g. 3600.")
    cautious = cautious or CautiousBorrowers()
    rules = rules or _default_rules()
    kbook = _kernel_book(book, cautious)
    w = large_account
    records = (rules, _law(impact),
               _actors(liquidators, followers, panic, cautious, protocol_fee, max_rounds,
                       step_s),
               k.LargeAccountRecord(float(w.collateral_eth), float(w.debt_usd),
                                    float(w.liquidation_threshold), float(w.liquidation_bonus),
                                    float(w.sell_eth_per_step)))
    n_paths, width = exog.shape
    out = np.zeros((n_paths, k.N_OUT))
    prices = np.empty((n_paths, width)) if record_prices else np.empty((0, 0))
    if exact:
        simulate_exact(exog, k.book_columns(kbook), *records, out, prices)
    else:
        if ladder is None:
            ladder = build_ladder(book, cautious=cautious, protocol_fee=protocol_fee,
                                  rules=rules)
        if len(ladder.path_order) != len(book):
            raise InvalidArgument("ladder was built for another book; build it for this one.")
        template = acct_template(k.book_columns(kbook)[:, ladder.walk_order])
        simulate_ladder(exog, template, *records, ladder.walk_trigger_usd, ladder.walk_who_kind,
                        ladder.plain_tables,
                        min(N_BLOCKS, n_paths), out, prices)
    return CascadePaths(values=out, prices_usd=prices if record_prices else None, engine=engine)


@dataclass(frozen=True)
class CascadeResult(ResultContract):
    """The deterministic cascade after one shock (:func:`cascade`).

    Attributes
    ----------
    start_price_usd, shock_price_usd, final_price_usd : float
        P0, p1 = P0·(1 − shock) and the price where the rounds stop.
    rounds : int
        Rounds in which at least one account was liquidated.
    collateral_liquidated_eth : float
        Collateral seized (to liquidators + protocol fee).
    collateral_sold_eth : float
        ETH liquidators sold (all they received: the protocol fee is not sold).
    protocol_fee_eth, debt_repaid_usd, bad_debt_usd : float
    accounts_liquidated : int
        Accounts with at least one call.
    liquidation_calls : int
    amplification : float
        (P0 − final) / (P0 − p1); 1 means no cascade beyond the shock.
    engine : str
    debt_left_usd, collateral_left_eth : float
        What the book still holds after the cascade.
    """

    start_price_usd: float
    shock_price_usd: float
    final_price_usd: float
    rounds: int
    collateral_liquidated_eth: float
    collateral_sold_eth: float
    protocol_fee_eth: float
    debt_repaid_usd: float
    bad_debt_usd: float
    accounts_liquidated: int
    liquidation_calls: int
    amplification: float
    engine: str
    debt_left_usd: float
    collateral_left_eth: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dict(self.__dict__)

    def summary(self) -> str:
        """A few lines for the terminal."""
        return (
            f"Cascade ({self.engine} engine): ${self.start_price_usd:,.2f} -> shock "
            f"${self.shock_price_usd:,.2f} -> final ${self.final_price_usd:,.2f} after "
            f"{self.rounds} round(s); amplification {self.amplification:.4f}\n"
            f"  {self.accounts_liquidated:,} accounts liquidated ({self.liquidation_calls:,} "
            f"calls), {self.collateral_liquidated_eth:,.2f} ETH seized, "
            f"{self.collateral_sold_eth:,.2f} ETH sold\n"
            f"  debt repaid ${self.debt_repaid_usd:,.0f}, bad debt ${self.bad_debt_usd:,.0f}"
        )

    def __str__(self) -> str:
        return self.summary()


def cascade(
    book: BorrowerBook,
    *,
    price_usd: float,
    shock_frac: float,
    engine: Engine = "exact",
    impact: ImpactSpec = DEFAULT_IMPACT,
    protocol_fee: float = DEFAULT_PROTOCOL_FEE,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    rules: LiquidationRules | None = None,
) -> CascadeResult:
    """The cascade after the price drops once from ``price_usd`` by ``shock_frac``.

    Parameters
    ----------
    book : BorrowerBook
        Borrowers at ``price_usd`` (their HF is computed from their arrays at each price).
    price_usd : float
        P0, USD.
    shock_frac : float
        s in [0, 1): the price drops to p1 = P0·(1 − s).
    engine : {"exact", "ladder"}
    impact : ImpactParams or ImpactLaw
        The impact law (default: Y, σ_daily and V of the square-root law).
    protocol_fee : float
        Treasury share of the bonus (not sold).
    max_rounds : int
        Safety cap on rounds.
    rules : LiquidationRules, optional
        The protocol's liquidation rules (default Aave v3.6).

    Returns
    -------
    CascadeResult

    Notes
    -----
    Rounds: at the current price p every account with HF < 1 gets one liquidation call
    (close factor by Aave's rules, maximum debt to cover); liquidators sell all the ETH they
    receive; then ``p = p1·(1 − Y·σ·sqrt(Q / V))`` with Q all ETH sold since the shock; the
    rounds stop when no call succeeds (no HF < 1 left, or only calls Aave refuses) or the
    price reaches 0.
    """
    p0 = check_positive("price_usd", price_usd, "Give the ETH price in USD.")
    shock = check_fraction("shock_frac", shock_frac, low_open=False, high_closed=False,
                           hint="Give a fraction, e.g. 0.15 for a 15% drop.")
    p1 = p0 * (1.0 - shock)
    paths = run_cascade(
        book,
        np.array([[p0, p1]]),
        engine=engine,
        impact=impact,
        protocol_fee=protocol_fee,
        max_rounds=max_rounds,
        rules=rules,
    )
    row = paths.values[0]
    final = float(row[k.OUT_FINAL_PRICE])
    amplification = (p0 - final) / (p0 - p1) if p0 > p1 else math.nan
    return CascadeResult(
        start_price_usd=p0,
        shock_price_usd=p1,
        final_price_usd=final,
        rounds=int(row[k.OUT_ROUNDS]),
        collateral_liquidated_eth=float(row[k.OUT_SEIZED_ETH]),
        collateral_sold_eth=float(row[k.OUT_LIQUIDATOR_SOLD_ETH]),
        protocol_fee_eth=float(row[k.OUT_PROTOCOL_FEE_ETH]),
        debt_repaid_usd=float(row[k.OUT_DEBT_REPAID_USD]),
        bad_debt_usd=float(row[k.OUT_BAD_DEBT_USD]),
        accounts_liquidated=int(row[k.OUT_ACCOUNTS_LIQUIDATED]),
        liquidation_calls=int(row[k.OUT_CALLS]),
        amplification=amplification,
        engine=engine,
        debt_left_usd=float(row[k.OUT_DEBT_LEFT_USD]),
        collateral_left_eth=float(row[k.OUT_COLLATERAL_LEFT_ETH]),
    )


__all__ = [
    "DEFAULT_ADV_ETH",
    "DEFAULT_IMPACT",
    "DEFAULT_IMPACT_Y",
    "DEFAULT_MAX_ROUNDS",
    "DEFAULT_PROTOCOL_FEE",
    "DEFAULT_SIGMA_DAILY",
    "DEFAULT_STEP_S",
    "ENGINES",
    "CascadePaths",
    "CascadeResult",
    "Engine",
    "ImpactSpec",
    "Ladder",
    "build_ladder",
    "cascade",
    "run_cascade",
]

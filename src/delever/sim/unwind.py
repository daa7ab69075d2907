"""Unwind simulation: a leveraged position, a strategy, a market, over many price paths.

:func:`simulate_unwind` runs one strategy; :func:`simulate_strategies` runs several on the same
paths (common random numbers). The step rules are in :mod:`delever.kernels.unwind`; this module
validates the inputs, builds the kernel's arrays, runs it over chunks of paths, and wraps the
outputs in :class:`UnwindResult` / :class:`SimulationResult` (read-only arrays, DataFrames).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from delever._results import ResultContract
from delever._typing import BoolArray, FloatArray1D, FloatArray2D, IntArray1D
from delever.book.cascade import Ladder
from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.kernels import unwind as K  # noqa: N812
from delever.kernels.cascade import RUNG_LIQUIDATION
from delever.kernels.records import ImpactLaw, LiquidationRules
from delever.market.impact import SquareRootImpact, half_life_to_rate
from delever.protocol import RESERVES, Account, InterestRateCurve, ReserveParams, ReserveState
from delever.protocol.base import RiskParams
from delever.protocol.registry import get_protocol
from delever.strategy.base import Observation, RuleSpec, Strategy, StrategyContext

# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, eq=False)
class UnwindPosition:
    """The position: single-collateral WETH accounts with stablecoin debt, and a cost basis.

    Attributes
    ----------
    names : account labels.
    collateral_eth, debt_usd : (n_accounts,) ETH collateral and USD debt.
    liquidation_threshold, liquidation_bonus, protocol_fee : (n_accounts,) fractions.
    cost_basis_usd_per_eth : average cost of the ETH held (USD per ETH), for the P&L.
    """

    names: tuple[str, ...]
    collateral_eth: FloatArray1D
    debt_usd: FloatArray1D
    liquidation_threshold: FloatArray1D
    liquidation_bonus: FloatArray1D
    protocol_fee: FloatArray1D
    cost_basis_usd_per_eth: float

    def __post_init__(self) -> None:
        n = len(self.names)
        if n == 0:
            raise InvalidArgument("position has no accounts; give at least one.")
        for name in ("collateral_eth", "debt_usd", "liquidation_threshold",
                     "liquidation_bonus", "protocol_fee"):
            arr = np.array(getattr(self, name), dtype=np.float64).reshape(-1)
            if arr.shape[0] != n:
                raise InvalidArgument(f"{name} has {arr.shape[0]} values; give one per account "
                                      f"({n}).")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise InvalidArgument(f"{name} must be finite and not negative.")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if np.any(self.liquidation_threshold <= 0) or np.any(self.liquidation_threshold > 1):
            raise InvalidArgument("liquidation_threshold must be in (0, 1]; e.g. 0.83.")
        check_positive("cost_basis_usd_per_eth", self.cost_basis_usd_per_eth)

    @property
    def total_eth(self) -> float:
        """ETH over all accounts."""
        return float(self.collateral_eth.sum())

    @property
    def total_debt_usd(self) -> float:
        """Debt over all accounts."""
        return float(self.debt_usd.sum())

    @classmethod
    def from_accounts(
        cls,
        accounts: Sequence[tuple[str, Account]],
        cost_basis_usd_per_eth: float,
        *,
        reserves: Mapping[str, ReserveParams] = RESERVES,
        risk: RiskParams | None = None,
        collateral_symbol: str = "WETH",
        debt_symbols: tuple[str, ...] = ("USDC", "USDT"),
        allow_emode: bool = False,
    ) -> UnwindPosition:
        """From ``(name, Account)`` pairs of WETH collateral and USDC/USDT debt ($1 each).

        ``risk``: the market's risk parameters where the protocol fixes them per market
        (Morpho Blue: LLTV, LIF - 1, no fee; ``LendingProtocol.market_risk()``), or the e-mode
        category's for a loop; None takes the collateral reserve's LT, bonus and protocol fee
        from ``reserves`` (Aave). ``collateral_symbol`` / ``debt_symbols`` / ``allow_emode``:
        another frame (a loop: wstETH against WETH in e-mode, see
        :class:`delever.sim.api.EngineFrame`); amounts are then the collateral's units and
        the debt asset's.
        Raises InvalidArgument for any other collateral or debt asset, or e-mode.
        """
        names: list[str] = []
        rows: list[tuple[float, float, float, float, float]] = []
        for name, acc in accounts:
            other = [s for s, a in acc.collateral.items() if a > 0 and s != collateral_symbol]
            debts = [s for s, a in acc.debt.items() if a > 0 and s not in debt_symbols]
            if other or debts or (acc.emode and not allow_emode):
                wanted = (f"{collateral_symbol} collateral against {'/'.join(debt_symbols)} "
                          f"debt{' in e-mode' if allow_emode else ' outside e-mode'}")
                raise InvalidArgument(
                    f"account {name!r}: the unwind simulation takes {wanted}; convert other "
                    "assets first."
                )
            reserve = reserves[collateral_symbol]
            lt, bonus, fee = ((reserve.liquidation_threshold, reserve.liquidation_bonus,
                               reserve.liquidation_protocol_fee) if risk is None else
                              (risk.liquidation_threshold, risk.liquidation_bonus,
                               risk.protocol_fee))
            rows.append((acc.collateral.get(collateral_symbol, 0.0), math.fsum(acc.debt.values()),
                         lt, bonus, fee))
            names.append(str(name))
        table = np.array(rows, dtype=np.float64).reshape(len(rows), 5)
        return cls(tuple(names), table[:, 0], table[:, 1], table[:, 2], table[:, 3],
                   table[:, 4], cost_basis_usd_per_eth)


class OracleLike(Protocol):
    """Anything with a Chainlink heartbeat and deviation threshold."""

    @property
    def heartbeat_s(self) -> float: ...

    @property
    def deviation(self) -> float: ...


@dataclass(frozen=True)
class OracleParams:
    """A push oracle: a new answer on a ``deviation`` move or after ``heartbeat_s`` seconds.

    ETH/USD on Ethereum: 0.5% and 3,600 s (Chainlink's feed page). ``deviation <= 0`` or
    ``heartbeat_s <= 0`` gives an oracle that follows the mid exactly (the default).
    """

    heartbeat_s: float = 0.0
    deviation: float = 0.0


CHAINLINK_ETH_USD = OracleParams(heartbeat_s=3_600.0, deviation=0.005)


@dataclass(frozen=True)
class LendingParams:
    """The reserves the position lives in: their states and rate curves.

    ``debt_reserve`` totals are in USD (stablecoins at $1); ``weth_reserve`` in ETH, or None
    for no WETH liquidity cap (its utilization is then not tracked). ``rules``: how a
    liquidation call closes a position (the scenario's ``protocol``).
    """

    debt_reserve: ReserveState
    debt_curve: InterestRateCurve
    weth_reserve: ReserveState | None = None
    weth_curve: InterestRateCurve | None = None
    # the protocol's liquidation rules (LendingProtocol.kernel_rules(); default Aave v3.6)
    rules: LiquidationRules = field(default_factory=lambda: get_protocol().kernel_rules())


@dataclass(frozen=True, eq=False)
class BookSales:
    """The other borrowers' liquidations as the unwind engine sees them: rungs of a ladder.

    Attributes
    ----------
    trigger_usd : (n_rungs,) ETH mid (USD) at which the rung is liquidated, non-increasing.
    value_usd : (n_rungs,) USD value the rung's liquidator sells: its ETH at the trigger times
        the trigger. Debt covered is fixed in USD and Aave converts at the execution price,
        so a rung executed at mid ``p`` sells ``value_usd / p`` ETH.

    Notes
    -----
    Built from :func:`delever.book.build_ladder` by :meth:`from_ladder` (liquidation rungs
    only). The engine walks the rungs once, each at the first mid at or below its trigger
    (see :mod:`delever.kernels.unwind` for the approximations).
    """

    trigger_usd: FloatArray1D
    value_usd: FloatArray1D

    def __post_init__(self) -> None:
        arrays = []
        for name in ("trigger_usd", "value_usd"):
            arr = np.array(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1:
                raise InvalidArgument(f"{name} has shape {arr.shape}; give a 1-D array "
                                      "(one value per rung).")
            if not np.all(np.isfinite(arr)):
                raise InvalidArgument(f"{name} must be finite (USD); drop rungs with no "
                                      "price.")
            arrays.append(arr)
        trigger, value = arrays
        if trigger.shape != value.shape:
            raise InvalidArgument(f"trigger_usd has {trigger.shape[0]} rungs and value_usd "
                                  f"{value.shape[0]}; give one value per rung.")
        if np.any(np.diff(trigger) > 0):
            raise InvalidArgument("trigger_usd must be sorted from the highest price down "
                                  "(non-increasing); sort the rungs first.")
        if np.any(value < 0):
            raise InvalidArgument("value_usd must be >= 0 (USD sold at each rung).")
        for name, arr in (("trigger_usd", trigger), ("value_usd", value)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.trigger_usd.shape[0])

    @property
    def total_value_usd(self) -> float:
        """USD value of all rungs at their triggers."""
        return float(self.value_usd.sum())

    @classmethod
    def empty(cls) -> BookSales:
        """No other borrowers."""
        return cls(np.empty(0), np.empty(0))

    @classmethod
    def from_ladder(cls, ladder: Ladder) -> BookSales:
        """The liquidation rungs (``kind == RUNG_LIQUIDATION``) of a book's ladder.

        ``value_usd = sold_eth * trigger_usd``; alert rungs (cautious borrowers) are dropped.
        """
        pick = np.flatnonzero(np.asarray(ladder.kind) == RUNG_LIQUIDATION)
        trigger = np.ascontiguousarray(ladder.trigger_usd[pick], dtype=np.float64)
        value = np.ascontiguousarray(ladder.sold_eth[pick] * trigger, dtype=np.float64)
        return cls(trigger, value)


@dataclass(frozen=True)
class UnwindMarket:
    """The market the position sells into: square-root impact with decaying transient part.

    Parameters
    ----------
    impact : the square-root law (sigma_daily, adv_eth, impact_y, permanent_frac).
    transient_half_life_hours : half-life of the transient part ``(1 - permanent_frac) I``;
        0 (default) removes it at once, so the mid right after a sale is
        ``m (1 - permanent_frac I)`` as in :meth:`SquareRootImpact.execute`.
    book : the other borrowers' liquidation rungs (:class:`BookSales`); None (default) or
        empty: no other borrowers. Their liquidators sell into the same market.
    followers_kappa : followers sell ``kappa`` times the owner's sales plus the collateral
        seized from it (>= 0; 0 default: no followers).
    followers_lag_steps : how many steps later the followers copy (whole number >= 1).
    law : the impact law the engine walks instead of ``impact``'s (the scenario's ``[market]
        model`` and state-dependent liquidity, built for the run's step by
        :func:`delever.scenario.market.kernel_law`); None: ``impact`` with this market's
        transient half-life. ``impact`` still describes the market (sigma, ADV, Y) to the
        strategies and the volatility state.
    """

    impact: SquareRootImpact
    transient_half_life_hours: float = 0.0
    book: BookSales | None = None
    followers_kappa: float = 0.0
    followers_lag_steps: int = 1
    law: ImpactLaw | None = None

    def __post_init__(self) -> None:
        check_non_negative("transient_half_life_hours", self.transient_half_life_hours)
        if self.book is not None and not isinstance(self.book, BookSales):
            raise InvalidArgument(f"book={type(self.book).__name__} must be a BookSales or "
                                  "None; use BookSales.from_ladder(build_ladder(book)).")
        check_non_negative("followers_kappa", self.followers_kappa,
                           "Give a multiple of the owner's sales, e.g. 0.5.")
        lag = self.followers_lag_steps
        if isinstance(lag, bool) or not isinstance(lag, int | np.integer) or lag < 1:
            raise InvalidArgument(f"followers_lag_steps={lag!r} must be a whole number >= 1 "
                                  "(steps).")

    def book_arrays(self) -> tuple[FloatArray1D, FloatArray1D]:
        """The kernel's ``(book_trigger_usd, book_value_usd)``; empty with no book."""
        book = self.book if self.book is not None else BookSales.empty()
        return (np.ascontiguousarray(book.trigger_usd), np.ascontiguousarray(book.value_usd))

    def decay_per_step(self, step_hours: float) -> float:
        """``exp(-ln 2 * step / half-life)``; 0 with no transient part."""
        if self.transient_half_life_hours <= 0:
            return 0.0
        return math.exp(-math.log(2.0) * step_hours / self.transient_half_life_hours)

    def decay_per_s(self) -> float:
        """The transient impact's decay rate ``ln 2 / half-life`` (1/s); inf with no transient
        part. ``-ln(decay_per_step(h)) / (3600 h)`` for any step ``h``."""
        return half_life_to_rate(3600.0 * self.transient_half_life_hours)

    def kernel_law(self) -> ImpactLaw:
        """The impact's law (``SquareRootImpact.kernel_law``) with this market's transient
        decay, as the kernels take it."""
        if self.law is not None:
            return self.law
        return self.impact.kernel_law()._replace(decay_per_s=self.decay_per_s())


@dataclass(frozen=True)
class SimConfig:
    """How the loop runs.

    Attributes
    ----------
    step_hours : hours per step (the paths' step).
    liquidator_sell_frac : share of its ETH the liquidator sells in each step (1: all now).
    repay_with_collateral : False (default): withdraw, sell, repay; the withdrawal must keep
        HF >= the strategy's floor (>= 1). True: Aave's repay-with-collateral adapter (flash
        loan), no cap but the collateral held.
    max_liquidation_rounds : liquidation calls per account per step, at most.
    chunk_paths : paths per kernel call (the progress callback fires after each).
    """

    step_hours: float = 1.0
    liquidator_sell_frac: float = 1.0
    repay_with_collateral: bool = False
    max_liquidation_rounds: int = 4
    chunk_paths: int = 2_000

    def __post_init__(self) -> None:
        check_positive("step_hours", self.step_hours)
        if not (0.0 <= self.liquidator_sell_frac <= 1.0):
            raise InvalidArgument(
                f"liquidator_sell_frac={self.liquidator_sell_frac!r} must be in [0, 1]."
            )
        if int(self.max_liquidation_rounds) < 1 or int(self.chunk_paths) < 1:
            raise InvalidArgument("max_liquidation_rounds and chunk_paths must be >= 1.")


# ---------------------------------------------------------------------------------------------
# Results


def _readonly(obj: object, names: Sequence[str]) -> None:
    for name in names:
        arr = getattr(obj, name)
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)


_STEP_ARRAYS = ("mid_usd", "oracle_usd", "health_factor", "sold_eth", "seized_eth", "debt_usd",
                "cash_usd")
_PATH_ARRAYS = ("liquidated", "first_liquidation_step", "bad_debt_usd", "eth_left",
                "proceeds_usd", "sold_total_eth", "seized_total_eth", "debt_repaid_usd",
                "liquidator_repaid_usd", "interest_usd", "realized_pnl_usd",
                "unrealized_pnl_usd", "total_pnl_usd", "liquidity_discount_usd",
                "recovery_step", "unfilled_eth", "final_debt_usd", "final_cash_usd",
                "final_debt_utilization", "final_weth_utilization", "book_sold_eth",
                "follower_sold_eth")


@dataclass(frozen=True, eq=False)
class UnwindResult(ResultContract):
    """One strategy over ``n_paths`` paths of ``n_steps`` steps.

    Per-step arrays are ``(n_paths, n_steps + 1)``, column 0 the start; per-path arrays
    ``(n_paths,)``. All arrays are read-only.

    Per step: ``mid_usd`` (after the step's sales), ``oracle_usd``, ``health_factor`` (lowest
    over the accounts with debt, at the oracle; inf with no debt), ``sold_eth`` (by the owner
    in the step), ``seized_eth`` (by liquidations in the step), ``debt_usd``, ``cash_usd``.

    Per path: ``liquidated``, ``first_liquidation_step`` (-1 if never), ``bad_debt_usd``,
    ``eth_left``, ``proceeds_usd``, ``sold_total_eth``, ``seized_total_eth``,
    ``debt_repaid_usd`` (by the owner), ``liquidator_repaid_usd``, ``interest_usd``,
    ``realized_pnl_usd = proceeds + liquidator_repaid - (sold + seized) * cost``,
    ``unrealized_pnl_usd = eth_left * (final mid - cost)``,
    ``total_pnl_usd = realized + unrealized - interest + bad_debt`` (against the cost basis;
    equal to the change in equity plus the starting unrealized loss),
    ``liquidity_discount_usd = sum(pre-trade mid * sold) - proceeds`` (owner's sales),
    ``recovery_step`` (first step with mid >= cost basis, -1 if none), ``unfilled_eth``
    (the largest backlog: the most ETH the strategy wanted sold at one step and the caps or
    the market's capacity held back; never more than the ETH held), ``book_sold_eth`` (ETH
    sold by the liquidators of the other borrowers' book, :attr:`UnwindMarket.book`),
    ``follower_sold_eth`` (ETH sold by followers, :attr:`UnwindMarket.followers_kappa`).
    """

    strategy: str
    step_hours: float
    cost_basis_usd_per_eth: float
    initial_eth: float
    initial_debt_usd: float
    mid_usd: FloatArray2D
    oracle_usd: FloatArray2D
    health_factor: FloatArray2D
    sold_eth: FloatArray2D
    seized_eth: FloatArray2D
    debt_usd: FloatArray2D
    cash_usd: FloatArray2D
    liquidated: BoolArray
    first_liquidation_step: IntArray1D
    bad_debt_usd: FloatArray1D
    eth_left: FloatArray1D
    proceeds_usd: FloatArray1D
    sold_total_eth: FloatArray1D
    seized_total_eth: FloatArray1D
    debt_repaid_usd: FloatArray1D
    liquidator_repaid_usd: FloatArray1D
    interest_usd: FloatArray1D
    realized_pnl_usd: FloatArray1D
    unrealized_pnl_usd: FloatArray1D
    total_pnl_usd: FloatArray1D
    liquidity_discount_usd: FloatArray1D
    recovery_step: IntArray1D
    unfilled_eth: FloatArray1D
    final_debt_usd: FloatArray1D
    final_cash_usd: FloatArray1D
    final_debt_utilization: FloatArray1D
    final_weth_utilization: FloatArray1D
    book_sold_eth: FloatArray1D
    follower_sold_eth: FloatArray1D
    state: FloatArray2D = field(repr=False)  # (n_paths, N_STATE) final kernel state
    # (n_paths, n_accounts) each account's ETH and debt at the end (a replay checks them)
    account_eth_left: FloatArray2D = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    account_debt_usd: FloatArray2D = field(default_factory=lambda: np.zeros((0, 0)), repr=False)

    def __post_init__(self) -> None:
        _readonly(self, (*_STEP_ARRAYS, *_PATH_ARRAYS, "state", "account_eth_left",
                         "account_debt_usd"))

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.mid_usd.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of steps."""
        return int(self.mid_usd.shape[1] - 1)

    def to_frame(self) -> pd.DataFrame:
        """One row per path with the per-path outcomes."""
        data: dict[str, Any] = {name: getattr(self, name) for name in _PATH_ARRAYS}
        frame = pd.DataFrame(data)
        frame.index.name = "path"
        frame.insert(0, "strategy", self.strategy)
        return frame

    def summary_dict(self) -> dict[str, float]:
        """The per-strategy figures (means over paths unless named otherwise)."""
        rec = self.recovery_step >= 0
        rec_hours = self.recovery_step[rec].astype(np.float64) * self.step_hours
        return {
            "p_liquidation": float(self.liquidated.mean()),
            "realized_pnl_usd": float(self.realized_pnl_usd.mean()),
            "unrealized_pnl_usd": float(self.unrealized_pnl_usd.mean()),
            "total_pnl_usd": float(self.total_pnl_usd.mean()),
            "total_pnl_usd_p05": float(np.quantile(self.total_pnl_usd, 0.05)),
            "liquidity_discount_usd": float(self.liquidity_discount_usd.mean()),
            "eth_left": float(self.eth_left.mean()),
            "sold_eth": float(self.sold_total_eth.mean()),
            "seized_eth": float(self.seized_total_eth.mean()),
            "bad_debt_usd": float(self.bad_debt_usd.mean()),
            "interest_usd": float(self.interest_usd.mean()),
            "share_recovered": float(rec.mean()),
            "median_recovery_hours": float(np.median(rec_hours)) if rec_hours.size else math.nan,
            "book_sold_eth": float(self.book_sold_eth.mean()),
            "follower_sold_eth": float(self.follower_sold_eth.mean()),
        }

    def summary(self) -> str:
        """A few lines for the terminal."""
        s = self.summary_dict()
        rec = s["median_recovery_hours"]
        rec_text = "never" if math.isnan(rec) else f"{rec:,.0f} h (median)"
        return (
            f"{self.strategy}: {self.n_paths} paths x {self.n_steps} steps of "
            f"{self.step_hours:g} h\n"
            f"  P(liquidation) {s['p_liquidation']:.3f}, ETH left {s['eth_left']:,.0f}, "
            f"sold {s['sold_eth']:,.0f}, seized {s['seized_eth']:,.0f}\n"
            f"  P&L realized {s['realized_pnl_usd']:+,.0f}, unrealized "
            f"{s['unrealized_pnl_usd']:+,.0f}, total {s['total_pnl_usd']:+,.0f} USD (mean)\n"
            f"  liquidity discount {s['liquidity_discount_usd']:,.0f} USD, recovered on "
            f"{s['share_recovered']:.1%} of paths, {rec_text}"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class SimulationResult(ResultContract):
    """Several strategies run on the same paths."""

    results: tuple[UnwindResult, ...]

    def __getitem__(self, name: str) -> UnwindResult:
        for r in self.results:
            if r.strategy == name:
                return r
        raise KeyError(name)

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategies' names, in run order."""
        return tuple(r.strategy for r in self.results)

    def to_frame(self) -> pd.DataFrame:
        """One row per strategy (:meth:`UnwindResult.summary_dict`)."""
        frame = pd.DataFrame([r.summary_dict() for r in self.results],
                             index=pd.Index(self.strategies, name="strategy"))
        return frame

    def paths_frame(self) -> pd.DataFrame:
        """One row per (strategy, path)."""
        return pd.concat([r.to_frame().reset_index() for r in self.results],
                         ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """Per-strategy summaries for JSON."""
        return {r.strategy: r.summary_dict() for r in self.results}

    def summary(self) -> str:
        """Each strategy's summary."""
        return "\n".join(r.summary() for r in self.results)

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------------------------
# Conservation


def check_conservation(result: UnwindResult, *, rel_tol: float = 1e-9) -> None:
    """Assert the books balance on every path (raise AssertionError naming the first failure).

    - ETH: left + sold by the owner + seized = initial ETH;
    - USD: cash = proceeds - debt repaid by the owner;
    - debt: final = initial + interest - owner repaid - liquidator repaid - bad debt;
    - per step: cumulative sold and seized equal the per-path totals; cash and debt records
      end at the finals.
    """
    st = result.state
    eth0 = result.initial_eth
    scale_eth = max(eth0, 1.0)
    eth_gap = result.eth_left + result.sold_total_eth + result.seized_total_eth - eth0
    _assert_small("ETH", eth_gap, rel_tol * scale_eth)
    usd_scale = max(result.initial_debt_usd, 1.0)
    cash_gap = result.final_cash_usd - (result.proceeds_usd - result.debt_repaid_usd)
    _assert_small("USD cash", cash_gap, rel_tol * usd_scale)
    debt_gap = result.final_debt_usd - (
        result.initial_debt_usd + result.interest_usd - result.debt_repaid_usd
        - result.liquidator_repaid_usd - result.bad_debt_usd)
    _assert_small("debt", debt_gap, rel_tol * usd_scale)
    _assert_small("sold per step", result.sold_eth.sum(axis=1) - result.sold_total_eth,
                  rel_tol * scale_eth)
    _assert_small("seized per step", result.seized_eth.sum(axis=1) - result.seized_total_eth,
                  rel_tol * scale_eth)
    _assert_small("cash record", result.cash_usd[:, -1] - result.final_cash_usd,
                  rel_tol * usd_scale)
    _assert_small("debt record", result.debt_usd[:, -1] - result.final_debt_usd,
                  rel_tol * usd_scale)
    if np.any(result.cash_usd < -rel_tol * usd_scale) or np.any(st[:, K.S_LIQ_INV] < -1e-9):
        raise AssertionError("negative cash or liquidator inventory")


def _assert_small(what: str, gap: np.ndarray, tol: float) -> None:
    bad = np.flatnonzero(~(np.abs(gap) <= tol))
    if bad.size:
        i = int(bad[0])
        raise AssertionError(f"{what} not conserved on path {i}: gap {float(gap[i])!r}")


# ---------------------------------------------------------------------------------------------
# The run


def _curve_array(curve: InterestRateCurve | None) -> FloatArray1D:
    if curve is None:
        return np.array([0.5, 0.0, 0.0, 0.0])
    return np.array([curve.optimal_usage_ratio, curve.base_rate, curve.slope1, curve.slope2])


def _check_paths(paths: FloatArray2D) -> FloatArray2D:
    arr = np.ascontiguousarray(paths, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 2:
        raise InvalidArgument(
            f"paths has shape {arr.shape}; give (n_paths, n_steps + 1) with n_steps >= 1."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidArgument("paths must hold finite prices greater than 0 (USD).")
    return arr


def _check_oracle_paths(oracle_paths: FloatArray2D | None, shape: tuple[int, ...]
                        ) -> FloatArray2D | None:
    if oracle_paths is None:
        return None
    arr = np.ascontiguousarray(oracle_paths, dtype=np.float64)
    if arr.shape != shape:
        raise InvalidArgument(f"oracle_paths has shape {arr.shape}; give one answer per path "
                              f"and step, like paths: {shape}.")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidArgument("oracle_paths must hold finite prices greater than 0.")
    return arr if arr.flags.writeable else arr.copy()


@dataclass
class _Run:
    """Everything the kernel needs besides the paths and the per-chunk arrays."""

    position: UnwindPosition
    spec: RuleSpec
    strategy: Strategy
    context: StrategyContext
    market: UnwindMarket
    lending: LendingParams
    oracle: OracleLike
    config: SimConfig
    rules: LiquidationRules

    def reserves0(self) -> FloatArray1D:
        d = self.lending.debt_reserve
        w = self.lending.weth_reserve
        return np.array([d.total_supplied, d.total_borrowed,
                         w.total_supplied if w is not None else math.inf,
                         w.total_borrowed if w is not None else 0.0])

    def kernel_spec(self, n_steps: int, oracle_rows: FloatArray2D | None = None
                    ) -> K.UnwindSpec:
        """The kernel's records for a run of ``n_steps`` steps; ``oracle_rows`` the chunk's
        exogenous oracle answers (None: the oracle follows the mid)."""
        pos = self.position
        spec = self.spec
        cfg = self.config
        market = self.market
        n_acc = pos.collateral_eth.shape[0]
        accounts = K.UnwindAccounts(
            np.ascontiguousarray(pos.collateral_eth), np.ascontiguousarray(pos.debt_usd),
            np.ascontiguousarray(pos.liquidation_threshold),
            np.ascontiguousarray(pos.liquidation_bonus), np.ascontiguousarray(pos.protocol_fee))
        kmarket = K.MarketSpec(
            var0_per_day=float(market.impact.sigma_daily) ** 2,
            step_s=cfg.step_hours * 3600.0, heartbeat_s=float(self.oracle.heartbeat_s),
            deviation=float(self.oracle.deviation),
            follow_kappa=float(market.followers_kappa),
            follow_lag=int(market.followers_lag_steps),
            liq_sell_frac=float(cfg.liquidator_sell_frac),
            max_rounds=int(cfg.max_liquidation_rounds),
            oracle_path=K.NO_ORACLE_PATH if oracle_rows is None else oracle_rows)
        rule = K.UnwindRule(int(spec.rule), spec.params_array(), spec.schedule_cum(n_steps),
                            spec.split_array(n_acc), pos.total_eth, float(spec.floor_hf),
                            bool(cfg.repay_with_collateral))
        curves = K.ReserveCurves(_curve_array(self.lending.debt_curve),
                                 _curve_array(self.lending.weth_curve), self.reserves0())
        book = K.BookLadder(*market.book_arrays())
        return K.UnwindSpec(accounts, kmarket, market.kernel_law(), self.rules, rule, curves,
                            book)


def _run_chunk(run: _Run, exo: FloatArray2D, oracle_rows: FloatArray2D | None = None
               ) -> dict[str, np.ndarray]:
    n_paths, n_cols = exo.shape
    spec = run.kernel_spec(n_cols - 1, oracle_rows)
    state = K.new_state(n_paths, run.position.collateral_eth.shape[0])
    out = K.new_outputs(n_paths, n_cols)
    K.unwind_init(exo, spec, state, out)
    if run.spec.rule != K.RULE_CUSTOM:
        K.unwind_steps(exo, 1, n_cols, spec, state, out)
    else:
        for k in range(1, n_cols):
            obs = _observe(run, exo, spec, state, out, k)
            want = np.ascontiguousarray(run.strategy.decide(obs), dtype=np.float64)
            want = np.broadcast_to(want, (n_paths,)).copy()
            if not np.all(np.isfinite(want)):
                raise InvalidArgument(f"strategy {run.strategy.name!r} returned a non-finite "
                                      "sale; return ETH amounts >= 0.")
            np.maximum(want, 0.0, out=state.want_eth)
            K.unwind_steps(exo, k, k + 1, spec, state, out)
    outs = {name: getattr(out, name) for name in _STEP_ARRAYS}
    return {**outs, "state": state.st, "coll": state.coll, "debt": state.debt}


def _observe(run: _Run, exo: FloatArray2D, spec: K.UnwindSpec, state: K.UnwindState,
             out: K.UnwindOutputs, k: int) -> Observation:
    """What a Python strategy sees before step ``k``'s sale (see :class:`Observation`).

    The mid is the kernel's own before the owner decides (:func:`K.preview_mid`: the market's
    move and this step's followers' sale); the oracle is the last step's answer.
    """
    st = state.st
    return Observation(
        step=k,
        mid_usd=K.preview_mid(exo, k, spec, state, out),
        oracle_usd=st[:, K.S_ORACLE].copy(),
        health_factor=_hf_now(state.coll, state.debt, st[:, K.S_ORACLE], run.position),
        held_eth=state.coll.sum(axis=1),
        debt_usd=state.debt.sum(axis=1),
        cash_usd=st[:, K.S_CASH].copy(),
        sold_eth=st[:, K.S_SOLD].copy(),
        context=run.context,
    )


def _hf_now(coll: FloatArray2D, debt: FloatArray2D, oracle_usd: FloatArray1D,
            pos: UnwindPosition) -> FloatArray1D:
    """Lowest HF over the accounts with debt at the oracle (inf with no debt), per path.

    From the state, not the record: the record keeps a liquidation's trigger HF.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        hf = coll * oracle_usd[:, None] * pos.liquidation_threshold[None, :] / debt
    return np.asarray(np.where(debt > 0.0, hf, np.inf).min(axis=1), dtype=np.float64)


def _finish(run: _Run, name: str, parts: list[dict[str, np.ndarray]]) -> UnwindResult:
    cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    st = cat["state"]
    pos = run.position
    cost = pos.cost_basis_usd_per_eth
    mid = cat["mid_usd"]
    eth_left = cat["coll"].sum(axis=1)
    sold = st[:, K.S_SOLD]
    seized = st[:, K.S_SEIZED]
    liq_repaid = st[:, K.S_LIQ_REPAID]
    proceeds = st[:, K.S_PROCEEDS]
    realized = proceeds + liq_repaid - (sold + seized) * cost
    unrealized = eth_left * (mid[:, -1] - cost)
    total = realized + unrealized - st[:, K.S_ACCRUED] + st[:, K.S_BAD_DEBT]
    hit = mid >= cost
    recovery = np.where(hit.any(axis=1), hit.argmax(axis=1), -1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_debt = np.where(st[:, K.S_D_SUP] > 0, st[:, K.S_D_BOR] / st[:, K.S_D_SUP], 0.0)
        u_weth = np.where(np.isfinite(st[:, K.S_W_SUP]),
                          st[:, K.S_W_BOR] / st[:, K.S_W_SUP], np.nan)
    first = st[:, K.S_FIRST_LIQ].astype(np.int64)
    return UnwindResult(
        strategy=name,
        step_hours=run.config.step_hours,
        cost_basis_usd_per_eth=cost,
        initial_eth=pos.total_eth,
        initial_debt_usd=pos.total_debt_usd,
        mid_usd=mid,
        oracle_usd=cat["oracle_usd"],
        health_factor=cat["health_factor"],
        sold_eth=cat["sold_eth"],
        seized_eth=cat["seized_eth"],
        debt_usd=cat["debt_usd"],
        cash_usd=cat["cash_usd"],
        liquidated=first >= 0,
        first_liquidation_step=first,
        bad_debt_usd=st[:, K.S_BAD_DEBT].copy(),
        eth_left=eth_left,
        proceeds_usd=proceeds.copy(),
        sold_total_eth=sold.copy(),
        seized_total_eth=seized.copy(),
        debt_repaid_usd=st[:, K.S_REPAID].copy(),
        liquidator_repaid_usd=liq_repaid.copy(),
        interest_usd=st[:, K.S_ACCRUED].copy(),
        realized_pnl_usd=realized,
        unrealized_pnl_usd=unrealized,
        total_pnl_usd=total,
        liquidity_discount_usd=st[:, K.S_MARKVAL] - proceeds,
        recovery_step=recovery,
        unfilled_eth=st[:, K.S_UNFILLED].copy(),
        final_debt_usd=cat["debt"].sum(axis=1),
        final_cash_usd=st[:, K.S_CASH].copy(),
        final_debt_utilization=u_debt,
        final_weth_utilization=u_weth,
        book_sold_eth=st[:, K.S_BOOK_SOLD].copy(),
        follower_sold_eth=st[:, K.S_FOLLOW_SOLD].copy(),
        state=st,
        account_eth_left=cat["coll"],
        account_debt_usd=cat["debt"],
    )


ProgressCallback = Callable[[int, int], None]  # (paths done, paths in all)


def simulate_strategies(
    position: UnwindPosition,
    strategies: Sequence[Strategy],
    paths: FloatArray2D,
    *,
    market: UnwindMarket,
    lending: LendingParams,
    oracle: OracleLike = OracleParams(),
    config: SimConfig = SimConfig(),
    progress: ProgressCallback | None = None,
    rules: LiquidationRules | None = None,
    oracle_paths: FloatArray2D | None = None,
) -> SimulationResult:
    """Run each strategy on the same exogenous ``paths`` (common random numbers).

    Parameters
    ----------
    position : the accounts and the cost basis.
    strategies : the unwind rules (names must differ).
    paths : (n_paths, n_steps + 1) exogenous ETH prices (USD), column 0 the start.
    market : square-root impact and transient decay; the other borrowers' book and the
        followers, if any.
    lending : debt (and optionally WETH) reserve states and curves.
    oracle : heartbeat and deviation (default: follows the mid).
    config : step length, liquidator behaviour, withdrawal rule, chunking.
    progress : called with (paths done, total) after each chunk of each strategy.
    rules : the lending protocol's liquidation rules (``LendingProtocol.kernel_rules()``);
        default ``lending.rules`` (Aave v3.6's unless the lending says otherwise). Morpho
        Blue: ``LiquidationRules(1.0, inf, 0, 0, True)`` with the position's
        ``liquidation_bonus = LIF - 1`` and ``protocol_fee = 0``.
    oracle_paths : (n_paths, n_steps + 1) the oracle's answers, exogenous: what an
        exchange-rate oracle reads (the token's contract rate, which no sale moves); ``oracle``
        is then unused. None (default): the oracle follows the mid by ``oracle``.

    Returns
    -------
    SimulationResult
    """
    exo_all = _check_paths(paths)
    oracle_all = _check_oracle_paths(oracle_paths, exo_all.shape)
    if not strategies:
        raise InvalidArgument("strategies is empty; give at least one strategy.")
    names = [s.name for s in strategies]
    if len(set(names)) != len(names):
        raise InvalidArgument(f"strategy names must differ; got {names}.")
    n_paths, n_cols = exo_all.shape
    impact = market.impact
    context = StrategyContext(
        n_steps=n_cols - 1, step_hours=config.step_hours, initial_eth=position.total_eth,
        initial_debt_usd=position.total_debt_usd, mark_price_usd=float(exo_all[0, 0]),
        sigma_daily=impact.sigma_daily, adv_eth=impact.adv_eth, impact_y=impact.impact_y)
    results = []
    total = n_paths * len(strategies)
    done = 0
    for strategy in strategies:
        run = _Run(position, strategy.spec_or_custom(context), strategy, context, market,
                   lending, oracle, config, rules if rules is not None else lending.rules)
        parts = []
        for start in range(0, n_paths, config.chunk_paths):
            exo = exo_all[start:start + config.chunk_paths]
            rows = None if oracle_all is None else oracle_all[start:start + config.chunk_paths]
            parts.append(_run_chunk(run, exo, rows))
            done += exo.shape[0]
            if progress is not None:
                progress(done, total)
        results.append(_finish(run, strategy.name, parts))
    return SimulationResult(tuple(results))


def simulate_unwind(
    position: UnwindPosition,
    strategy: Strategy,
    paths: FloatArray2D,
    *,
    market: UnwindMarket,
    lending: LendingParams,
    oracle: OracleLike = OracleParams(),
    config: SimConfig = SimConfig(),
    rules: LiquidationRules | None = None,
    oracle_paths: FloatArray2D | None = None,
) -> UnwindResult:
    """One strategy over ``paths``; see :func:`simulate_strategies`."""
    return simulate_strategies(position, [strategy], paths, market=market, lending=lending,
                               oracle=oracle, config=config, rules=rules,
                               oracle_paths=oracle_paths).results[0]


__all__ = [
    "CHAINLINK_ETH_USD",
    "BookSales",
    "LendingParams",
    "OracleLike",
    "OracleParams",
    "ProgressCallback",
    "SimConfig",
    "SimulationResult",
    "UnwindMarket",
    "UnwindPosition",
    "UnwindResult",
    "check_conservation",
    "simulate_strategies",
    "simulate_unwind",
]

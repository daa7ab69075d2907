"""Recorded Aave v3 Ethereum Core reserve snapshots, utilization inferred from them, and the
Feb 2026 starting state of the reserves the unwind touches.

Data: the shipped excerpt ``delever/data/aave/th3nolo_aave_v3_reserves_daily_excerpt.csv.gz``
(derived from th3nolo/aave-v3-data, MIT, Copyright (c) 2025 th3nolo; see its README). This
module is a data loader: it reads that package file and nothing else.

Utilization is not in the snapshots; it is inferred two ways (fractions):

- ``U_curve``: the borrow rate inverted through the rate curve in force that day
  (:func:`delever.protocol.rates.utilization_from_borrow_rate`);
- ``U_supply``: ``liquidity_rate / (borrow_rate * (1 - reserve_factor))``, which follows from
  ``liquidity_rate = borrow_rate * U * (1 - RF)`` (``DefaultReserveInterestRateStrategyV2.
  calculateInterestRates``, no deficit) and needs no curve.

Absolute sizes (tokens supplied) are not in the snapshots either: the figures below come from
public pages and are labelled estimates.
"""

from __future__ import annotations

import gzip
import io
import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.protocol.rates import (
    ReserveState,
    borrow_rate,
    utilization_from_borrow_rate,
    utilization_from_borrow_rate_array,
)
from delever.protocol.reserves import RESERVES, resolve_symbol

DATA_FILE = "th3nolo_aave_v3_reserves_daily_excerpt.csv.gz"
DATA_SOURCE = (
    "th3nolo/aave-v3-data daily snapshots (MIT, Copyright (c) 2025 th3nolo), derived excerpt "
    f"delever/data/aave/{DATA_FILE}"
)
SYMBOLS = ("WETH", "USDC", "USDT", "wstETH", "weETH")

# --- external size figures (estimates) -------------------------------------------------------
# WETH: TokenLogic, '[Risk Stewards] Reduce wETH Slope1', governance.aave.com/t/24478,
# 2026-04-18: 'Total supply ~3.0M WETH (~$7.1B)', utilization 88.5%. That is ten weeks after
# the unwind; Chaos Labs 07.02.26 (governance.aave.com/t/24018) says the unwinding fund alone
# had 'over 600k WETH posted as collateral', so the Feb 1 supply could differ by a few hundred
# thousand ETH either way: estimate 3.0M, sensitivity range 2.5M-3.5M.
WETH_SUPPLY_SOURCE = (
    "TokenLogic, '[Risk Stewards] Reduce wETH Slope1', governance.aave.com/t/24478, "
    "2026-04-18: total supply ~3.0M WETH; used for 2026-02-01 as an estimate "
    "(range 2.5M-3.5M)"
)
WETH_TOTAL_SUPPLIED_ESTIMATE = 3_000_000.0
WETH_TOTAL_SUPPLIED_RANGE = (2_500_000.0, 3_500_000.0)
# USDT: aavescan.com/ethereum-v3/usdt daily snapshot 2026-01-29 (midnight UTC): supplied
# 6.66B, borrowed 5.00B. USDC: aavescan.com USDC on Aave V3 Ethereum, monthly snapshot
# 2026-02-01: supplied 4.05B, borrowed 3.66B. Both are read from rounded page figures.
USDT_SUPPLY_SOURCE = (
    "aavescan.com/ethereum-v3/usdt, daily snapshot 2026-01-29: supplied 6.66B USDT "
    "(borrowed 5.00B); estimate for 2026-02-01"
)
USDT_TOTAL_SUPPLIED_ESTIMATE = 6.66e9
USDC_SUPPLY_SOURCE = (
    "aavescan.com (USDC, Aave V3 Ethereum), monthly snapshot 2026-02-01: supplied 4.05B USDC "
    "(borrowed 3.66B); an estimate"
)
USDC_TOTAL_SUPPLIED_ESTIMATE = 4.05e9

TOTAL_SUPPLIED_ESTIMATES: dict[str, tuple[float, str]] = {
    "WETH": (WETH_TOTAL_SUPPLIED_ESTIMATE, WETH_SUPPLY_SOURCE),
    "USDT": (USDT_TOTAL_SUPPLIED_ESTIMATE, USDT_SUPPLY_SOURCE),
    "USDC": (USDC_TOTAL_SUPPLIED_ESTIMATE, USDC_SUPPLY_SOURCE),
}

# The unwind (press, Odaily 467627): about 255,500 ETH sold over Feb 1-6, 2026, from WETH
# collateral withdrawn from Aave. An estimate.
REPORTED_WITHDRAWN_ETH = 255_500.0
WITHDRAWAL_SOURCE = "about 255,500 ETH sold over 2026-02-01..06 (press, Odaily 467627), estimate"
WITHDRAWAL_DAYS = tuple(date(2026, 2, d) for d in range(1, 7))
START_DAY = date(2026, 2, 1)
TABLE_DAYS = tuple(date(2026, 2, d) for d in range(1, 9))


def _resolve(symbol: str) -> str:
    return resolve_symbol(symbol, {name: RESERVES[name] for name in SYMBOLS})


@lru_cache(maxsize=1)
def _all_rows() -> pd.DataFrame:
    raw = resources.files("delever.data.aave").joinpath(DATA_FILE).read_bytes()
    frame = pd.read_csv(io.BytesIO(gzip.decompress(raw)))
    frame["snapshot_utc"] = pd.to_datetime(frame["snapshot_utc"], utc=True, format="ISO8601")
    frame["day"] = frame["snapshot_utc"].dt.date
    return frame


def reserve_history(symbol: str) -> pd.DataFrame:
    """All recorded snapshots of one reserve, in time order.

    Parameters
    ----------
    symbol
        ``"WETH"``, ``"USDC"``, ``"USDT"``, ``"wstETH"`` or ``"weETH"`` (case-insensitive).

    Returns
    -------
    pandas.DataFrame
        Columns ``snapshot_utc`` (UTC timestamps), ``day`` (its UTC date), ``symbol``,
        ``loan_to_value``, ``liquidation_threshold``, ``liquidation_bonus``,
        ``reserve_factor``, ``current_variable_borrow_rate``, ``current_liquidity_rate``
        (annual fractions), ``liquidity_index``, ``variable_borrow_index``. A few days hold
        more than one snapshot.
    """
    name = _resolve(symbol)
    frame = _all_rows()
    out = frame[frame["symbol"] == name].sort_values("snapshot_utc", kind="stable")
    return out.reset_index(drop=True).copy()


def utilization_history(symbol: str) -> pd.DataFrame:
    """Utilization inferred for each recorded day (first snapshot of each UTC day).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day``; columns ``borrow_rate``, ``liquidity_rate``, ``reserve_factor``,
        ``u_curve`` (borrow rate inverted through the curve in force that day; NaN where no
        curve is known or the rate is off the curve), ``u_supply`` (``liquidity_rate /
        (borrow_rate * (1 - RF))``; NaN when the borrow rate is 0) and ``u_diff``
        (``u_curve - u_supply``).
    """
    rows = reserve_history(symbol).drop_duplicates("day", keep="first").set_index("day")
    params = RESERVES[rows["symbol"].iloc[0]]
    borrow = rows["current_variable_borrow_rate"].to_numpy(dtype=np.float64)
    liquidity = rows["current_liquidity_rate"].to_numpy(dtype=np.float64)
    factor = rows["reserve_factor"].to_numpy(dtype=np.float64)
    u_curve = np.full(len(rows), np.nan)
    for i, day in enumerate(rows.index):
        try:
            curve = params.rate_curve_on(day)
        except InvalidArgument:
            continue
        u_curve[i] = float(utilization_from_borrow_rate_array(borrow[i], curve))
    with np.errstate(divide="ignore", invalid="ignore"):
        u_supply = np.where(borrow > 0, liquidity / (borrow * (1.0 - factor)), np.nan)
    out = pd.DataFrame(
        {
            "borrow_rate": borrow,
            "liquidity_rate": liquidity,
            "reserve_factor": factor,
            "u_curve": u_curve,
            "u_supply": u_supply,
        },
        index=rows.index,
    )
    out["u_diff"] = out["u_curve"] - out["u_supply"]
    return out


def _row_on(symbol: str, day: date) -> pd.Series:
    history = utilization_history(symbol)
    if day not in history.index:
        first, last = history.index[0], history.index[-1]
        raise InvalidArgument(
            f"day={day} has no {symbol} snapshot; recorded days run {first} to {last} "
            "(a few days are missing)."
        )
    row = history.loc[day]
    assert isinstance(row, pd.Series)  # the index holds one row per day
    return row


def recorded_borrow_rate(symbol: str, day: date) -> float:
    """The variable borrow rate (fraction per year) in the first snapshot of ``day``."""
    return float(_row_on(_resolve(symbol), day)["borrow_rate"])


def utilization_on(symbol: str, day: date) -> tuple[float, str]:
    """Utilization of ``symbol`` on ``day`` and how it was obtained.

    Uses the curve inversion where the curve in force that day is known and the rate lies on
    it, otherwise the supply-rate identity. Returns ``(utilization, source)``.
    """
    name = _resolve(symbol)
    row = _row_on(name, day)
    snapshot = f"{DATA_SOURCE}, first snapshot of {day}"
    if math.isfinite(row["u_curve"]):
        return float(row["u_curve"]), (
            f"borrow rate {row['borrow_rate']:.6f} inverted through the {name} curve in force "
            f"on {day}; {snapshot}"
        )
    if math.isfinite(row["u_supply"]):
        return float(row["u_supply"]), (
            f"liquidity_rate / (borrow_rate * (1 - reserve_factor)); {snapshot}"
        )
    raise InvalidArgument(f"day={day}: {name} utilization cannot be inferred (zero rates).")


def reserve_state_on(
    symbol: str, day: date, *, total_supplied: float | None = None
) -> tuple[ReserveState, str]:
    """The reserve's aggregate state on ``day``: utilization from the snapshots, size external.

    Parameters
    ----------
    symbol
        Reserve symbol.
    day
        A recorded UTC day.
    total_supplied
        aToken supply in tokens; ``None`` uses the external estimate for WETH, USDT or USDC
        (:data:`TOTAL_SUPPLIED_ESTIMATES`) and raises InvalidArgument for the others.

    Returns
    -------
    tuple[ReserveState, str]
        ``ReserveState(total_supplied, utilization * total_supplied)`` and a text naming the
        sources of the utilization and the size.
    """
    name = _resolve(symbol)
    utilization, u_source = utilization_on(name, day)
    if total_supplied is None:
        if name not in TOTAL_SUPPLIED_ESTIMATES:
            raise InvalidArgument(
                f"total_supplied=None: no external size figure for {name}; give "
                "total_supplied in tokens."
            )
        supplied, s_source = TOTAL_SUPPLIED_ESTIMATES[name]
    else:
        supplied = check_positive("total_supplied", total_supplied)
        s_source = "total_supplied given by the caller"
    state = ReserveState(supplied, utilization * supplied)
    return state, f"utilization: {u_source}; size: {s_source}"


@dataclass(frozen=True)
class WithdrawalRate:
    """WETH borrow rate after a supply withdrawal, modelled against the recorded rate.

    Attributes
    ----------
    day
        Day of the curve (and of the recorded rate).
    withdrawn_eth
        Supply withdrawn since the start state, ETH.
    total_supplied_eth, total_borrowed_eth
        Start state, ETH; the debt is held fixed.
    utilization_before, utilization_after
        ``B / S`` and ``B / (S - w)``.
    borrow_rate_before, modelled_borrow_rate
        Curve of ``day`` at the two utilizations, fractions per year.
    recorded_borrow_rate
        Borrow rate in the first snapshot of ``day`` (NaN if none).
    start_day
        Day of the start state.
    curve_source
        Source of the curve in force on ``day``.
    """

    day: date
    withdrawn_eth: float
    total_supplied_eth: float
    total_borrowed_eth: float
    utilization_before: float
    utilization_after: float
    borrow_rate_before: float
    modelled_borrow_rate: float
    recorded_borrow_rate: float
    start_day: date
    curve_source: str

    @property
    def start_recorded_borrow_rate(self) -> float:
        """Recorded borrow rate on ``start_day``."""
        return recorded_borrow_rate("WETH", self.start_day)

    @property
    def explained_share(self) -> float:
        """Share of the recorded rise since ``start_day`` that the withdrawal explains."""
        rise = self.recorded_borrow_rate - self.start_recorded_borrow_rate
        return (self.modelled_borrow_rate - self.start_recorded_borrow_rate) / rise if (
            rise != 0) else math.nan


def weth_rate_after_withdrawal(
    withdrawn_eth: float,
    day: date,
    *,
    total_supplied_eth: float | None = None,
    start_day: date = START_DAY,
) -> WithdrawalRate:
    """The WETH borrow rate on ``day`` after ``withdrawn_eth`` leaves the start-day supply.

    Parameters
    ----------
    withdrawn_eth
        WETH supply withdrawn since ``start_day``, ETH (>= 0, below the available liquidity).
    day
        Day whose rate curve applies and whose recorded rate is shown.
    total_supplied_eth
        Supply on ``start_day``, ETH; default :data:`WETH_TOTAL_SUPPLIED_ESTIMATE`.
    start_day
        Day of the start state (utilization from the snapshots).

    Returns
    -------
    WithdrawalRate

    Notes
    -----
    Debt ``B = U0 * S`` is held fixed (no new borrowing, repayment or accrual); the
    withdrawal lowers the supply, so ``U' = B / (S - w)`` and the modelled rate is the curve
    in force on ``day`` at ``U'``. A withdrawal is capped by the available liquidity
    ``S - B`` (``Pool.withdraw`` reverts beyond it), so ``w < S - B`` is required here.
    """
    withdrawn = check_non_negative("withdrawn_eth", withdrawn_eth)
    state, _ = reserve_state_on("WETH", start_day, total_supplied=total_supplied_eth)
    supplied, borrowed = state.total_supplied, state.total_borrowed
    available = supplied - borrowed
    if withdrawn >= available:
        raise InvalidArgument(
            f"withdrawn_eth={withdrawn_eth!r} must be below the available liquidity "
            f"{available:,.0f} ETH (supply {supplied:,.0f} x (1 - utilization "
            f"{state.utilization:.4f})); give a larger total_supplied_eth or a smaller "
            "withdrawal."
        )
    curve = RESERVES["WETH"].rate_curve_on(day)
    u_after = borrowed / (supplied - withdrawn)
    try:
        recorded = recorded_borrow_rate("WETH", day)
    except InvalidArgument:
        recorded = math.nan
    return WithdrawalRate(
        day=day,
        withdrawn_eth=withdrawn,
        total_supplied_eth=supplied,
        total_borrowed_eth=borrowed,
        utilization_before=state.utilization,
        utilization_after=u_after,
        borrow_rate_before=borrow_rate(state.utilization, curve),
        modelled_borrow_rate=borrow_rate(u_after, curve),
        recorded_borrow_rate=recorded,
        start_day=start_day,
        curve_source=curve.source,
    )


def equal_daily_withdrawn_eth(
    total_withdrawn_eth: float, day: date, withdrawal_days: tuple[date, ...] = WITHDRAWAL_DAYS
) -> float:
    """Cumulative withdrawal seen by the snapshot of ``day`` under the equal-daily rule.

    The rule (an assumption, not data): ``total / len(withdrawal_days)`` leaves on each
    withdrawal day; the snapshot of ``day`` (about 00:20 UTC) sees the days strictly before it.
    """
    total = check_non_negative("total_withdrawn_eth", total_withdrawn_eth)
    done = sum(1 for d in withdrawal_days if d < day)
    return total * done / len(withdrawal_days)


def withdrawal_table(
    total_withdrawn_eth: float = REPORTED_WITHDRAWN_ETH,
    *,
    days: tuple[date, ...] | None = None,
    total_supplied_eth: float | None = None,
    supply_range_eth: tuple[float, float] = WETH_TOTAL_SUPPLIED_RANGE,
) -> pd.DataFrame:
    """Recorded vs modelled WETH borrow rate per day under the equal-daily withdrawal rule.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day``; columns ``withdrawn_eth`` (cumulative, equal-daily rule),
        ``recorded_borrow_rate``, ``recorded_utilization`` (curve inversion),
        ``modelled_utilization``, ``modelled_borrow_rate`` (at the central supply), and
        ``modelled_borrow_rate_low_supply`` / ``_high_supply`` (at the ends of
        ``supply_range_eth``; a smaller supply gives the higher rate).
    """
    records = []
    for day in days if days is not None else TABLE_DAYS:
        withdrawn = equal_daily_withdrawn_eth(total_withdrawn_eth, day)
        central = weth_rate_after_withdrawal(withdrawn, day, total_supplied_eth=total_supplied_eth)
        low = weth_rate_after_withdrawal(withdrawn, day, total_supplied_eth=supply_range_eth[0])
        high = weth_rate_after_withdrawal(withdrawn, day, total_supplied_eth=supply_range_eth[1])
        try:
            recorded_u: float = utilization_on("WETH", day)[0]
        except InvalidArgument:
            recorded_u = math.nan
        records.append(
            {
                "day": day,
                "withdrawn_eth": withdrawn,
                "recorded_borrow_rate": central.recorded_borrow_rate,
                "recorded_utilization": recorded_u,
                "modelled_utilization": central.utilization_after,
                "modelled_borrow_rate": central.modelled_borrow_rate,
                "modelled_borrow_rate_low_supply": low.modelled_borrow_rate,
                "modelled_borrow_rate_high_supply": high.modelled_borrow_rate,
            }
        )
    return pd.DataFrame.from_records(records).set_index("day")


def supply_implied_by_rate(
    recorded_rate: float, day: date, withdrawn_eth: float, *, start_day: date = START_DAY
) -> float:
    """WETH supply (ETH) at ``start_day`` for which withdrawing ``withdrawn_eth`` alone gives
    ``recorded_rate`` on ``day``: ``S = w / (1 - U0 / U1)``, ``U1`` the curve inverse."""
    u0, _ = utilization_on("WETH", start_day)
    u1 = utilization_from_borrow_rate(recorded_rate, RESERVES["WETH"].rate_curve_on(day))
    if u1 <= u0:
        raise InvalidArgument(
            f"recorded_rate={recorded_rate!r} gives utilization {u1:.4f}, not above the start "
            f"{u0:.4f}; a withdrawal cannot explain it."
        )
    return check_non_negative("withdrawn_eth", withdrawn_eth) / (1.0 - u0 / u1)


__all__ = [
    "DATA_SOURCE",
    "REPORTED_WITHDRAWN_ETH",
    "TOTAL_SUPPLIED_ESTIMATES",
    "USDC_TOTAL_SUPPLIED_ESTIMATE",
    "USDT_TOTAL_SUPPLIED_ESTIMATE",
    "WETH_TOTAL_SUPPLIED_ESTIMATE",
    "WETH_TOTAL_SUPPLIED_RANGE",
    "WITHDRAWAL_SOURCE",
    "WithdrawalRate",
    "equal_daily_withdrawn_eth",
    "recorded_borrow_rate",
    "reserve_history",
    "reserve_state_on",
    "supply_implied_by_rate",
    "utilization_history",
    "utilization_on",
    "weth_rate_after_withdrawal",
    "withdrawal_table",
]

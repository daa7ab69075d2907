"""The February 2026 replay's drawdown decomposition with state-dependent liquidity.

Builds the default scenario's replay inputs (``delever replay``: the reported sales spread
over the hours of their days on the Binance hourly path, the square-root market fitted
before 2026-01-01), then computes the fund's own impact at the hourly low twice: with fixed
depth (``delever replay --json``'s ``decomposition``) and with the depth thinned along the
realized path by the fitted :data:`delever.market.liquidity.FITTED_LIQUIDITY`. The EWMA
volatility is seeded with the daily EWMA (same half-life) of the Binance daily closes
before the window (nvn01 to 2025-06-24, then the mshmwr excerpt); the peak with the
window's first price (the engines' running peak) and, as a sensitivity, the 365-day peak
before the window (the calibration's drawdown). Also printed: the 30-day half-life fit.

Usage: ``python scripts/replay_state_liquidity.py``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from delever.market.liquidity import (
    FITTED_LIQUIDITY,
    StateLiquidity,
    ewma_daily_vol,
    fit_state_liquidity,
    path_state,
)
from delever.market.loaders import load_binance_daily, load_binance_daily_recent
from delever.scenario import load_scenario
from delever.scenario.replay import replay_inputs
from delever.sim.replay import (
    ReplayInputs,
    drawdown_decomposition,
    own_impact_fraction,
    state_liquidity_own_impact,
)


def _daily_closes_before(start: pd.Timestamp) -> pd.Series:
    old = load_binance_daily()["close_usd"]
    recent = load_binance_daily_recent()["close_usd"]
    closes = pd.concat([old, recent[recent.index > old.index[-1]]])
    return closes[closes.index < start]


def _line(label: str, dec: dict[str, float]) -> str:
    return (f"{label:<32} own impact {dec['own_impact_log_pct']:5.2f} of "
            f"{dec['drawdown_log_pct']:5.2f} log-points ({100 * dec['own_impact_share']:.1f} %), "
            f"at the end {dec['own_impact_at_end_pct']:.2f} %")


def _report(inputs: ReplayInputs, label: str, liquidity: StateLiquidity,
            closes: pd.Series) -> None:
    halflife_days = liquidity.vol_halflife_s / 86_400.0
    returns = np.diff(np.log(closes.to_numpy()))
    vol_daily = ewma_daily_vol(returns, halflife_days)
    keep = 0.5 ** (1.0 / halflife_days)  # one more update with the last return
    var0 = keep * vol_daily[-1] ** 2 + (1 - keep) * returns[-1] ** 2
    peak365 = float(closes.iloc[-365:].max())
    print(f"{label}: a = {liquidity.thin_vol:.3f}, b = {liquidity.thin_drawdown:.3f}, "
          f"vol_ref = {liquidity.vol_ref:.4f}, start vol {np.sqrt(var0):.4f}/sqrt(day)")
    k_low = int(np.argmin(inputs.realized_usd))
    for peak_label, peak in (("peak from the window start", None),
                             (f"365-day peak {peak365:,.0f}", peak365)):
        own = state_liquidity_own_impact(inputs, liquidity, initial_var_per_day=var0,
                                         initial_peak_usd=peak)
        vol, drawdown = path_state(inputs.realized_usd, 3600.0 * inputs.step_hours, liquidity,
                                   var0, peak)
        factor = float(liquidity.depth_factor(vol[k_low], drawdown[k_low]))
        print(_line(f"  {peak_label}", drawdown_decomposition(inputs, own)))
        print(f"    at the hourly low: vol {vol[k_low]:.4f}/sqrt(day), drawdown "
              f"{drawdown[k_low]:.3f}, depth x {factor:.3f}")


def main() -> None:
    inputs = replay_inputs(load_scenario())
    start = pd.Timestamp(inputs.start)
    closes = _daily_closes_before(start)
    fixed = own_impact_fraction(inputs.schedule_eth, inputs.market, inputs.step_hours)
    print(f"Replay {inputs.start:%Y-%m-%d %H:%M} UTC, {inputs.n_steps} hourly steps, "
          f"{inputs.schedule_eth.sum():,.0f} ETH sold")
    print(_line("fixed depth (delever replay --json)", drawdown_decomposition(inputs, fixed)))
    _report(inputs, "state liquidity (fitted)", FITTED_LIQUIDITY, closes)
    slow = fit_state_liquidity(vol_halflife_days=30.0).to_liquidity()
    _report(inputs, "sensitivity: 30-day half-life fit", slow, closes)
    usd = fit_state_liquidity(volume="usd").to_liquidity()
    _report(inputs, "sensitivity: dollar-volume fit (b mechanical)", usd, closes)


if __name__ == "__main__":
    main()

"""Fit the state-dependent liquidity of ``delever.market.liquidity`` on the shipped data.

Refits ``a`` (thin_vol) and ``b`` (thin_drawdown) by
:func:`delever.market.liquidity.fit_state_liquidity` on the shipped Binance ETHUSDT daily
klines (``src/delever/data/binance/nvn01_ethusdt_1d.csv.gz``, days before the 2026-01-01
cut-off), prints the fit with its Newey-West standard errors and R^2, the constants to store
in ``liquidity.py``, and two sensitivity tables (dollar instead of ETH volume; the EWMA
half-life). ``--check`` exits 1 when the stored constants differ from the refit.

Usage: ``python scripts/calibrate_liquidity.py [--check]``
"""

from __future__ import annotations

import math
import sys

from delever.market import liquidity as liq
from delever.market.liquidity import fit_state_liquidity


def main(argv: list[str]) -> int:
    fit = fit_state_liquidity()
    print(fit.summary())
    print()
    print("Constants for src/delever/market/liquidity.py:")
    print(f"FITTED_THIN_VOL = {fit.thin_vol!r}")
    print(f"FITTED_THIN_VOL_SE = {fit.thin_vol_se!r}")
    print(f"FITTED_THIN_DRAWDOWN = {fit.thin_drawdown!r}")
    print(f"FITTED_THIN_DRAWDOWN_SE = {fit.thin_drawdown_se!r}")
    print(f"FITTED_VOL_REF = {fit.vol_ref!r}")
    print(f"FITTED_R_SQUARED = {fit.r_squared!r}")
    print(f"FITTED_N_DAYS = {fit.n_days!r}")
    for label, day in (("FIRST", fit.first_day), ("LAST", fit.last_day)):
        print(f"FITTED_{label}_DAY = date({day.year}, {day.month}, {day.day})")
    print()
    usd = fit_state_liquidity(volume="usd")
    print("Sensitivity: dollar volume instead of ETH volume (the price level enters b):")
    print(f"  a = {usd.thin_vol:.3f} +/- {usd.thin_vol_se:.3f}, b = {usd.thin_drawdown:.3f} "
          f"+/- {usd.thin_drawdown_se:.3f}, R^2 = {usd.r_squared:.4f}")
    print("Sensitivity: EWMA half-life of the volatility (days):")
    for halflife in (5.0, 10.0, 20.0, 30.0, 60.0):
        other = fit_state_liquidity(vol_halflife_days=halflife)
        print(f"  {halflife:4.0f}: a = {other.thin_vol:.3f} +/- {other.thin_vol_se:.3f}, "
              f"b = {other.thin_drawdown:.3f} +/- {other.thin_drawdown_se:.3f}, "
              f"vol_ref = {other.vol_ref:.4f}, R^2 = {other.r_squared:.4f}")
    if "--check" in argv:
        stored = (liq.FITTED_THIN_VOL, liq.FITTED_THIN_DRAWDOWN, liq.FITTED_VOL_REF,
                  liq.FITTED_R_SQUARED)
        fresh = (fit.thin_vol, fit.thin_drawdown, fit.vol_ref, fit.r_squared)
        if not all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                   for a, b in zip(stored, fresh, strict=True)):
            print("stored constants differ from the refit", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""What the dashboard computes, without Dash: the scenario it shows, the what-if, the curves.

Everything here is a plain function of a scenario (and a few numbers), so the tests check it
without a browser and the page only lays the results out. The what-if is the library's own
position analysis (:func:`delever.sim.position.analyze_position`, what ``delever position``
and ``delever run`` print) at moved prices: no second copy of the protocol math.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydantic import ValidationError

from delever._typing import FloatArray1D
from delever.book.book import BorrowerBook
from delever.errors import InvalidArgument
from delever.market.almgren_chriss import AlmgrenChrissImpact
from delever.market.impact import SquareRootImpact
from delever.protocol import Prices
from delever.scenario import Scenario, load_scenario
from delever.scenario.build import build_scenario
from delever.scenario.loader import (
    DEFAULT_SCENARIO,
    builtin_scenario_text,
    builtin_scenarios,
    parse_scenario_text,
)
from delever.scenario.market import book_risk
from delever.sim.position import PositionReport, analyze_position

# the price slider's range, as multiples of the mark: down to a 70% fall, up to +50%
SLIDER_LOW_FRAC = 0.3
SLIDER_HIGH_FRAC = 1.5
# exit liquidity: sale sizes from 1,000 ETH to twice the ETH held, on a log grid
EXIT_GRID_POINTS = 40
EXIT_MIN_ETH = 1_000.0


@dataclass(frozen=True)
class ScenarioInput:
    """The scenario the page shows: a built-in name or a file path (``name``), or TOML text
    (uploaded, edited or read from the chain).

    ``origin`` names it in error messages (the uploaded file's name, as ``delever validate
    NAME`` names it).
    """

    name: str = DEFAULT_SCENARIO
    toml: str | None = None
    origin: str = ""

    def to_store(self) -> dict[str, Any]:
        """The JSON the page keeps (a ``dcc.Store``)."""
        return {"name": self.name, "toml": self.toml, "origin": self.origin}

    @classmethod
    def from_store(cls, data: dict[str, Any] | None) -> ScenarioInput:
        """Back from :meth:`to_store` (None: the default scenario)."""
        if not data:
            return cls()
        return cls(str(data.get("name") or DEFAULT_SCENARIO), data.get("toml"),
                   str(data.get("origin") or ""))

    def text(self) -> str:
        """The scenario's TOML text (a built-in's shipped file, or the file ``name``)."""
        if self.toml is not None:
            return self.toml
        if self.name in builtin_scenarios():
            return builtin_scenario_text(self.name)
        return Path(self.name).read_text("utf-8")


@functools.lru_cache(maxsize=16)
def _load_text(text: str, origin: str) -> Scenario:
    return build_scenario(parse_scenario_text(text, origin))


def load_input(source: ScenarioInput) -> Scenario:
    """The scenario of ``source`` (built once per text; a scenario is immutable)."""
    if source.toml is None:
        return load_scenario(source.name)
    return _load_text(source.toml, source.origin or "<uploaded>")


def scenario_error_line(exc: Exception) -> str:
    """The one line ``delever validate`` prints for a bad scenario (after ``error: ``)."""
    if isinstance(exc, ValidationError):  # as cli._common.user_errors joins them
        from delever.cli._common import format_validation_error

        return "; ".join(format_validation_error(exc))
    return str(exc)


def check_upload(text: str, origin: str) -> ScenarioInput:
    """An uploaded file as the page's scenario; InvalidArgument (one line) when it is bad."""
    source = ScenarioInput(name=Path(origin).stem or "uploaded", toml=text, origin=origin)
    load_input(source)
    return source


def edited_input(source: ScenarioInput, values: dict[str, float | None]) -> ScenarioInput:
    """``source`` with the form's main inputs replaced (each marked as the user's input).

    ``values`` keys: ``mark_price_usd``, ``sigma_daily``, ``adv_eth``, ``impact_y``,
    ``book_collateral_eth`` (None: unchanged). Raises InvalidArgument on a bad value.
    """
    doc: dict[str, Any] = tomllib.loads(source.text())
    where = {"mark_price_usd": ("mark", "price_usd"), "sigma_daily": ("market", "sigma_daily"),
             "adv_eth": ("market", "adv_eth"), "impact_y": ("market", "impact_y"),
             "book_collateral_eth": ("book", "total_collateral_eth")}
    for key, value in values.items():
        if value is None:
            continue
        section, field = where[key]
        if not (isinstance(value, int | float) and math.isfinite(value)):
            raise InvalidArgument(f"{section}.{field}={value!r} must be a finite number.")
        doc.setdefault(section, {})[field] = {
            "value": float(value), "source": "edited in delever dashboard", "estimate": True}
    edited = ScenarioInput(name=source.name, toml=tomli_w.dumps(doc),
                           origin=f"{source.origin or source.name} (edited)")
    load_input(edited)
    return edited


def moved_prices(scenario: Scenario, price_usd: float) -> Prices:
    """The scenario's prices with every ETH-correlated asset moved by ``price_usd / mark``
    (ETH derivatives keep their rate to ETH; stablecoins stay where they are)."""
    if not (math.isfinite(price_usd) and price_usd > 0):
        raise InvalidArgument(f"price_usd={price_usd!r} must be a finite price above 0.")
    base = scenario.prices.usd
    ratio = price_usd / scenario.mark_price_usd
    moved = {symbol: (value * ratio if symbol in scenario.reserves
                      and scenario.reserves[symbol].eth_correlated else value)
             for symbol, value in base.items()}
    moved["WETH"] = price_usd
    return Prices(moved)


def whatif_report(scenario: Scenario, price_usd: float) -> PositionReport:
    """The position at ``price_usd``: the same analysis as ``delever run``'s position (and
    ``delever position`` per account), at moved prices; P&L marked at ``price_usd``."""
    return analyze_position(scenario.accounts, moved_prices(scenario, price_usd),
                            scenario.pnl(price_usd), reserves=scenario.reserves,
                            protocol=scenario.protocol, emode_category=scenario.emode_category)


def shocked_price_usd(price_usd: float, shock_pct: float | None) -> float:
    """``price_usd`` after an immediate fall of ``shock_pct`` percent (None or 0: none)."""
    shock = 0.0 if shock_pct is None else float(shock_pct)
    if not (math.isfinite(shock) and 0.0 <= shock < 100.0):
        raise InvalidArgument(f"shock_pct={shock_pct!r} must be in [0, 100).")
    return price_usd * (1.0 - shock / 100.0)


def slider_range_usd(scenario: Scenario) -> tuple[float, float]:
    """The price slider's ends, whole dollars."""
    mark = scenario.mark_price_usd
    return float(math.floor(mark * SLIDER_LOW_FRAC)), float(math.ceil(mark * SLIDER_HIGH_FRAC))


def exit_liquidity_curves(scenario: Scenario) -> tuple[FloatArray1D, dict[str, FloatArray1D]]:
    """Liquidity discount (percent of the mark) of one sale of Q ETH from a fresh market, per
    impact model: the square-root law at the scenario's Y and its range, and the propagator.

    Returns the sale sizes (ETH) and the discount per model label.
    """
    params = scenario.market_parameters()
    held = max(scenario.pnl().position_eth, EXIT_MIN_ETH * 10)
    qty = np.geomspace(EXIT_MIN_ETH, 2.0 * held, EXIT_GRID_POINTS)
    mark = scenario.mark_price_usd
    low, high = params.impact_y_range
    models: dict[str, Any] = {
        f"square-root law, Y={y:g}": SquareRootImpact(params.sigma_daily, params.adv_eth, y)
        for y in sorted({low, params.impact_y, high})
    }
    from delever.cli.market_cmds import ac_defaults  # the same defaults as `delever impact`

    ac = ac_defaults(mark, params.sigma_daily, params.adv_eth, params.impact_y)
    models["Almgren-Chriss (linear), one day"] = AlmgrenChrissImpact(
        sigma=ac["sigma"], eta=ac["eta"], gamma=ac["gamma"], epsilon=ac["epsilon"],
        risk_aversion=ac["risk_aversion"])
    curves: dict[str, FloatArray1D] = {}
    for label, model in models.items():
        fills = model.execute(np.full_like(qty, mark), qty)
        filled = np.asarray(fills.filled_eth, dtype=np.float64)
        discount = np.asarray(fills.discount_usd_per_eth, dtype=np.float64) / mark * 100.0
        curves[label] = np.where(filled >= qty * (1 - 1e-12), discount, np.nan)
    return qty, curves


def borrower_book(scenario: Scenario) -> BorrowerBook | None:
    """The scenario's other borrowers at the mark (None without a ``[book]``)."""
    return scenario.borrower_book(scenario.mark_price_usd, book_risk(scenario))


def liquidation_ladder(book: BorrowerBook, low_usd: float, high_usd: float,
                       n_points: int = 200) -> tuple[FloatArray1D, FloatArray1D]:
    """Collateral (ETH) of the borrowers whose HF is below 1 at each price of a grid from
    ``high_usd`` down to ``low_usd``: what liquidators may seize as the price falls there."""
    prices = np.linspace(high_usd, low_usd, n_points)
    liq = book.liquidation_price_usd()
    order = np.argsort(-liq)
    sorted_liq = liq[order]
    cum = np.concatenate(([0.0], np.cumsum(book.collateral_eth[order])))
    # borrowers with liquidation price >= p: the first k of the descending order
    counts = np.searchsorted(-sorted_liq, -prices, side="right")
    return prices, cum[counts]


def liquidations_at_risk_eth(book: BorrowerBook, price_usd: float) -> float:
    """Collateral (ETH) of the borrowers with HF below 1 at ``price_usd``."""
    return float(book.collateral_eth[book.liquidation_price_usd() >= price_usd].sum())


__all__ = [
    "ScenarioInput",
    "borrower_book",
    "check_upload",
    "edited_input",
    "exit_liquidity_curves",
    "liquidation_ladder",
    "liquidations_at_risk_eth",
    "load_input",
    "moved_prices",
    "scenario_error_line",
    "shocked_price_usd",
    "slider_range_usd",
    "whatif_report",
]

"""The engine sections of ``delever run`` for a loop: counted in the asset and ETH.

The USD tables (millions of dollars, ETH held) read as zeros for a 10-ETH loop; these print
the same results in the loop's own units (:class:`delever.sim.api.EngineFrame`).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from delever.cli._common import console
from delever.cli._tables import print_table
from delever.report.format import ETH_USD, ReportUnits
from delever.scenario.build import Scenario
from delever.scenario.runner import frame_payload, relabel_keys
from delever.sim.advise import Advice
from delever.sim.api import StreamedSimulation
from delever.sim.plan import PlanResult


class LoopView:
    """How a command shows an engine result: a loop's frame (its asset and ETH), or none."""

    def __init__(self, scenario: Scenario) -> None:
        self.frame = frame_payload(scenario.for_engines()) if scenario.is_loop else None

    @property
    def units(self) -> ReportUnits:
        """The report's units."""
        return ETH_USD if self.frame is None else ReportUnits(self.frame["asset"], "ETH")

    def payload(self, section: dict[str, Any]) -> dict[str, Any]:
        """``section`` with a loop's keys in its units and the frame said once."""
        if self.frame is None:
            return section
        out: dict[str, Any] = relabel_keys(section)
        out["engine_frame"] = self.frame
        return out


def _eth(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:+,.4f}"


def print_loop_frame(frame: dict[str, Any]) -> None:
    """One line saying how the loop's engine sections count."""
    paths = frame["paths"]
    console.print(
        f"The engines count this loop in ETH: {frame['asset']} at "
        f"{frame['start_price_eth_per_unit']:.6g} ETH per unit (cost basis "
        f"{frame['cost_basis_eth_per_unit']:.6g}); oracle = {paths['oracle']} (LT "
        f"{frame['liquidation_threshold']:g}, bonus {frame['liquidation_bonus']:g}); staking "
        f"yield {paths['staking_yield']:.2%}, slashing {paths['slash_intensity_per_year']:g}/yr "
        f"x {paths['slash_size']:.1%}; stETH/ETH discount OU (estimates).",
        markup=False, highlight=False)


def print_loop_simulation(name: str, asset: str, n_paths: int, n_steps: int,
                          step_hours: float, result: StreamedSimulation) -> None:
    """The strategies' means in ETH."""
    table = Table(title=f"{name}: {n_paths:,} exchange-rate paths x {n_steps} steps of "
                        f"{step_hours:g} h (means, ETH)", title_justify="left")
    for col in ("strategy", "total P&L", "P&L p05", "P(liq)", "discount", f"{asset} left",
                "interest"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for strategy_name, s in result.to_dict().items():
        table.add_row(strategy_name, _eth(s["total_pnl_usd"]), _eth(s["total_pnl_usd_p05"]),
                      f"{s['p_liquidation']:.2%}", _eth(s["liquidity_discount_usd"]),
                      f"{s['eth_left']:,.3f}", _eth(s["interest_usd"]))
    print_table(table)


def print_loop_plan(name: str, plan: PlanResult) -> None:
    """The plan and the usual schedules, objective in ETH."""
    table = Table(title=f"{name}: plan over {plan.n_steps * plan.step_hours / 24:g} days "
                        f"({plan.plan.describe()}); objective = mean loss + lambda x CVaR, "
                        "ETH", title_justify="left")
    for col in ("schedule", "objective", "mean loss", "P(liq)", "sold"):
        table.add_column(col, justify="left" if col == "schedule" else "right")
    for label, m in (("plan", plan.plan_metrics), *((b.label, b) for b in plan.baselines)):
        table.add_row(label, _eth(m.objective_usd.value), _eth(m.mean_loss_usd.value),
                      f"{m.p_liquidation.value:.2%}", f"{m.mean_sold_frac:.0%}")
    print_table(table)
    near = "" if plan.near_optimal is None else " " + plan.near_optimal.text("ETH")
    console.print(plan.binding_text("ETH") + near, markup=False, highlight=False)


def print_loop_advice(name: str, asset: str, advice: Advice) -> None:
    """Margin buffer and the largest position, in the asset and ETH."""
    mb = advice.margin_buffer
    table = Table(title=f"{name}: margin buffer (HF that survives the {mb.quantile:.0%} "
                        "worst move of the exchange rate)", title_justify="left")
    for col in ("paths", "window", "HF need", "HF now", f"add {asset}", "or repay ETH"):
        table.add_column(col, justify="left" if col == "paths" else "right")
    for row in mb.rows:
        total = row.accounts[-1]
        table.add_row(row.source, f"{row.window_days:g} d", f"{row.required_hf.value:.4f}",
                      f"{total.current_hf:.4f}", f"{total.add_collateral_eth:,.4f}",
                      f"{total.repay_debt_usd:,.4f}")
    print_table(table)
    mp = advice.max_position
    limit = min(mp.limits, key=lambda lim: lim.at_limit.eth)
    console.print(f"Largest position unwound within {mp.horizon_days:g} days at a cost <= "
                  f"{mp.max_cost_frac:.1%} with P(liquidation) <= {mp.alpha:.0%}: "
                  f"{limit.at_limit.eth:,.2f} {asset} (now {mp.current_eth:,.2f}).",
                  markup=False, highlight=False)


__all__ = ["LoopView", "print_loop_advice", "print_loop_frame", "print_loop_plan",
           "print_loop_simulation"]

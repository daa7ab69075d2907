"""What to do, in a few sentences: the plan and the advice read together.

:func:`recommend` turns a :class:`~delever.sim.plan.PlanResult` and an
:class:`~delever.sim.advise.Advice` into four recommendations, each a sentence and the
numbers behind it: how fast to sell, how much margin to keep, how large a position the
market's depth carries, and what to do after the unwind (hold, or sell into rebounds). Every
figure is a model estimate on the scenario's inputs; the sentences say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from delever.sim.advise import Advice, AfterRow
from delever.sim.plan import PlanResult


@dataclass(frozen=True)
class Recommendation:
    """One recommendation: a short topic, a sentence, and the figures behind it."""

    topic: str
    text: str
    figures: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (keys ``topic``, ``text``, ``figures``)."""
        return {"topic": self.topic, "text": self.text, "figures": dict(self.figures)}


def _usd_m(usd: float) -> str:
    return f"{'-' if usd < 0 else ''}${abs(usd) / 1e6:,.1f}M"


def _usd(usd: float) -> str:
    """Millions from $1M up, whole dollars below (a small account's repayment is not 0.0M)."""
    return _usd_m(usd) if abs(usd) >= 1e6 else f"{'-' if usd < 0 else ''}${abs(usd):,.0f}"


@dataclass(frozen=True)
class Units:
    """What the texts count in: the collateral (``asset``) and the values (``numeraire``);
    a loop's are its asset and ETH (:class:`delever.sim.api.EngineFrame`)."""

    asset: str = "ETH"
    numeraire: str = "USD"

    def money(self, value: float, *, millions: bool = False) -> str:
        """USD as $ (millions where asked, or from $1M up); another numeraire with its name."""
        if self.numeraire == "USD":
            return _usd_m(value) if millions else _usd(value)
        return f"{value:,.4g} {self.numeraire}"


USD_UNITS = Units()


def _sell_speed(plan: PlanResult, u: Units = USD_UNITS) -> Recommendation:
    m = plan.plan_metrics
    daily = plan.daily_sold_eth()
    sold_eth = float(daily.sum())
    best_base = min(plan.baselines, key=lambda b: b.objective_usd.value, default=None)
    versus = ""
    if best_base is not None and best_base.label in plan.plan_gain_usd:
        g = plan.plan_gain_usd[best_base.label]
        span = (f"95% interval {u.money(g.low, millions=True)} to "
                f"{u.money(g.high, millions=True)}, paired on the same paths")
        if g.low > 0:
            versus = (f" It beats the best usual schedule ({best_base.label}) by "
                      f"{u.money(g.value, millions=True)} of objective ({span}).")
        else:
            versus = (f" Its edge over the best usual schedule ({best_base.label}), "
                      f"{u.money(g.value, millions=True)} of objective, is within Monte Carlo "
                      f"error ({span}).")
    caveat = (" The ladder reacts to the HF hour by hour: it relies on selling into a falling "
              "market at the modelled depth, and on moves without the gaps that GBM paths lack."
              if plan.plan.family == "hf-ladder" else "")
    near = plan.near_optimal
    robust = "" if near is None else " " + near.text(u.numeraire)
    text = (f"Sell by the plan: {plan.plan.describe()}.{robust} Over "
            f"{plan.n_steps * plan.step_hours / 24:g} days it sells {_qty(sold_eth)} {u.asset} on "
            f"average ({sold_eth / plan.initial_eth:.0%} of the position), most on day "
            f"{int(daily.argmax()) + 1}; P(liquidation) {m.p_liquidation.value:.2%} "
            f"({plan.fresh_p_liquidation.value:.2%} on fresh paths)." + versus + " "
            + plan.binding_text(u.numeraire) + caveat)
    return Recommendation("how fast to sell", text, {
        "plan": plan.plan.describe(), "family": plan.plan.family,
        "params": list(plan.plan.params), "mean_sold_eth": sold_eth,
        "daily_sold_eth": daily.tolist(), "p_liquidation": m.p_liquidation.value,
        "objective_usd": m.objective_usd.value, "binding": plan.binding,
        "best_baseline": best_base.label if best_base is not None else None,
        "near_optimal": None if near is None else near.to_dict(),
    })


def _qty(amount: float) -> str:
    """Whole units from 100 up, four significant digits below (a 10-ETH loop is not 0)."""
    return f"{amount:,.0f}" if abs(amount) >= 100 else f"{amount:,.4g}"


def _buffer(advice: Advice, plan: PlanResult, u: Units = USD_UNITS) -> Recommendation:
    mb = advice.margin_buffer
    hf = mb.recommended_hf
    worst = max(mb.rows, key=lambda r: r.required_hf.value)
    total = worst.accounts[-1]
    staged = advice.staged
    sells = (f"sell {_qty(staged.needed_eth)} {u.asset} in {len(staged.batches)} batch(es) of "
             f"at most {_qty(staged.max_batch_eth)} {u.asset}, {staged.interval_hours:g} h apart "
             "(each "
             f"<= {staged.max_batch_discount:.1%} discount), repaying debt")
    if staged.unreachable:
        sells = (f"selling cannot restore {', '.join(staged.unreachable)} (its collateral at "
                 "the fill does not cover its debt)" + (
                     f"; for the other accounts, {sells}" if staged.batches else ""))
    insolvent = [a for a in worst.accounts[:-1] if a.liquidatable_now]  # [-1]: the total
    if insolvent:
        # An account below HF 1 is a real case: Aave lets anyone liquidate it now.
        action = ("already below HF 1: liquidatable now ("
                  + ", ".join(f"{a.name} at HF {a.current_hf:.3f}" for a in insolvent)
                  + f"); add {total.add_collateral_eth:,.2f} {u.asset} of collateral or repay "
                  f"{u.money(total.repay_debt_usd)} of debt to restore HF {hf:.3f}, or {sells}.")
    elif total.current_hf >= hf:
        action = (f"the position's HF {total.current_hf:.3f} already meets it; keep it there "
                  "as the price moves.")
    else:
        action = (f"the position's HF is {total.current_hf:.3f}: add "
                  f"{_qty(total.add_collateral_eth)} {u.asset} of collateral, or repay "
                  f"{u.money(total.repay_debt_usd)} of debt, or {sells}.")
    if mb.sell_eth_per_day > 0:
        how = (f"while selling {_qty(mb.sell_eth_per_day)} {u.asset} a day and repaying debt with "
               f"it, own impact and the cascade included")
    else:
        how = f"a fall to {worst.ratio.value:.1%} of the price, the cascade included"
    text = (f"Keep a margin buffer of HF >= {hf:.3f}: the HF that survives the "
            f"{1 - mb.quantile:.0%} {worst.window_days:g}-day move on {worst.source} paths "
            f"({how}); " + action)
    if plan.objective.alpha > mb.quantile:
        text += (f" This is stricter than the plan above, which accepts P(liquidation) up to "
                 f"{plan.objective.alpha:.0%} over its horizon; `delever plan --alpha "
                 f"{mb.quantile:g}` plans under the buffer's standard.")
    return Recommendation("margin buffer", text, {
        "recommended_hf": hf, "current_hf": total.current_hf, "window_days": worst.window_days,
        "source": worst.source, "worst_price_ratio": worst.ratio.value,
        "add_collateral_eth": total.add_collateral_eth, "repay_debt_usd": total.repay_debt_usd,
        "staged_needed_eth": staged.needed_eth, "staged_batches": len(staged.batches),
        "liquidatable_now": [a.name for a in insolvent],
        "unreachable_by_selling": list(staged.unreachable),
    })


def _size(advice: Advice, u: Units = USD_UNITS) -> Recommendation:
    mp = advice.max_position
    limit = min(mp.limits, key=lambda lim: lim.at_limit.eth)
    eth = limit.at_limit.eth
    ratio = eth / mp.current_eth if mp.current_eth > 0 else math.inf
    verdict = ("larger than the market and the reserves let it unwind"
               if ratio < 1 else "within what the market and the reserves can absorb")
    text = (f"The largest position unwound within {mp.horizon_days:g} days "
            f"({limit.strategy}) at a cost <= {mp.max_cost_frac:.1%} with P(liquidation) <= "
            f"{mp.alpha:.0%} is {_qty(eth)} {u.asset} ({limit.limiting} binds); the position "
            f"holds {_qty(mp.current_eth)} {u.asset} ({ratio:.2f}x), {verdict}.")
    return Recommendation("position size", text, {
        "max_eth": eth, "current_eth": mp.current_eth, "ratio": ratio,
        "limiting": limit.limiting, "strategy": limit.strategy,
    })


def _after(advice: Advice, u: Units = USD_UNITS) -> Recommendation:
    au = advice.after_unwind
    verdicts: dict[str, str] = {}
    by_mean: dict[str, str] = {}
    medians: dict[str, dict[str, float]] = {}
    means: dict[str, dict[str, float]] = {}
    parts: list[str] = []
    for source in sorted({r.source for r in au.rows}):
        rows: dict[str, AfterRow] = {r.strategy: r for r in au.rows if r.source == source}
        med = {k: float(r.final_pnl.quantiles[2] or math.nan) for k, r in rows.items()}
        avg = {k: float(r.final_pnl.mean if r.final_pnl.mean is not None else math.nan)
               for k, r in rows.items()}
        medians[source], means[source] = med, avg
        verdicts[source] = max(med, key=lambda k: med[k])
        by_mean[source] = max(avg, key=lambda k: avg[k])
        parts.append(f"{source}: " + ", ".join(
            f"{k} median {u.money(med[k], millions=True)}, mean "
            f"{u.money(avg[k], millions=True)}, P(liq) "
            f"{r.p_liquidation:.0%}" for k, r in rows.items()))
    choices = set(verdicts.values())
    if len(choices) == 1:
        choice = choices.pop()
        both = "on both bootstrap and model paths" if len(verdicts) > 1 else (
            f"on the {next(iter(verdicts))} paths")
        head = (f"{'Hold' if choice == 'hold' else 'Sell into rebounds'}: "
                f"its median final P&L over {au.horizon_days:g} days is the higher {both}")
    else:
        choice = "depends on the paths"
        head = ("The paths disagree: "
                + ", ".join(f"{s} paths favour {v}" for s, v in verdicts.items()))
    # The median is the typical path, the mean counts the tails: say so when they disagree.
    split = [s for s in verdicts if by_mean[s] != verdicts[s]]
    if split:
        head += ("; the means favour " + ", ".join(f"{by_mean[s]} on {s} paths"
                                                    for s in split)
                 + " (the median is the typical path, the mean weighs the tails)")
    else:
        head += "; the means agree"
    details = "; ".join(parts)
    return Recommendation("after the unwind", f"{head} ({details}).", {
        "choice": choice, "by_source": verdicts, "by_source_mean": by_mean,
        "median_final_pnl_usd": medians, "mean_final_pnl_usd": means,
    })


def recommend(plan: PlanResult, advice: Advice,
              units: tuple[str, str] | None = None) -> list[Recommendation]:
    """The four recommendations: sell speed, margin buffer, position size, after the unwind.

    ``units``: ``(asset, numeraire)`` the texts count in (a loop's: its asset and ETH);
    default ETH and USD."""
    u = Units() if units is None else Units(*units)
    return [_sell_speed(plan, u), _buffer(advice, plan, u), _size(advice, u), _after(advice, u)]


__all__ = ["Recommendation", "Units", "recommend"]

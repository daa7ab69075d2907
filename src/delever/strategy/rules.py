"""The built-in unwind strategies: dump, TWAP, Almgren-Chriss, HF ladder, stop-loss, rebounds.

Each compiles to a :class:`~delever.strategy.base.RuleSpec` that the simulator's numba kernel
interprets. Illustrative defaults (not fitted to anything) are labelled as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from delever.errors import InvalidArgument, check_non_negative, check_positive, unknown_name
from delever.kernels.unwind import (
    RULE_HF_LADDER,
    RULE_REBOUND,
    RULE_SCHEDULE,
    RULE_STOP_LOSS,
)
from delever.market.almgren_chriss import almgren_chriss_schedule
from delever.market.impact import SquareRootImpact
from delever.strategy.base import Hold, RuleSpec, Strategy, StrategyContext


def _whole(field: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise InvalidArgument(f"{field}={value!r} must be a whole number >= 1.")
    return int(value)


@dataclass(frozen=True, repr=False)
class SellAll(Strategy):
    """Sell all the ETH at once (as fast as the withdrawal rule lets it)."""

    floor_hf: float = 1.0

    @property
    def name(self) -> str:
        """``sell-all``."""
        return "sell-all"

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """Schedule: everything at step 1."""
        frac = np.zeros(context.n_steps)
        frac[0] = 1.0
        return RuleSpec(RULE_SCHEDULE, schedule_frac=frac, floor_hf=self.floor_hf)


@dataclass(frozen=True, repr=False, eq=False)
class Schedule(Strategy):
    """Sell a given amount of ETH at each step (e.g. a reported sale, for a replay).

    ``sold_eth[k]`` is sold at step ``k + 1``; steps past the end sell nothing.
    ``account_split``: fixed share of every sale per account (default: in proportion to the
    collateral each account holds).
    """

    sold_eth: tuple[float, ...]
    label: str = "schedule"
    floor_hf: float = 1.0
    account_split: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.sold_eth, dtype=np.float64)
        if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
            raise InvalidArgument("sold_eth must be a non-empty list of finite ETH amounts.")
        if np.any(values < 0):
            raise InvalidArgument("sold_eth must not hold negative amounts; sells are >= 0.")

    @property
    def name(self) -> str:
        """The label (default ``schedule``)."""
        return self.label

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """Schedule: ``sold_eth / initial ETH`` per step."""
        frac = np.zeros(context.n_steps)
        values = np.asarray(self.sold_eth, dtype=np.float64)[: context.n_steps]
        frac[: values.size] = values / context.initial_eth
        return RuleSpec(RULE_SCHEDULE, schedule_frac=frac, floor_hf=self.floor_hf,
                        account_split=self.account_split)


@dataclass(frozen=True, repr=False)
class TWAP(Strategy):
    """Sell the initial ETH in ``n_batches`` equal batches, one every ``every_steps`` steps.

    Default 120 hourly batches (5 days), an illustrative choice.
    """

    n_batches: int = 120
    every_steps: int = 1
    floor_hf: float = 1.0

    def __post_init__(self) -> None:
        _whole("n_batches", self.n_batches)
        _whole("every_steps", self.every_steps)

    @property
    def name(self) -> str:
        """``twap``."""
        return "twap"

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """Schedule: ``1 / n_batches`` at steps ``1, 1 + every, ...``."""
        frac = np.zeros(context.n_steps)
        idx = np.arange(self.n_batches) * self.every_steps
        idx = idx[idx < context.n_steps]
        frac[idx] = 1.0 / self.n_batches
        return RuleSpec(RULE_SCHEDULE, schedule_frac=frac, floor_hf=self.floor_hf)


@dataclass(frozen=True, repr=False)
class AlmgrenChriss(Strategy):
    """The Almgren-Chriss optimal schedule (:func:`delever.market.almgren_chriss_schedule`).

    Parameters
    ----------
    n_steps : trades in the schedule (default 120: 5 days of hourly steps, illustrative).
    risk_aversion : lambda per USD (default 1e-8, illustrative: a moderately front-loaded
        schedule for the February 2026 position).
    eta, gamma : the model's linear impact (USD per ETH per ETH/day; USD per ETH per ETH).
        ``eta=None`` linearises the square-root market at the TWAP slice ``n = Q / N``: the
        slice's average discount ``2/3 Y sigma m sqrt(n / V)`` (USD per ETH) equals
        ``eta * n / tau``. ``gamma`` (default 0) does not change the optimal trajectory.
    """

    n_steps: int = 120
    risk_aversion: float = 1e-8
    eta: float | None = None
    gamma: float = 0.0
    floor_hf: float = 1.0

    def __post_init__(self) -> None:
        _whole("n_steps", self.n_steps)
        check_non_negative("risk_aversion", self.risk_aversion)
        if self.eta is not None:
            check_positive("eta", self.eta)
        check_non_negative("gamma", self.gamma)

    @property
    def name(self) -> str:
        """``almgren-chriss``."""
        return "almgren-chriss"

    def eta_for(self, context: StrategyContext) -> float:
        """``eta`` given, or the square-root market linearised at the TWAP slice."""
        if self.eta is not None:
            return self.eta
        tau = context.step_hours / 24.0
        slice_eth = context.initial_eth / self.n_steps
        if slice_eth <= 0:
            return 1.0
        market = SquareRootImpact(context.sigma_daily, context.adv_eth, context.impact_y)
        discount = context.mark_price_usd * float(market.average_discount_frac(slice_eth))
        return max(discount * tau / slice_eth, 1e-300)

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """Schedule: the AC trades as fractions of the initial ETH."""
        tau = context.step_hours / 24.0
        n = min(self.n_steps, context.n_steps)
        sched = almgren_chriss_schedule(
            max(context.initial_eth, 0.0), n, tau,
            sigma=context.sigma_daily * context.mark_price_usd,
            eta=self.eta_for(context), gamma=self.gamma, risk_aversion=self.risk_aversion,
        )
        frac = np.zeros(context.n_steps)
        if context.initial_eth > 0:
            frac[:n] = sched.trades_eth / context.initial_eth
        return RuleSpec(RULE_SCHEDULE, schedule_frac=frac, floor_hf=self.floor_hf)


@dataclass(frozen=True, repr=False)
class HFLadder(Strategy):
    """When an account's HF falls below ``trigger``, sell just enough to bring it to ``target``.

    Notes
    -----
    Selling ``x`` ETH at fill ``m (1 - delta)`` and repaying the proceeds turns
    ``HF = c p LT / d`` into ``(c - x) p LT / (d - x m (1 - delta))``; setting it to ``H``:
    ``x = (H d - c p LT) / (H m (1 - delta) - p LT)`` (``p`` the oracle, ``m`` the mid). The
    kernel finds ``delta`` (the square-root discount of the total sale) by a few fixed-point
    iterations. Defaults (trigger 1.3, target 1.5) are illustrative.
    """

    trigger: float = 1.3
    target: float = 1.5
    floor_hf: float = 1.0

    def __post_init__(self) -> None:
        check_positive("trigger", self.trigger)
        check_positive("target", self.target)
        if self.target < self.trigger:
            raise InvalidArgument(
                f"target={self.target!r} must be at least trigger={self.trigger!r}."
            )

    @property
    def name(self) -> str:
        """``hf-ladder``."""
        return "hf-ladder"

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """HF-ladder rule with (trigger, target)."""
        return RuleSpec(RULE_HF_LADDER, params=(self.trigger, self.target),
                        floor_hf=self.floor_hf)


@dataclass(frozen=True, repr=False)
class StopLoss(Strategy):
    """Sell everything from the first step the mid is at or below a level.

    ``level_usd`` or, when None, ``mark * (1 - drop_frac)`` (default 10% below the start,
    illustrative).
    """

    level_usd: float | None = None
    drop_frac: float = 0.10
    floor_hf: float = 1.0

    def __post_init__(self) -> None:
        if self.level_usd is not None:
            check_positive("level_usd", self.level_usd)
        if not (0.0 <= self.drop_frac < 1.0):
            raise InvalidArgument(f"drop_frac={self.drop_frac!r} must be in [0, 1).")

    @property
    def name(self) -> str:
        """``stop-loss``."""
        return "stop-loss"

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """Stop-loss rule with the level in USD."""
        level = self.level_usd
        if level is None:
            level = context.mark_price_usd * (1.0 - self.drop_frac)
        return RuleSpec(RULE_STOP_LOSS, params=(level,), floor_hf=self.floor_hf)


@dataclass(frozen=True, repr=False)
class SellIntoRebounds(Strategy):
    """Sell a batch only after the mid has risen ``rebound_frac`` from its running low.

    After each batch the reference resets to the mid, so the next batch needs a further rise
    of ``rebound_frac`` (or a new low and a rebound from it). Defaults (3% rebounds, batches of
    10% of the initial ETH) are illustrative.
    """

    rebound_frac: float = 0.03
    batch_frac: float = 0.10
    floor_hf: float = 1.0

    def __post_init__(self) -> None:
        check_positive("rebound_frac", self.rebound_frac)
        if not (0.0 < self.batch_frac <= 1.0):
            raise InvalidArgument(f"batch_frac={self.batch_frac!r} must be in (0, 1].")

    @property
    def name(self) -> str:
        """``rebound``."""
        return "rebound"

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """Rebound rule with (rebound fraction, batch fraction)."""
        return RuleSpec(RULE_REBOUND, params=(self.rebound_frac, self.batch_frac),
                        floor_hf=self.floor_hf)


STRATEGIES: Mapping[str, Callable[[], Strategy]] = MappingProxyType({
    "hold": Hold,
    "sell-all": SellAll,
    "twap": TWAP,
    "almgren-chriss": AlmgrenChriss,
    "hf-ladder": HFLadder,
    "stop-loss": StopLoss,
    "rebound": SellIntoRebounds,
})

DEFAULT_STRATEGIES: tuple[str, ...] = tuple(STRATEGIES)


def strategy_by_name(name: str) -> Strategy:
    """A built-in strategy with its default parameters; close matches on a typo."""
    key = name.strip().lower()
    if key not in STRATEGIES:
        raise unknown_name("strategy", name, STRATEGIES)
    return STRATEGIES[key]()


__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "TWAP",
    "AlmgrenChriss",
    "HFLadder",
    "Schedule",
    "SellAll",
    "SellIntoRebounds",
    "StopLoss",
    "strategy_by_name",
]

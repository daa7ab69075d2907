"""The strategy interface: what an unwind rule sees and how it reaches the numba loop.

A strategy decides, each step, how much ETH the owner sells; the proceeds repay debt. Two
ways to run one:

- **Rule spec (fast).** :meth:`Strategy.rule_spec` returns a :class:`RuleSpec`: a rule code
  of :mod:`delever.kernels.unwind` with its numbers (and, for schedules, the fraction of the
  initial ETH to sell at each step). The simulator's numba kernel interprets it for every
  path in parallel. All built-in strategies work this way.
- **Python step loop (slow, any rule).** A subclass that returns None from ``rule_spec``
  implements :meth:`Strategy.decide` instead: it gets an :class:`Observation` (numpy arrays
  over paths) at every step and returns the ETH to sell on each path. The simulator then
  calls the same kernel one step at a time (``RULE_CUSTOM``), so the market, the protocol and
  the books are the same; only the decision is Python. Expect it to be slower by the Python
  overhead per step (about a millisecond per step, whatever the number of paths).

Either way the kernel caps each sale by the collateral held, the withdrawal rule (HF after
the withdrawal >= ``floor_hf``, at least 1, unless the simulator repays with collateral) and
the WETH reserve's liquidity; the sale is split across accounts in proportion to their
collateral (the HF ladder sizes each account's sale itself).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from delever._typing import FloatArray1D
from delever.errors import InvalidArgument
from delever.kernels.unwind import N_PARAMS, RULE_CUSTOM, RULE_HOLD


@dataclass(frozen=True)
class StrategyContext:
    """What the simulator tells a strategy before a run.

    Attributes
    ----------
    n_steps : steps in the run. step_hours : hours per step.
    initial_eth : ETH collateral over all accounts at the start.
    initial_debt_usd : debt over all accounts at the start.
    mark_price_usd : the start price (USD per ETH).
    sigma_daily, adv_eth, impact_y : the square-root market (fraction, ETH/day, Y).
    """

    n_steps: int
    step_hours: float
    initial_eth: float
    initial_debt_usd: float
    mark_price_usd: float
    sigma_daily: float
    adv_eth: float
    impact_y: float


@dataclass(frozen=True, eq=False)
class RuleSpec:
    """A strategy in the kernel's terms.

    Attributes
    ----------
    rule : a ``RULE_*`` code of :mod:`delever.kernels.unwind`.
    params : up to 4 numbers, meaning set by the rule.
    schedule_frac : (n_steps,) fraction of the initial ETH to sell at each step (schedule rule;
        what a cap holds back is carried to later steps), or None.
    floor_hf : the lowest HF a withdrawal may leave (at least 1, Aave's own floor).
    account_split : fixed share of every sale taken from each account (sums to 1), or None:
        in proportion to the collateral each account holds.
    """

    rule: int
    params: tuple[float, ...] = ()
    schedule_frac: FloatArray1D | None = None
    floor_hf: float = 1.0
    account_split: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.params) > N_PARAMS:
            raise InvalidArgument(f"params has {len(self.params)} values; at most {N_PARAMS}.")
        if not (math.isfinite(self.floor_hf) and self.floor_hf >= 1.0):
            raise InvalidArgument(
                f"floor_hf={self.floor_hf!r} must be a finite number >= 1 (Aave refuses a "
                "withdrawal that leaves HF < 1)."
            )
        if self.schedule_frac is not None:
            arr = np.ascontiguousarray(self.schedule_frac, dtype=np.float64)
            if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise InvalidArgument("schedule_frac must be a 1-D array of fractions >= 0.")
            arr.setflags(write=False)
            object.__setattr__(self, "schedule_frac", arr)
        if self.account_split is not None:
            shares = np.asarray(self.account_split, dtype=np.float64)
            if (shares.ndim != 1 or shares.size == 0 or not np.all(np.isfinite(shares))
                    or np.any(shares < 0) or abs(float(shares.sum()) - 1.0) > 1e-9):
                raise InvalidArgument(f"account_split={self.account_split!r} must be shares "
                                      ">= 0, one per account, that sum to 1.")

    def params_array(self) -> FloatArray1D:
        """The parameters padded with zeros to the kernel's length."""
        out = np.zeros(N_PARAMS)
        out[: len(self.params)] = self.params
        return out

    def split_array(self, n_accounts: int) -> FloatArray1D:
        """The kernel's ``split``: the shares, or an empty array (pro rata by collateral)."""
        if self.account_split is None:
            return np.zeros(0)
        if len(self.account_split) != n_accounts:
            raise InvalidArgument(f"account_split has {len(self.account_split)} shares; give "
                                  f"one per account ({n_accounts}).")
        return np.array(self.account_split, dtype=np.float64)

    def schedule_cum(self, n_steps: int) -> FloatArray1D:
        """Cumulative fraction to have sold by the end of each step (length ``n_steps``)."""
        out = np.zeros(n_steps)
        if self.schedule_frac is not None:
            frac = self.schedule_frac[:n_steps]
            out[: frac.shape[0]] = np.cumsum(frac)
            out[frac.shape[0]:] = out[frac.shape[0] - 1] if frac.shape[0] else 0.0
        return out


@dataclass(frozen=True, eq=False)
class Observation:
    """What a Python strategy sees at step ``step`` (arrays over paths, before its sale).

    The prices are after the step's exogenous move and interest accrual, before the owner's
    sale; ``health_factor`` is the lowest over the accounts at ``oracle_usd`` of the previous
    record (the oracle updates inside the step).
    """

    step: int
    mid_usd: FloatArray1D
    oracle_usd: FloatArray1D
    health_factor: FloatArray1D
    held_eth: FloatArray1D
    debt_usd: FloatArray1D
    cash_usd: FloatArray1D
    sold_eth: FloatArray1D  # by the owner so far
    context: StrategyContext = field(repr=False)


class Strategy(ABC):
    """An unwind rule. Subclass it; see the module docstring for the two ways to run one."""

    floor_hf: float = 1.0

    @property
    @abstractmethod
    def name(self) -> str:
        """Short name used in tables and the CLI."""

    def rule_spec(self, context: StrategyContext) -> RuleSpec | None:
        """The kernel form of the rule, or None to be driven through :meth:`decide`."""
        return None

    def decide(self, obs: Observation) -> FloatArray1D:
        """ETH to sell on each path this step (>= 0); used when ``rule_spec`` is None."""
        raise NotImplementedError(
            f"strategy {self.name!r} gives no rule_spec, so it must implement decide()."
        )

    def spec_or_custom(self, context: StrategyContext) -> RuleSpec:
        """``rule_spec(context)``, or the custom-rule spec when there is none."""
        spec = self.rule_spec(context)
        if spec is None:
            return RuleSpec(RULE_CUSTOM, floor_hf=max(1.0, float(self.floor_hf)))
        return spec

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Hold(Strategy):
    """Sell nothing; ride the path (the protocol may still liquidate)."""

    @property
    def name(self) -> str:
        """``hold``."""
        return "hold"

    def rule_spec(self, context: StrategyContext) -> RuleSpec:
        """The hold rule."""
        return RuleSpec(RULE_HOLD)


__all__ = ["Hold", "Observation", "RuleSpec", "Strategy", "StrategyContext"]

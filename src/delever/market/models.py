"""Impact models the engines can walk, one parameter object each, and the registry.

Every model here gives :meth:`kernel_law` an :class:`~delever.kernels.records.ImpactLaw`,
the one law the unwind and cascade kernels walk (:mod:`delever.kernels.impact_law`), and
executes its own orders through the same primitives, so ``delever impact`` and the engines
price a sale identically:

- ``sqrt``: :class:`~delever.market.impact.SquareRootImpact`, ``I = Y sigma sqrt(Q / V)``
  (its ``execute`` keeps its closed form; tests check it against the kernel law).
- ``linear``: :class:`LinearImpact`, Kyle's lambda in relative terms,
  ``I = lambda Q / V`` (Kyle 1985, "Continuous auctions and insider trading",
  Econometrica 53(6); the permanent part of Almgren & Chriss 2000 with
  ``gamma = lambda m / V``). One sale from a fresh market fills at ``m (1 - I / 2)``.
- ``ow``: :class:`ResilientLinearImpact`, Obizhaeva & Wang (2013) in relative terms: the
  linear law with a transient part that decays as ``exp(-rho t)``. The kernel's memory is
  exactly OW's resilience (for exponent 1 the memory volume and its impact decay alike).
- ``propagator``: :class:`SquareRootPropagatorImpact`, the square-root law whose transient
  part decays. A propagator decays as a power law, ``G(t) = (1 + t / t0)^-beta`` (Bouchaud,
  Gefen, Potters & Wyart 2004); the kernels hold a single exponential, so the power law is
  APPROXIMATED by ``exp(-rho t)`` with ``rho`` chosen so that both have the same integral
  over the matching horizon ``h`` (default: the engine's step):
  ``(1 - exp(-rho h)) / rho = integral_0^h (1 + t / t0)^-beta dt``. Over one step the two
  remove the same impact on average; beyond it the exponential forgets faster than the
  power law's long tail.

Venue models (an L2 order book, a Uniswap v3 pool, the router over them, and the USD-unit
transient and Almgren-Chriss models of ``delever impact``) price a sale from the venue's own
state (levels, ticks, a schedule), which no ``ImpactLaw`` can hold: :func:`impact_model` and
:func:`kernel_law_of` say so by name.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.optimize import brentq

from delever._typing import ArrayLike
from delever.errors import (
    InvalidArgument,
    check_fraction,
    check_non_negative,
    check_positive,
    unknown_name,
)
from delever.kernels.impact_law import add_volume_py, decay_memory_py, fill_py, impact_fraction_py
from delever.kernels.records import ImpactLaw
from delever.market.impact import (
    Fills,
    ImpactModel,
    ScheduleFills,
    SquareRootImpact,
    as_orders,
    as_qty_array,
    check_step_days,
    half_life_to_rate,
)

SECONDS_PER_DAY = 86_400.0


@runtime_checkable
class LawModel(ImpactModel, Protocol):
    """An impact model the engines can walk: it gives its law as an ``ImpactLaw``."""

    def kernel_law(self, step_s: float | None = None) -> ImpactLaw:
        """The ``ImpactLaw`` for an engine stepping every ``step_s`` seconds."""
        ...


def execute_law(name: str, law: ImpactLaw, mid_price_usd: ArrayLike, qty_eth: ArrayLike
                ) -> Fills:
    """Independent sells from a fresh market along ``law`` (the engines' fill, one step).

    The new mid is the one right after the sale, before any decay:
    ``m (1 - I(Q, Q))``, or ``m (1 - permanent I(Q))`` where the transient part is gone at
    once (``decay_per_s = inf``).
    """
    mid, qty = as_orders(mid_price_usd, qty_eth)
    flat_mid, flat_qty = mid.reshape(-1), qty.reshape(-1)
    filled = np.empty_like(flat_qty)
    avg = np.empty_like(flat_qty)
    new_mid = np.empty_like(flat_qty)
    depth = law.adv_eth
    for i in range(flat_qty.shape[0]):
        done, proceeds = fill_py(law, 0.0, 0.0, depth, float(flat_mid[i]), float(flat_qty[i]))
        q_perm, q_mem = add_volume_py(law, 0.0, 0.0, done)
        filled[i] = done
        avg[i] = proceeds / done if done > 0.0 else flat_mid[i]
        new_mid[i] = flat_mid[i] * (1.0 - impact_fraction_py(law, q_perm, q_mem, depth))
    shape = qty.shape
    return Fills(model=name, mark_price_usd=mid, qty_eth=qty, filled_eth=filled.reshape(shape),
                 avg_price_usd=avg.reshape(shape), new_mid_usd=new_mid.reshape(shape))


def walk_law(name: str, law: ImpactLaw, mid_price_usd: float, slices_eth: ArrayLike,
             step_days: float) -> ScheduleFills:
    """Slices sold ``step_days`` apart on a flat exogenous price, as the engines walk them.

    Before each slice after the first the memory decays over one step
    (:func:`~delever.kernels.impact_law.decay_memory`); the slice then fills along the curve
    and adds its volume. Depth is fixed (no state thinning on a flat price).
    """
    mid = check_positive("mid_price_usd", mid_price_usd)
    slices = as_qty_array("slices_eth", slices_eth).reshape(-1)
    n = slices.shape[0]
    filled, avg = np.empty(n), np.empty(n)
    before, after = np.empty(n), np.empty(n)
    q_perm = q_mem = 0.0
    depth = law.adv_eth
    for k in range(n):
        if k > 0:
            q_mem = decay_memory_py(law, q_mem, step_days * SECONDS_PER_DAY)
        before[k] = mid * (1.0 - impact_fraction_py(law, q_perm, q_mem, depth))
        done, proceeds = fill_py(law, q_perm, q_mem, depth, mid, float(slices[k]))
        q_perm, q_mem = add_volume_py(law, q_perm, q_mem, done)
        filled[k] = done
        avg[k] = proceeds / done if done > 0.0 else before[k]
        after[k] = mid * (1.0 - impact_fraction_py(law, q_perm, q_mem, depth))
    return ScheduleFills(model=name, mark_price_usd=mid,
                         time_days=np.arange(n, dtype=np.float64) * step_days,
                         qty_eth=slices.copy(), filled_eth=filled, avg_price_usd=avg,
                         mid_before_usd=before, mid_after_usd=after)


class _LawImpact:
    """``execute`` and ``execute_schedule`` by the kernel law (shared by the models here)."""

    @property
    def name(self) -> str:
        raise NotImplementedError

    def kernel_law(self, step_s: float | None = None) -> ImpactLaw:
        raise NotImplementedError

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent sells from a fresh market (see :func:`execute_law`)."""
        return execute_law(self.name, self.kernel_law(), mid_price_usd, qty_eth)

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Slices ``step_days`` apart (default one day), as the engines walk them."""
        step = check_step_days(step_days, 1.0)
        law = self.kernel_law(step * SECONDS_PER_DAY)
        return walk_law(self.name, law, mid_price_usd, slices_eth, step)


@dataclass(frozen=True)
class LinearImpact(_LawImpact):
    """Linear (Kyle) impact in relative terms: ``I = impact_per_adv * Q / V``.

    Parameters
    ----------
    impact_per_adv : lambda, the impact of selling one day's volume V, a fraction of the
        price (0.1: selling V moves the mid 10 %).
    adv_eth : V, average daily volume, ETH.
    permanent_frac : share of the impact that stays (1.0 default: all of it, Kyle's lambda).
    transient_half_life_s : half-life of the rest, seconds (0: gone at once).

    A sale of Q from a fresh market fills at ``m (1 - I(Q) / 2)`` (it walks a book of
    constant depth); the marginal price reaches 0 at ``Q = V / lambda``, beyond which the
    rest is unfilled.
    """

    impact_per_adv: float
    adv_eth: float
    permanent_frac: float = 1.0
    transient_half_life_s: float = 0.0

    def __post_init__(self) -> None:
        check_positive("impact_per_adv", self.impact_per_adv,
                       "Give the impact of selling one day's volume as a fraction, e.g. 0.1.")
        check_positive("adv_eth", self.adv_eth, "Give the average daily volume in ETH.")
        check_fraction("permanent_frac", self.permanent_frac, low_open=False)
        check_non_negative("transient_half_life_s", self.transient_half_life_s,
                           "Give seconds; 0 removes the transient part at once.")

    @property
    def name(self) -> str:
        """Model name."""
        return "linear"

    def kernel_law(self, step_s: float | None = None) -> ImpactLaw:
        """``exponent = 1``, ``scale = lambda``; exact at every step (``step_s`` unused)."""
        del step_s
        return ImpactLaw(scale=float(self.impact_per_adv), exponent=1.0,
                         adv_eth=float(self.adv_eth), permanent=float(self.permanent_frac),
                         decay_per_s=half_life_to_rate(self.transient_half_life_s),
                         thin_vol=0.0, thin_drawdown=0.0, vol_ref=math.inf,
                         vol_halflife_s=math.inf)


@dataclass(frozen=True)
class ResilientLinearImpact(LinearImpact):
    """Obizhaeva & Wang (2013) in relative terms: linear impact with exponential resilience.

    ``G(t) = lambda / V (p + (1 - p) exp(-rho t))`` per ETH sold, as a fraction of the price,
    ``rho = ln 2 / transient_half_life_s``; OW's instantaneous impact ``k = 1/q`` in USD per
    ETH is ``lambda m / V`` at the mid ``m`` (:func:`ow_from_usd` converts). Defaults:
    ``permanent_frac = 0`` (pure resilience), half-life 6 hours (illustrative).
    """

    permanent_frac: float = 0.0
    transient_half_life_s: float = 6 * 3600.0

    @property
    def name(self) -> str:
        """Model name."""
        return "ow"


def ow_from_usd(impact_usd_per_eth: float, price_usd: float, adv_eth: float,
                resilience_per_day: float, permanent_frac: float = 0.0
                ) -> ResilientLinearImpact:
    """The relative OW model of :class:`delever.market.transient.ObizhaevaWangImpact`'s
    parameters at the mid ``price_usd``: ``lambda = k V / m``, half-life ``ln 2 / rho``."""
    check_positive("price_usd", price_usd)
    rho = check_non_negative("resilience_per_day", resilience_per_day)
    half_life_s = math.log(2.0) / rho * SECONDS_PER_DAY if rho > 0.0 else math.inf
    return ResilientLinearImpact(
        impact_per_adv=impact_usd_per_eth * adv_eth / price_usd, adv_eth=adv_eth,
        permanent_frac=permanent_frac, transient_half_life_s=half_life_s)


def power_law_integral(horizon_s: float, decay_time_s: float, decay_exponent: float) -> float:
    """``integral_0^h (1 + t / t0)^-beta dt`` (seconds)."""
    h, t0, beta = horizon_s, decay_time_s, decay_exponent
    if abs(beta - 1.0) < 1e-12:
        return t0 * math.log1p(h / t0)
    out: float = t0 / (1.0 - beta) * ((1.0 + h / t0) ** (1.0 - beta) - 1.0)
    return out


def matched_decay_rate(horizon_s: float, decay_time_s: float, decay_exponent: float) -> float:
    """``rho`` with ``(1 - exp(-rho h)) / rho = integral_0^h (1 + t / t0)^-beta dt``.

    The exponential that removes as much impact over ``[0, h]`` as the power law; 0 for
    ``beta = 0`` (no decay).
    """
    h = check_positive("horizon_s", horizon_s)
    share = power_law_integral(h, decay_time_s, decay_exponent) / h  # in (0, 1]
    if share >= 1.0 - 1e-15:
        return 0.0

    def gap(x: float) -> float:  # x = rho h; (1 - e^-x) / x falls from 1 to 0
        return -math.expm1(-x) / x - share

    high = 1.0
    while gap(high) > 0.0:
        high *= 2.0
    root: float = brentq(gap, 1e-12, high, xtol=1e-14, rtol=1e-14)
    return root / h


@dataclass(frozen=True)
class SquareRootPropagatorImpact(_LawImpact):
    """The square-root law with a transient part that decays as a power law (approximated).

    Parameters
    ----------
    sigma_daily, adv_eth, impact_y : the square-root law ``I = Y sigma sqrt(Q / V)``.
    decay_time_s : t0, seconds: the time after which the power law sets in.
    decay_exponent : beta >= 0 (Bouchaud et al. 2004: about 0.2-0.4 on stocks).
    permanent_frac : share of the impact that never decays (0 default: a pure propagator).
    match_horizon_s : horizon over which the exponential matches the power law's integral
        (None: the engine's step given to :meth:`kernel_law`; one day when none is given).

    The kernels hold one exponential decay: :meth:`kernel_law` APPROXIMATES
    ``(1 + t / t0)^-beta`` by ``exp(-rho t)`` with equal integral over the matching horizon
    (:func:`matched_decay_rate`); see the module docstring.
    """

    sigma_daily: float
    adv_eth: float
    impact_y: float = 1.0
    decay_time_s: float = 3600.0
    decay_exponent: float = 0.3
    permanent_frac: float = 0.0
    match_horizon_s: float | None = None

    def __post_init__(self) -> None:
        SquareRootImpact(self.sigma_daily, self.adv_eth, self.impact_y, self.permanent_frac)
        check_positive("decay_time_s", self.decay_time_s, "Give t0 in seconds, e.g. 3600.")
        check_non_negative("decay_exponent", self.decay_exponent, "Give beta, e.g. 0.3.")
        if self.match_horizon_s is not None:
            check_positive("match_horizon_s", self.match_horizon_s)

    @property
    def name(self) -> str:
        """Model name."""
        return "propagator"

    def decay_rate_per_s(self, step_s: float | None = None) -> float:
        """``rho``, per second, matched over ``match_horizon_s`` (or ``step_s``, or a day)."""
        horizon = self.match_horizon_s or step_s or SECONDS_PER_DAY
        return matched_decay_rate(horizon, self.decay_time_s, self.decay_exponent)

    def kernel_law(self, step_s: float | None = None) -> ImpactLaw:
        """``exponent = 1/2``, ``scale = Y sigma``, ``decay_per_s = rho`` (an approximation)."""
        return ImpactLaw(scale=self.impact_y * self.sigma_daily, exponent=0.5,
                         adv_eth=float(self.adv_eth), permanent=float(self.permanent_frac),
                         decay_per_s=self.decay_rate_per_s(step_s), thin_vol=0.0,
                         thin_drawdown=0.0, vol_ref=math.inf, vol_halflife_s=math.inf)


IMPACT_MODELS: Mapping[str, type] = MappingProxyType({
    "sqrt": SquareRootImpact,
    "linear": LinearImpact,
    "ow": ResilientLinearImpact,
    "propagator": SquareRootPropagatorImpact,
})
"""The models the engines can walk, by name."""

VENUE_MODELS: Mapping[str, str] = MappingProxyType({
    "book": "an L2 order-book sweep (OrderBookImpact): it walks the book's own levels",
    "univ3": "a Uniswap v3 pool (UniswapV3Impact): it swaps through the pool's own ticks",
    "router": "a router over venues (Router): it splits each order across their books",
    "ac": "Almgren-Chriss in USD units (AlmgrenChrissImpact): its temporary impact depends "
          "on the schedule's rate; use 'linear' for its permanent part",
    "ow-usd": "Obizhaeva-Wang in USD per ETH (ObizhaevaWangImpact); ow_from_usd gives 'ow'",
    "propagator-linear": "the linear power-law propagator (PropagatorImpact)",
})
"""Models of ``delever impact`` that have no ``ImpactLaw``, and why."""


def venue_law_error(name: str) -> InvalidArgument:
    """The error for asking a venue model for its kernel law."""
    why = VENUE_MODELS.get(name, "a venue model")
    return InvalidArgument(
        f"impact model {name!r} is {why}; its price depends on the venue's own state, which "
        "no ImpactLaw holds, so the unwind and cascade engines cannot walk it. Choose one of "
        f"{', '.join(IMPACT_MODELS)} for the engines (venue models work in `delever impact`)."
    )


def _check_params(name: str, cls: type, params: Mapping[str, Any]) -> None:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in params:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=2, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise InvalidArgument(f"{key}= is not a parameter of impact model {name!r}; it "
                                  f"takes {', '.join(fields)}.{hint}")
    for key, spec in fields.items():
        no_default = (spec.default is dataclasses.MISSING
                      and spec.default_factory is dataclasses.MISSING)
        if no_default and key not in params:
            raise InvalidArgument(f"impact model {name!r} needs {key}= (it takes "
                                  f"{', '.join(fields)}).")


def impact_model(name: str, **params: Any) -> LawModel:
    """Build the impact model ``name`` (``sqrt | linear | ow | propagator``) from ``params``.

    Unknown names raise the project's ``unknown_name`` error (with close matches); venue
    models (``book``, ``univ3``, ...) raise :func:`venue_law_error`; a missing or unknown
    parameter, or a bad value, raises one error naming the field.
    """
    if name in VENUE_MODELS:
        raise venue_law_error(name)
    if name not in IMPACT_MODELS:
        raise unknown_name("model", name, IMPACT_MODELS)
    cls = IMPACT_MODELS[name]
    _check_params(name, cls, params)
    model: LawModel = cls(**params)
    return model


_VENUE_CLASSES: Mapping[str, str] = MappingProxyType({
    "OrderBookImpact": "book", "UniswapV3Impact": "univ3", "Router": "router",
    "AlmgrenChrissImpact": "ac", "ObizhaevaWangImpact": "ow-usd",
    "PropagatorImpact": "propagator-linear",
})


def kernel_law_of(model: object, step_s: float | None = None) -> ImpactLaw:
    """``model.kernel_law(step_s)``, or the venue error for a model that has none."""
    if isinstance(model, LawModel):
        return model.kernel_law(step_s)
    kind = type(model).__name__
    raise venue_law_error(_VENUE_CLASSES.get(kind, kind))


__all__ = [
    "IMPACT_MODELS",
    "VENUE_MODELS",
    "LawModel",
    "LinearImpact",
    "ResilientLinearImpact",
    "SquareRootPropagatorImpact",
    "execute_law",
    "impact_model",
    "kernel_law_of",
    "matched_decay_rate",
    "ow_from_usd",
    "power_law_integral",
    "venue_law_error",
    "walk_law",
]

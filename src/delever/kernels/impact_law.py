"""The impact law every engine walks, written once: an :class:`~delever.kernels.records.ImpactLaw`.

A market in the engines carries two sold volumes: ``q_perm`` (every ETH sold into it so far,
the permanent part) and ``q_mem`` (the same volume with a decaying memory, the transient part).
The impact on the mid is

    I = scale * (permanent * (q_perm / V)**exponent + (1 - permanent) * (q_mem / V)**exponent)

capped at 1 (price >= 0), and ``mid = exogenous * (1 - I)``. A sale of ``q`` walks that curve
(a metaorder: slicing a sale does not make it cheaper or dearer) and fetches
``exo * (filled - scale * (permanent * A(q_perm, filled) + (1 - permanent) * A(q_mem, filled)))``
with ``A(a, q) = ((a + q)**(e + 1) - a**(e + 1)) / ((e + 1) V**e)``. For the square-root law
(``e = 1/2``) one sale from a fresh market fills at ``m (1 - 2/3 I)`` (Bouchaud, Bonart, Donier
& Gould 2018, ch. 12); for the linear law at ``m (1 - I / 2)``.

Between steps the transient impact shrinks by ``exp(-decay_per_s * dt)``, so the memory volume
shrinks by that factor to the power ``1 / exponent``. ``decay_per_s = inf`` drops it at once;
``0`` keeps it (then the law is fully permanent in effect).

State-dependent liquidity: the depth ``V`` thins as realized volatility and the drawdown from
the running peak rise (:func:`depth_eth`); the engine keeps those two numbers per path.
"""

from __future__ import annotations

import math

from delever.kernels._numba import njit
from delever.kernels.records import ImpactLaw

_CAPACITY_BISECTIONS = 80  # halvings of the fill when a sale reaches I = 1 (2^-80 relative)


def depth_eth_py(law: ImpactLaw, realized_vol: float, drawdown: float) -> float:
    """Depth ``V`` thinned by the state: ``V exp(-a max(0, vol/vol_ref - 1)) (1 - dd)^b``."""
    depth = law.adv_eth
    if law.thin_vol > 0.0 and realized_vol > law.vol_ref:
        depth *= math.exp(-law.thin_vol * (realized_vol / law.vol_ref - 1.0))
    if law.thin_drawdown > 0.0 and drawdown > 0.0:
        keep = 1.0 - drawdown if drawdown < 1.0 else 0.0
        depth *= keep ** law.thin_drawdown
    return depth if depth > 1e-300 else 1e-300


depth_eth = njit(cache=True, inline="always")(depth_eth_py)


def _raw_py(law: ImpactLaw, q_perm: float, q_mem: float, depth: float) -> float:
    e = law.exponent
    out: float = law.scale * (law.permanent * (q_perm / depth) ** e
                              + (1.0 - law.permanent) * (q_mem / depth) ** e)
    return out


_raw = njit(cache=True, inline="always")(_raw_py)


def impact_fraction_py(law: ImpactLaw, q_perm: float, q_mem: float, depth: float) -> float:
    """``I`` for the sold volumes at depth ``depth`` (ETH), at most 1."""
    if law.scale <= 0.0:
        return 0.0
    out: float = _raw(law, q_perm, q_mem, depth)
    return out if out < 1.0 else 1.0


impact_fraction = njit(cache=True, inline="always")(impact_fraction_py)


def _area_py(a: float, q: float, e: float, depth: float) -> float:
    """``((a + q)^(e+1) - a^(e+1)) / ((e + 1) V^e)``: the integral of ``((a + x) / V)^e``."""
    out: float = ((a + q) ** (e + 1.0) - a ** (e + 1.0)) / ((e + 1.0) * depth ** e)
    return out


_area = njit(cache=True, inline="always")(_area_py)


def fill_py(law: ImpactLaw, q_perm: float, q_mem: float, depth: float, exo_usd: float,
            qty_eth: float) -> tuple[float, float]:
    """Sell ``qty_eth`` along the curve from volumes ``(q_perm, q_mem)``.

    Returns ``(filled_eth, proceeds_usd)``; beyond the law's capacity (``I = 1``) the rest is
    unfilled. The caller adds ``filled`` to both volumes (:func:`add_volume`).
    """
    if qty_eth <= 0.0:
        return 0.0, 0.0
    if law.scale <= 0.0:
        return qty_eth, exo_usd * qty_eth
    filled = qty_eth
    if _raw(law, q_perm + qty_eth, q_mem + qty_eth, depth) > 1.0:
        lo, hi = 0.0, qty_eth  # the marginal price is monotone in the amount sold
        for _ in range(_CAPACITY_BISECTIONS):
            x = 0.5 * (lo + hi)
            if _raw(law, q_perm + x, q_mem + x, depth) > 1.0:
                hi = x
            else:
                lo = x
        filled = lo
    e = law.exponent
    cost = law.scale * (law.permanent * _area(q_perm, filled, e, depth)
                        + (1.0 - law.permanent) * _area(q_mem, filled, e, depth))
    return filled, exo_usd * (filled - cost)


fill = njit(cache=True)(fill_py)


def add_volume_py(law: ImpactLaw, q_perm: float, q_mem: float, sold_eth: float
                  ) -> tuple[float, float]:
    """Volumes after ``sold_eth`` more is sold (the memory is skipped when it decays at once)."""
    mem = q_mem + sold_eth if law.decay_per_s < math.inf else 0.0
    return q_perm + sold_eth, mem


add_volume = njit(cache=True, inline="always")(add_volume_py)


def decay_memory_py(law: ImpactLaw, q_mem: float, dt_s: float) -> float:
    """The memory volume after ``dt_s`` seconds: its impact shrinks by ``exp(-rate dt)``."""
    if law.decay_per_s <= 0.0 or q_mem <= 0.0:
        return q_mem
    if law.decay_per_s == math.inf:
        return 0.0
    return q_mem * math.exp(-law.decay_per_s * dt_s / law.exponent)


decay_memory = njit(cache=True, inline="always")(decay_memory_py)



def ewma_variance_py(law: ImpactLaw, var_per_day: float, log_return: float, dt_s: float) -> float:
    """One EWMA update of the squared log return per day (half-life ``law.vol_halflife_s``).

    ``realized_vol = sqrt(var_per_day)`` is what :func:`depth_eth` compares with ``vol_ref``.
    """
    if not law.vol_halflife_s < math.inf or dt_s <= 0.0:
        return var_per_day
    keep = math.exp(-math.log(2.0) * dt_s / law.vol_halflife_s)
    return keep * var_per_day + (1.0 - keep) * log_return * log_return * (86_400.0 / dt_s)


ewma_variance = njit(cache=True, inline="always")(ewma_variance_py)

__all__ = [
    "add_volume",
    "add_volume_py",
    "decay_memory",
    "decay_memory_py",
    "depth_eth",
    "depth_eth_py",
    "ewma_variance",
    "ewma_variance_py",
    "fill",
    "fill_py",
    "impact_fraction",
    "impact_fraction_py",
]

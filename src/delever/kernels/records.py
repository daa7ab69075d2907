"""Parameter records the kernels take: a lending protocol's liquidation rules, an impact law.

Kernels receive these as NamedTuples of plain numbers (numba compiles them as tuples), so a
kernel signature names one record instead of a dozen positional floats. The records hold no
protocol or market constant of their own: :mod:`delever.protocol` builds
:class:`LiquidationRules` (``LendingProtocol.kernel_rules()``) and :mod:`delever.market`
builds :class:`ImpactLaw` (``ImpactModel.kernel_law()``).
"""

from __future__ import annotations

import math
from typing import NamedTuple


class LiquidationRules(NamedTuple):
    """How one liquidation call may close a single-collateral, single-debt position.

    Aave v3.3+: ``close_factor=0.5, full_close_hf=0.95, min_base_usd=2_000,
    min_leftover_usd=1_000, write_off_bad_debt=True``. Aave v3.0: the same 50% / 0.95 rule
    without the two dollar rules and without deficit accounting (``write_off_bad_debt=False``:
    the debt left on an account with no collateral stays owed). Morpho Blue: no close factor
    (``close_factor=1``), no dust rules, bad debt realised when the collateral reaches zero.
    """

    close_factor: float  # share of the debt one call may repay while HF > full_close_hf
    full_close_hf: float  # at or below this HF one call may repay all of the debt
    min_base_usd: float  # a side (collateral value or debt) below this lets the call repay all
    min_leftover_usd: float  # a partial call must leave at least this much debt and collateral
    write_off_bad_debt: bool  # collateral gone -> the debt left is written off (bad debt)


class ImpactLaw(NamedTuple):
    """A metaorder impact law the kernels can walk: ``I = scale * sum_j w_j (Q_j / V)^exponent``.

    ``Q_0`` is every ETH sold into the market so far (the permanent part, weight
    ``permanent``); ``Q_1`` is a memory of the same volume that decays (the transient part,
    weight ``1 - permanent``), its impact shrinking by ``exp(-decay_per_s * dt)``. The
    square-root law is ``exponent=0.5, scale=Y*sigma``; linear (Almgren-Chriss / Kyle) is
    ``exponent=1``; Obizhaeva-Wang is linear with a transient part; a propagator is the
    square-root law with a transient part. ``V`` is thinned by state-dependent liquidity:
    ``V_eff = V * exp(-thin_vol * max(0, vol / vol_ref - 1)) * (1 - drawdown) ** thin_drawdown``
    (``thin_vol = thin_drawdown = 0``: depth fixed). The engines keep, per path, an EWMA of the
    squared log returns of the mid (half-life ``vol_halflife_s``, scaled to one day) and the
    running peak of the mid, and call :func:`delever.kernels.impact_law.depth_eth` each step.
    """

    scale: float  # impact of selling one day's depth V (fraction of the price)
    exponent: float  # 0.5 square-root law, 1.0 linear
    adv_eth: float  # depth V, ETH
    permanent: float  # share of the impact that never decays, in [0, 1]
    decay_per_s: float  # decay rate of the transient part's impact (0: it never decays)
    thin_vol: float  # elasticity of depth to realized volatility above vol_ref
    thin_drawdown: float  # exponent on (1 - drawdown from the running peak)
    vol_ref: float  # realized volatility (per sqrt(day)) at which depth is V
    vol_halflife_s: float  # half-life of the engines' EWMA of squared log returns, seconds


def square_root_law(y_sigma: float, adv_eth: float, permanent: float = 1.0,
                    decay_per_s: float = 0.0) -> ImpactLaw:
    """The square-root law ``I = Y sigma sqrt(Q / V)`` as an :class:`ImpactLaw`, fixed depth."""
    return ImpactLaw(scale=y_sigma, exponent=0.5, adv_eth=adv_eth, permanent=permanent,
                     decay_per_s=decay_per_s, thin_vol=0.0, thin_drawdown=0.0, vol_ref=math.inf,
                     vol_halflife_s=math.inf)


__all__ = ["ImpactLaw", "LiquidationRules", "square_root_law"]

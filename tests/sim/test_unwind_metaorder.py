"""The engine's impact law is that of a metaorder: slicing a sale does not inflate it.

The unwind kernel's sale stage (``_sell``: :func:`delever.kernels.impact_law.fill` on the
path's volumes) and its market stage (``_move_market``: the transient memory's decay) on a
state row, against :class:`SquareRootImpact` and closed forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delever.kernels import unwind as K  # noqa: N812 (as in sim.unwind)
from delever.kernels.impact_law import impact_fraction_py
from delever.kernels.records import ImpactLaw, square_root_law
from delever.market import SquareRootImpact

SIGMA, ADV, Y, PERM, MID = 0.04, 500_000.0, 1.0, 2.0 / 3.0, 2000.0
STEP_S = 3_600.0


def _law(decay: float) -> ImpactLaw:
    """The square-root law whose transient impact keeps ``decay`` of itself per step."""
    rate = -math.log(decay) / STEP_S if decay > 0.0 else math.inf
    return square_root_law(Y * SIGMA, ADV, PERM, max(rate, 0.0))


def _fresh_row() -> np.ndarray:
    row = np.zeros(K.N_STATE)
    row[K.S_DEPTH] = ADV
    row[K.S_LOW] = row[K.S_PEAK] = MID
    return row


def _sell_in_slices(total_eth: float, n_slices: int, decay: float) -> tuple[float, float]:
    law = _law(decay)
    row = _fresh_row()
    proceeds = 0.0
    for _ in range(n_slices):
        K._move_market_py(law, STEP_S, row, MID, MID)  # what a step does before the sale
        _filled, usd = K._sell_py(law, row, total_eth / n_slices, MID)
        proceeds += usd
    return proceeds, K._mid_py(law, row, MID)


@given(total=st.floats(1.0, 400_000.0), n=st.integers(1, 200))
def test_slices_with_full_memory_cost_the_same_as_one_sale(total: float, n: int) -> None:
    one = SquareRootImpact(SIGMA, ADV, Y, permanent_frac=1.0).execute(MID, total)
    sliced, mid_after = _sell_in_slices(total, n, decay=1.0)
    # One metaorder: average fill m (1 - 2/3 Y sigma sqrt(Q / V)), whatever the slicing.
    assert sliced == pytest.approx(float(one.proceeds_usd), rel=1e-10)
    assert mid_after == pytest.approx(MID * (1 - Y * SIGMA * math.sqrt(total / ADV)), rel=1e-12)


def test_relaxation_between_slices_makes_slow_selling_cheaper() -> None:
    total = 255_500.0
    at_once, _ = _sell_in_slices(total, 1, decay=1.0)
    relaxed, mid_after = _sell_in_slices(total, 144, decay=0.0)
    permanent_only = MID * (total - PERM * Y * SIGMA * (2 / 3) * total**1.5 / math.sqrt(ADV))
    assert at_once < relaxed < permanent_only
    # After the sale only the permanent part stays: m (1 - perm Y sigma sqrt(Q / V)).
    assert mid_after == pytest.approx(MID * (1 - PERM * Y * SIGMA * math.sqrt(total / ADV)))


def test_decay_per_s_matches_the_old_per_step_retention() -> None:
    # The old kernel shrank the memory volume by decay**2 a step (so its sqrt-law impact by
    # decay); decay_per_s = -ln(decay) / step_s gives exp(2 ln decay) per step.
    law = _law(0.7)
    row = _fresh_row()
    row[K.S_QMEM] = 1_000.0
    K._move_market_py(law, STEP_S, row, MID, MID)
    assert row[K.S_QMEM] == pytest.approx(1_000.0 * 0.7**2, rel=1e-14)
    transient = impact_fraction_py(law._replace(permanent=0.0), 0.0, row[K.S_QMEM], ADV)
    assert transient == pytest.approx(0.7 * Y * SIGMA * math.sqrt(1_000.0 / ADV), rel=1e-14)


def test_capacity_leaves_the_rest_unfilled() -> None:
    law = _law(1.0)
    row = _fresh_row()
    capacity = ADV / (Y * SIGMA) ** 2  # where I = 1 for a fresh market
    filled, usd = K._sell_py(law, row, 2 * capacity, MID)
    assert filled == pytest.approx(capacity, rel=1e-9)
    assert usd == pytest.approx(MID * capacity / 3, rel=1e-9)  # average fill m (1 - 2/3)


def test_market_stage_thins_depth_by_drawdown_and_realized_volatility() -> None:
    # depth V exp(-a max(0, vol / vol_ref - 1)) (1 - drawdown)^b, the state kept per path
    law = ImpactLaw(scale=Y * SIGMA, exponent=0.5, adv_eth=ADV, permanent=1.0, decay_per_s=0.0,
                    thin_vol=0.5, thin_drawdown=2.0, vol_ref=0.05, vol_halflife_s=86_400.0)
    row = _fresh_row()
    row[K.S_VAR] = 0.04**2  # realized 4% a day: below vol_ref, no thinning by volatility
    row[K.S_QALL] = 10_000.0
    exo, prev_mid = 1_500.0, 2_000.0
    mid = K._move_market_py(law, STEP_S, row, exo, prev_mid)
    r = math.log(exo * (1 - Y * SIGMA * math.sqrt(10_000.0 / ADV)) / prev_mid)
    keep = 0.5 ** (STEP_S / 86_400.0)
    var = keep * 0.04**2 + (1 - keep) * r * r * 24.0  # per day: dt is 1/24 day
    assert row[K.S_VAR] == pytest.approx(var, rel=1e-12)
    vol = math.sqrt(var)  # a 28% fall in an hour: far above vol_ref
    first_mid = exo * (1 - Y * SIGMA * math.sqrt(10_000.0 / ADV))
    drawdown = 1 - first_mid / MID
    depth = ADV * math.exp(-0.5 * (vol / 0.05 - 1)) * (1 - drawdown) ** 2
    assert row[K.S_DEPTH] == pytest.approx(depth, rel=1e-12)
    assert mid == pytest.approx(exo * (1 - Y * SIGMA * math.sqrt(10_000.0 / depth)), rel=1e-12)
    assert row[K.S_PEAK] == MID and row[K.S_LOW] == pytest.approx(mid, rel=1e-15)

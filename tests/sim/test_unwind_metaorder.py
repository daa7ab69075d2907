"""The engine's square-root law is that of a metaorder: slicing a sale does not inflate it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delever.kernels import unwind as K  # noqa: N812 (as in sim.unwind)
from delever.market import SquareRootImpact

SIGMA, ADV, Y, PERM, MID = 0.04, 500_000.0, 1.0, 2.0 / 3.0, 2000.0


def _sell_in_slices(total_eth: float, n_slices: int, decay: float) -> tuple[float, float]:
    state = np.zeros((1, K.N_STATE))
    proceeds = 0.0
    for _ in range(n_slices):
        state[0, K.S_QMEM] *= decay * decay  # what a step does before the sale
        _filled, usd, _mid = K._sell_py(
            state, 0, total_eth / n_slices, MID, Y * SIGMA, ADV, PERM, decay
        )
        proceeds += usd
    mid_after = MID * (
        1 - K.impact_fraction_py(state[0, K.S_QALL], state[0, K.S_QMEM], Y * SIGMA, ADV, PERM)
    )
    return proceeds, mid_after


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


def test_capacity_leaves_the_rest_unfilled() -> None:
    state = np.zeros((1, K.N_STATE))
    capacity = ADV / (Y * SIGMA) ** 2  # where I = 1 for a fresh market
    filled, usd, _ = K._sell_py(state, 0, 2 * capacity, MID, Y * SIGMA, ADV, PERM, 1.0)
    assert filled == pytest.approx(capacity, rel=1e-9)
    assert usd == pytest.approx(MID * capacity / 3, rel=1e-9)  # average fill m (1 - 2/3)

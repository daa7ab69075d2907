"""The refactored engines against the pre-refactor ones: same outputs to float rounding.

``data/cascade_reference.npz`` holds the outputs of the engines as they were before the
cascade kernels took a rules record and an impact-law record (commit 2261366; written by
``make_cascade_reference.py``) on the cases of ``cascade_reference_cases.py``: the existing
tests' books and a few random ones, with and without the other actors. The default rules
(Aave v3.6) and the default law (fixed-depth square root) must give the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cascade_reference_cases import CASES

from delever.book import run_cascade
from delever.book.actors import ImpactParams

DATA = Path(__file__).parent / "data" / "cascade_reference.npz"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(DATA) as data:
        return {name: data[name] for name in data.files}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_outputs_as_before_the_refactor(reference: dict[str, np.ndarray],
                                             name: str) -> None:
    book, exog, engine, kwargs = CASES[name]()
    impact = kwargs.pop("impact", None)
    if impact is not None:
        kwargs["impact"] = ImpactParams(*impact).law()  # the record, as the kernels take it
    new = run_cascade(book, exog, engine=engine, **kwargs).values
    old = reference[name]
    assert new.shape == old.shape
    np.testing.assert_allclose(new, old, rtol=1e-9, atol=1e-6)

"""Write tests/book/data/cascade_reference.npz: today's cascade engines' outputs, the reference.

Run ONCE against the pre-refactor kernel (commit 2261366, ``kernels/cascade.py:simulate_py``
with ``ImpactParams`` and the Aave constants), from that checkout:
``PYTHONPATH=<old>/src python tests/book/make_cascade_reference.py OUT.npz``. The test
:mod:`tests.book.test_cascade_reference` runs the same cases on the current engines.
"""

from __future__ import annotations

import sys

import numpy as np
from cascade_reference_cases import CASES

from delever.book import run_cascade
from delever.book.actors import ImpactParams


def main(path: str) -> None:
    out: dict[str, np.ndarray] = {}
    for name, case in CASES.items():
        book, exog, engine, kwargs = case()
        impact = kwargs.pop("impact", None)
        if impact is not None:
            kwargs["impact"] = ImpactParams(*impact)
        r = run_cascade(book, exog, engine=engine, **kwargs)
        out[name] = r.values
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])

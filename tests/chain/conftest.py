"""Session fixture: one local Aave v3.0 market (anvil + Aave's bytecode) for tests/chain."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .localnet import Market, local_market, missing_prerequisites

SEED = 20260201
N_ACCOUNTS = 520


@pytest.fixture(scope="session")
def aave_market() -> Iterator[Market]:
    """The market with N_ACCOUNTS seeded accounts, deployed once per session.

    Skipped only when anvil or the npm artifacts are not installed (``npm install`` in
    tests/chain/node); CI installs them.
    """
    why = missing_prerequisites()
    if why is not None:
        if os.environ.get("DELEVER_REQUIRE_CHAIN") == "1":  # CI installed them: must run
            pytest.fail(why)
        pytest.skip(why)
    with local_market(seed=SEED, n_accounts=N_ACCOUNTS) as market:
        yield market

"""A Morpho Blue position through the stack: scenario file -> position -> unwind engine.

Hand-worked figures: health ``X * P * LLTV / D``; one liquidation call takes the whole debt
(no close factor) and seizes ``debt * LIF / price``, ``LIF = 1 / (1 - 0.3 (1 - LLTV))``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import delever
from delever.errors import InvalidArgument
from delever.protocol.morpho import MorphoBlue
from delever.scenario import load_scenario
from delever.sim.api import build_inputs
from delever.sim.unwind import simulate_strategies
from delever.strategy import Hold
from scenario_text import one_account_scenario

LLTV = 0.86
LIF = 1.0 / (1.0 - 0.3 * (1.0 - LLTV))  # 1.04384133...


def _morpho_text(lltv: str = "0.86", protocol: str = "morpho-blue") -> str:
    text = one_account_scenario(debt="{ USDC = 150000 }")
    head, rest = text.split("\n", 1)
    return f'{head}\nprotocol = "{protocol}"\nlltv = {lltv}\n{rest}'


def _load(tmp_path: Path, text: str) -> delever.Scenario:
    path = tmp_path / "morpho.toml"
    path.write_text(text)
    return load_scenario(str(path))


def test_position_by_the_market_lltv(tmp_path: Path) -> None:
    scenario = _load(tmp_path, _morpho_text())
    assert isinstance(scenario.protocol, MorphoBlue) and scenario.protocol.lltv == LLTV
    account = scenario.position_report().accounts[0]
    # 100 ETH at $2,000 against $150,000: HF = 100 * 2000 * 0.86 / 150000 = 1.14666...
    assert account.health_factor == pytest.approx(100 * 2000 * LLTV / 150_000, rel=1e-12)
    # liquidated where 100 * p * 0.86 = 150,000: p = 1,744.186...
    assert account.liquidation_price_usd == pytest.approx(150_000 / (100 * LLTV), rel=1e-12)


def test_the_engine_closes_the_whole_position_in_one_call(tmp_path: Path) -> None:
    scenario = _load(tmp_path, _morpho_text())
    inputs = build_inputs(scenario, n_paths=1, n_steps=2)
    assert inputs.position.liquidation_threshold[0] == pytest.approx(LLTV)
    assert inputs.position.liquidation_bonus[0] == pytest.approx(LIF - 1.0)
    assert inputs.lending.rules == scenario.protocol.kernel_rules()
    # a fall to $1,700 (below 1,744.19): one call repays all $150,000 (plus interest) and
    # seizes debt * LIF / 1,700 ETH
    paths = np.array([[2_000.0, 1_700.0, 1_700.0]])
    run = simulate_strategies(inputs.position, [Hold()], paths, market=inputs.market,
                              lending=inputs.lending).results[0]
    assert run.liquidated[0]
    assert run.debt_usd[0, -1] == pytest.approx(0.0, abs=1e-6)  # no close factor: all repaid
    seized = float(run.seized_eth[0].sum())
    # the call executes at the oracle's $1,700 (nothing sold before it); the debt repaid is
    # $150,000 plus an hour of interest (well under 0.01%). The liquidator's sale then moves
    # the mid, so the recorded oracle ends lower.
    assert seized == pytest.approx(150_000 * LIF / 1_700.0, rel=1e-4)


def test_aave_rules_would_close_only_half(tmp_path: Path) -> None:
    # the same account on Aave v3.6 (LT 0.83, bonus 5%): HF at 1,700 = 100*1700*0.83/150000
    # = 0.94 <= 0.95, so Aave also takes it all; at 1,740 HF = 0.9628 > 0.95: 50% only
    aave = _load(tmp_path, one_account_scenario(debt="{ USDC = 150000 }"))
    morpho = _load(tmp_path, _morpho_text())
    paths = np.array([[2_000.0, 1_740.0, 1_740.0]])
    left = {}
    for label, scenario in (("aave", aave), ("morpho", morpho)):
        inputs = build_inputs(scenario, n_paths=1, n_steps=2)
        run = simulate_strategies(inputs.position, [Hold()], paths, market=inputs.market,
                                  lending=inputs.lending).results[0]
        left[label] = float(run.debt_usd[0, -1])
    assert left["morpho"] == pytest.approx(0.0, abs=1e-6)
    # Aave: 100*1740*0.83 = 144,420 < 150,000 (HF 0.9628): one 50% call leaves ~$75,000
    assert left["aave"] == pytest.approx(75_000.0, rel=1e-3)


@pytest.mark.parametrize(("lltv", "protocol", "match"), [
    ("1.2", "morpho-blue", "must be in"),
    ("0.86", "aave-v3.6", "applies to protocol"),
])
def test_bad_lltv_is_refused(tmp_path: Path, lltv: str, protocol: str, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        _load(tmp_path, _morpho_text(lltv, protocol))


def test_run_end_to_end_on_a_morpho_position(tmp_path: Path) -> None:
    scenario = _load(tmp_path, _morpho_text())
    result = delever.run(scenario, paths=4, seed=0)
    data = result.to_dict()
    account = data["accounts"][0]
    assert account["health_factor"] == pytest.approx(100 * 2000 * LLTV / 150_000, rel=1e-12)
    assert math.isfinite(account["liquidation_price_usd"])

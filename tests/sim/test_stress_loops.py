"""`stress` on a book of looped borrowers (wstETH against WETH in e-mode), by oracle.

The oracle decides what triggers a loop's liquidation (delever.cli.cascade_cmds): under
"exchange-rate" (Aave's CAPO) the contract rate, which only slashing lowers and no sale moves;
under "market" the market value, which a depeg and the liquidators' own sales lower.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from delever.book import LOOP_FITTED_PARAMS, synthetic_book
from delever.cli.cascade_cmds import loop_stress_inputs
from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.kernels import cascade as k
from delever.scenario.build import Scenario, build_scenario
from delever.scenario.loader import builtin_scenario_text, parse_scenario_text
from delever.sim.montecarlo import CHUNK_PATHS, MonteCarlo, Stream
from delever.sim.stress import StressActors, StressResult, stress

STEPS = 48  # hourly steps: two days
# the wsteth-loop position (scenario file): 64.1279 wstETH against 68.5566 WETH at LT 0.95,
# HF 1.0886: a fall of the trigger price by 1 - 1/1.0886 = 8.14% liquidates it
LOOP_UNITS, LOOP_DEBT_WETH = 64.12786639338279, 68.55663633189393
# a discount pulled towards 20% (> 8.14%) within a day or two, no slashing
DEEP_DEPEG = ("slash_intensity_per_year = 0.0\ndepeg_mu = 0.2\ndepeg_kappa_per_year = 400.0\n"
              "depeg_sigma_per_sqrt_year = 0.01")


def _loop(extra: str = "", oracle: str = "exchange-rate") -> Scenario:
    """The built-in wsteth-loop with ``extra`` lines in its [loop] section."""
    text = builtin_scenario_text("wsteth-loop").replace(
        'oracle = "exchange-rate"', f'oracle = "{oracle}"\n{extra}')
    return build_scenario(parse_scenario_text(text, "test"))


def _run(scenario: Scenario, n_paths: int = 200, seed: int = 3) -> StressResult:
    run = loop_stress_inputs(scenario, STEPS)
    return stress(run.book, n_paths=n_paths, n_steps=STEPS, seed=seed,
                  price_usd=run.start_price, paths=run.paths, units=(run.asset, "ETH"),
                  actors=StressActors(impact=run.trigger_impact,
                                      large_account=run.large_account,
                                      protocol_fee=run.protocol_fee))


@pytest.fixture(scope="module")
def deep_capo() -> StressResult:
    return _run(_loop(DEEP_DEPEG))


@pytest.fixture(scope="module")
def deep_market() -> StressResult:
    return _run(_loop(DEEP_DEPEG, oracle="market"))


def test_the_inputs_are_the_loop_in_the_eth_frame() -> None:
    run = loop_stress_inputs(_loop(), STEPS)
    w = run.large_account
    assert (w.collateral_eth, w.debt_usd) == (LOOP_UNITS, LOOP_DEBT_WETH)
    assert (w.liquidation_threshold, w.liquidation_bonus) == (0.95, 0.01)  # e-mode category
    assert w.liquidation_price_usd() == pytest.approx(1.225 / 1.0885715593456, rel=1e-12)
    assert run.start_price == 1.225  # ETH per wstETH, at par
    assert run.book.total_collateral_eth == 480_000.0  # the default loop book (an estimate)
    assert np.all(run.book.liquidation_threshold == 0.95)
    assert run.trigger_impact.impact_y == 0.0  # CAPO: no sale moves the trigger
    assert run.market.impact_y == 1.0 and run.market.adv_eth == 100_000.0  # the scenario's
    market = loop_stress_inputs(_loop(oracle="market"), STEPS)
    assert market.trigger_impact == market.market  # the sales move the market oracle


def test_a_deep_depeg_liquidates_nobody_under_capo(deep_capo: StressResult) -> None:
    assert np.all(deep_capo.paths[:, k.OUT_SEIZED_ETH] == 0.0)
    assert np.all(deep_capo.paths[:, k.OUT_WHALE_FIRST_STEP] < 0)
    assert deep_capo.p_large_liquidated.value == 0.0
    assert deep_capo.amplification_median.value == 1.0


def test_a_deep_depeg_liquidates_under_a_market_oracle(deep_market: StressResult) -> None:
    seized = deep_market.paths[:, k.OUT_SEIZED_ETH]
    assert np.all(seized > 0.0)
    # the discount passes 8.14% on every path: the loop position is liquidated on each
    assert deep_market.p_large_liquidated.value == 1.0
    assert deep_market.liquidations_at_risk_eth.value > 0.0


def test_the_market_oracle_amplifies(deep_market: StressResult) -> None:
    values = deep_market.paths
    p0 = 1.225
    drop_exog = p0 - values[:, k.OUT_MIN_EXOGENOUS]
    drop_market = p0 - values[:, k.OUT_MIN_PRICE]
    assert np.all(drop_exog > 0)
    amplification = drop_market / drop_exog
    assert np.all(amplification >= 1.0)
    # every path has liquidations whose sales push the market below the exogenous value
    assert np.all(amplification[values[:, k.OUT_SEIZED_ETH] > 0] > 1.0)
    assert deep_market.amplification_median.value > 1.0


def test_slashing_past_every_distance_liquidates_at_the_poisson_rate() -> None:
    # a 20% cut of the rate takes every loop (the position's distance is 8.14%) below HF 1;
    # the staking yield adds ~0.02% in two days, so P(liquidated) = P(a slash) = 1 - e^{-lT}
    lam, n = 50.0, 2_000
    res = _run(_loop(f"slash_intensity_per_year = {lam}\nslash_size = 0.2"), n_paths=n)
    expected = 1.0 - math.exp(-lam * STEPS / 24.0 / 365.0)
    se = math.sqrt(expected * (1.0 - expected) / n)
    assert abs(res.p_large_liquidated.value - expected) < 4.0 * se, (res.p_large_liquidated,
                                                                       expected)
    # CAPO: the rate only falls by slashing, so the book is liquidated on exactly those paths
    whale = res.paths[:, k.OUT_WHALE_FIRST_STEP] >= 0
    np.testing.assert_array_equal(res.paths[:, k.OUT_SEIZED_ETH] > 0, whale)
    # and no sale moved the trigger: market and exogenous minima agree
    np.testing.assert_array_equal(res.paths[:, k.OUT_MIN_PRICE],
                                  res.paths[:, k.OUT_MIN_EXOGENOUS])


def test_the_paths_are_the_chunk_seeds_draws() -> None:
    scenario = _loop(oracle="market")
    run = loop_stress_inputs(scenario, STEPS)
    res = _run(scenario, n_paths=CHUNK_PATHS + 7, seed=11)
    seeds = MonteCarlo(11, CHUNK_PATHS + 7, CHUNK_PATHS).chunk_seeds(Stream.STRESS)
    assert run.paths is not None
    view = scenario.for_engines()
    model = view.engine_frame().path_model  # type: ignore[union-attr]
    first, _ = model.draw(CHUNK_PATHS, STEPS, 1.0, seeds[0])
    last, _ = model.draw(7, STEPS, 1.0, seeds[1])
    expected = np.concatenate([first, last]).min(axis=1)
    np.testing.assert_array_equal(res.paths[:, k.OUT_MIN_EXOGENOUS], expected)


def test_same_seed_same_bytes_other_seed_differs() -> None:
    scenario = _loop(oracle="market")
    one, two = _run(scenario, seed=5), _run(scenario, seed=5)
    assert one.paths.tobytes() == two.paths.tobytes()
    assert one.to_dict() == two.to_dict()
    assert _run(scenario, seed=6).paths.tobytes() != one.paths.tobytes()


def test_a_path_source_of_the_wrong_shape_is_refused() -> None:
    run = loop_stress_inputs(_loop(), STEPS)
    with pytest.raises(InvalidArgument, match=r"paths returned shape \(3, 5\)"):
        stress(run.book, n_paths=3, n_steps=STEPS, price_usd=1.225,
               paths=lambda m, seed: np.ones((m, 5)))
    with pytest.raises(InvalidArgument, match="must start at price_usd"):
        stress(run.book, n_paths=3, n_steps=2, price_usd=1.225,
               paths=lambda m, seed: np.ones((m, 3)))


# --- the CLI -------------------------------------------------------------------------------------


def _cli(argv: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output


def test_cli_stress_on_the_loop_reports_units() -> None:
    code, out = _cli(["stress", "wsteth-loop", "--paths", "200", "--steps", "48", "--json"])
    assert code == 0, out
    payload: dict[str, Any] = json.loads(out)
    assert payload["units"] == {"asset": "wstETH", "numeraire": "ETH"}
    assert payload["oracle"] == "exchange-rate"
    assert payload["start_price_eth_per_unit"] == 1.225
    assert payload["large_account"]["collateral_units"] == LOOP_UNITS
    assert payload["large_account"]["debt_eth"] == LOOP_DEBT_WETH
    assert payload["book"]["collateral_units"] == 480_000.0
    # the runner's relabelling: ETH -> units, USD -> ETH
    assert "liquidations_at_risk_units" in payload and "bad_debt_var_eth" in payload
    assert "liquidations_at_risk_eth" not in payload
    # default slashing (0.05/year) in two days: almost surely none, so nothing liquidated
    assert payload["mean_collateral_liquidated_units"] == 0.0


def test_cli_stress_on_the_loop_prints_units_and_the_oracle() -> None:
    code, out = _cli(["stress", "wsteth-loop", "--paths", "50", "--steps", "24"])
    assert code == 0, out
    assert "wstETH" in out and "exchange-rate (Aave's CAPO)" in out
    assert "$" not in out


@pytest.mark.parametrize("option", [["--price-usd", "2000"], ["--whale-debt-usd", "1e6"],
                                    ["--sigma-daily", "0.04"]],
                         ids=["price", "whale-debt", "sigma"])
def test_cli_stress_on_the_loop_refuses_eth_usd_options(option: list[str]) -> None:
    code, out = _cli(["stress", "wsteth-loop", "--paths", "10", "--steps", "2", *option])
    assert code == 2
    assert f"{option[0]} cannot be used with the [loop] scenario" in out


def test_cli_cascade_on_the_loop_slashes_the_rate_without_amplification() -> None:
    code, out = _cli(["cascade", "wsteth-loop", "--shock-pct", "10", "--json"])
    assert code == 0, out
    payload = json.loads(out)
    assert payload["shock"] == "slash of the contract rate"
    assert payload["shock_price_eth"] == pytest.approx(1.225 * 0.9, rel=1e-15)
    assert payload["final_price_eth"] == payload["shock_price_eth"]  # no sale moves it
    assert payload["amplification"] == 1.0
    assert payload["accounts_liquidated"] > 0  # loopers within 10% of liquidation
    assert payload["units"] == {"asset": "wstETH", "numeraire": "ETH"}


def test_cli_cascade_on_a_market_oracle_loop_amplifies(tmp_path: Any) -> None:
    text = builtin_scenario_text("wsteth-loop").replace('oracle = "exchange-rate"',
                                                        'oracle = "market"')
    path = tmp_path / "loop-market.toml"
    path.write_text(text, encoding="utf-8")
    code, out = _cli(["cascade", str(path), "--shock-pct", "5", "--json"])
    assert code == 0, out
    payload = json.loads(out)
    assert payload["shock"] == "depeg of the market value"
    assert payload["accounts_liquidated"] > 0
    assert payload["final_price_eth"] < payload["shock_price_eth"]  # the sales deepen it
    assert payload["amplification"] > 1.0


def test_the_scenarios_book_section_sizes_the_loop_book_in_units() -> None:
    text = builtin_scenario_text("wsteth-loop") + (
        "\n[book]\nn_accounts = 300\ntotal_collateral_eth = 1000.0\nseed = 2\n")
    run = loop_stress_inputs(build_scenario(parse_scenario_text(text, "test")), STEPS)
    assert len(run.book) == 300
    assert run.book.total_collateral_eth == 1000.0  # wstETH
    assert "[book] total_collateral_eth" in run.book_source
    # the book's HFs at the start price are the loop fit's draws at seed 2
    same = synthetic_book(300, 1000.0, 1.225, seed=2, params=LOOP_FITTED_PARAMS,
                          liquidation_threshold=0.95, liquidation_bonus=0.01)
    np.testing.assert_array_equal(run.book.debt_usd, same.debt_usd)

"""One test for every result object: ``summary()`` (and ``__str__``), ``to_dict()``, ``to_frame()``.

Every class in src/delever named like a result (``*Result``, ``*Report``, ``*Fills``,
``Advice``, ``StagedPlan``, ``StreamedSimulation``) without an instance here fails
:func:`test_every_result_class_has_an_instance_here`, so a new result cannot skip the contract.
Instances come from one small ``delever.run`` and a few cheap calls.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import delever
from delever._json import to_jsonable
from delever.book.cascade import cascade
from delever.book.synthetic import synthetic_book
from delever.market.impact import SquareRootImpact
from delever.market.router import Router
from delever.market.univ3 import UniswapV3Impact, illustrative_pool, swap_exact_input
from delever.protocol import Account, Prices, liquidation_call
from delever.protocol.morpho import MorphoBlue
from delever.protocol.morpho import market as mk
from delever.sim.stress import stress

SRC = Path(__file__).resolve().parents[1] / "src" / "delever"
RESULT_NAME_SUFFIXES = ("Result", "Report", "Fills")
RESULT_NAMES_OTHER = ("Advice", "StagedPlan", "StreamedSimulation")
NOT_RESULTS = {  # named like results, but inputs or parts of a page
    "ReportSection": "one section of the HTML report (title, text, figures)",
    "ReportProvenance": "the report's footer: where the inputs came from",
}

PATHS = 4


@pytest.fixture(scope="module")
def run() -> delever.RunResult:
    return delever.run(paths=PATHS, seed=1)


def _from_run(run: delever.RunResult) -> list[Any]:
    advice = run.artifacts["advice"]
    streamed = run.artifacts["simulation"]
    position = run.artifacts["position"]
    return [run, position, position.accounts[0], run.artifacts["sale"], streamed,
            streamed.sample, streamed.sample.results[0], run.artifacts["replay"],
            run.artifacts["cascade"], run.artifacts["plan"], advice, advice.max_position,
            advice.margin_buffer, advice.staged, advice.after_unwind, advice.heatmap]


def _protocols() -> list[Any]:
    params = mk.MarketParams(860_000_000_000_000_000, collateral_decimals=18, loan_decimals=6)
    market = mk.MarketState(total_supply_assets=1_000_000 * 10**6, total_supply_shares=10**18,
                            total_borrow_assets=810_000_000_123, total_borrow_shares=8 * 10**17,
                            last_update=1, fee=0)
    position = mk.Position(supply_shares=0, borrow_shares=10**16, collateral=6 * 10**18)
    account = Account(collateral={"WETH": 10.0}, debt={"USDC": 17_000.0})
    return [
        mk.liquidate(params, market, position, 1950 * 10**24, seized_assets=10**18),
        mk.accrue_interest(market, 1_268_391_679, 3_601),
        liquidation_call(account, Prices.from_eth(2_000.0), collateral_symbol="WETH",
                         debt_symbol="USDC", debt_to_cover=math.inf),
        MorphoBlue(0.86).liquidate(10.0, 17_500.0, 2_000.0, MorphoBlue(0.86).risk()),
    ]


def _markets() -> list[Any]:
    sqrt = SquareRootImpact(sigma_daily=0.04, adv_eth=200_000.0)
    pool = illustrative_pool()
    book = synthetic_book(50, 20_000.0, 2_000.0, seed=3)
    return [
        sqrt.execute(2_000.0, [10.0, 5_000.0]),
        sqrt.execute_schedule(2_000.0, [1_000.0, 1_000.0]),
        Router.of([sqrt, UniswapV3Impact(pool)]).route(2_000.0, [100.0, 900.0]),
        swap_exact_input(pool, 10.0, pool.eth_is_token0),
        stress(book, n_paths=3, n_steps=4, seed=2, price_usd=2_000.0, sigma_per_step=0.01),
        cascade(book, price_usd=2_000.0, shock_frac=0.3),
    ]


def _key(result: Any) -> str:
    cls = type(result)
    return f"{cls.__module__}:{cls.__name__}"


@pytest.fixture(scope="module")
def instances(run: delever.RunResult) -> dict[str, Any]:
    found = {_key(r): r for r in [*_from_run(run), *_protocols(), *_markets()]}
    assert len(found) == len(_from_run(run)) + len(_protocols()) + len(_markets())
    return found


def _result_classes() -> Iterator[str]:
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(("delever", *path.relative_to(SRC).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.ClassDef) and node.name not in NOT_RESULTS and (
                    node.name.endswith(RESULT_NAME_SUFFIXES) or node.name in RESULT_NAMES_OTHER)):
                yield f"{module}:{node.name}"


RESULT_CLASSES = sorted(_result_classes())


def test_every_result_class_has_an_instance_here(instances: dict[str, Any]) -> None:
    missing = [name for name in RESULT_CLASSES if name not in instances]
    assert not missing, f"result classes outside the contract test: {missing}"


def _finite_json(value: Any) -> None:
    """to_dict() must be plain JSON once the project's conversion has turned numpy values
    into numbers and nan/inf into null (what every ``--json`` prints)."""
    json.dumps(to_jsonable(value), allow_nan=False)


@pytest.mark.parametrize("name", RESULT_CLASSES)
def test_the_result_keeps_the_contract(instances: dict[str, Any], name: str) -> None:
    result = instances[name]
    data = result.to_dict()
    assert isinstance(data, dict) and data, name
    _finite_json(data)
    text = result.summary()
    assert isinstance(text, str) and text.strip(), name
    assert str(result) == text
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0, name


def test_a_generic_summary_shows_the_dict_figures(instances: dict[str, Any]) -> None:
    result = instances["delever.protocol.base:LiquidationOutcome"]
    text = result.summary()
    for key in ("debt_repaid_usd", "bad_debt_usd", "status"):
        assert key in text
    assert f"{result.debt_repaid_usd:,.6g}" in text


def test_generic_frame_is_one_row_per_figure(instances: dict[str, Any]) -> None:
    result = instances["delever.protocol.morpho.market:LiquidationResult"]
    frame = result.to_frame()
    data = result.to_dict()
    for key, value in data.items():  # every top-level number is one row, with its value
        if isinstance(value, int | float) and not isinstance(value, bool):
            assert frame.loc[key, "value"] == value or (
                isinstance(value, float) and math.isnan(value))

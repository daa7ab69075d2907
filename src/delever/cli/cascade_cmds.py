"""delever CLI commands: ``cascade`` (one shock) and ``stress`` (Monte Carlo).

``delever cascade --price-usd P0 --shock-pct s`` drops the price to ``p1 = P0·(1 − s/100)``
and runs rounds of Aave liquidations, each round's liquidator sales moving the price to
``p1·(1 − Y·σ·sqrt(Q / V))`` (Q: all ETH sold since the shock), until no call succeeds.

``delever stress --paths N --steps M`` runs the book and a large account on GBM paths and
reports P(liquidation) of the large account, liquidations at risk, bad-debt VaR and the
amplification, each with a 95% interval.

``--book`` takes a book CSV or a ``.parquet`` book (``delever book fetch``); without it both
use the scenario's ``[book] file`` where it has one, else the default synthetic book below (an
ESTIMATE).

A ``[loop]`` scenario (``wsteth-loop``) is counted in the engines' ETH frame
(:mod:`delever.scenario.loop`): ``stress`` runs a book of looped borrowers
(:data:`delever.book.LOOP_FITTED_PARAMS`, collateral in units of the asset, debt in WETH,
the e-mode LT and bonus) and the loop position as the large account on the scenario's
exchange-rate paths. Which path triggers liquidations depends on the oracle:

- ``oracle = "market"`` (the counterfactual of an oracle reading the market, as Aave v2's
  stETH/ETH feed did): the cascade runs on the market-value paths with the wstETH/ETH
  market's impact: liquidators sell the seized asset, the discount deepens, more loopers
  fall below HF 1 (a depeg cascade);
- ``oracle = "exchange-rate"`` (Aave v3's CAPO adapter): the trigger is the contract rate,
  which no sale moves; the cascade runs on the contract-rate paths with no impact on the
  trigger price, so the amplification is 1 by construction and only slashing liquidates.

``cascade`` on a loop runs one shock on that book in the same frame: a depeg of the market
value by ``--shock-pct`` (oracle "market", the sales deepening it), or a slash of the contract
rate (oracle "exchange-rate", the sales not moving it: amplification 1). Both commands'
JSON keys are relabelled as the runner does (:func:`delever.scenario.runner.relabel_keys`:
``eth`` -> ``units``, then ``usd`` -> ``eth``) and carry ``"units": {"asset": "wstETH",
"numeraire": "ETH"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from delever._typing import FloatArray2D
from delever.book.actors import (
    CautiousBorrowers,
    Followers,
    ImpactParams,
    LargeAccount,
    Liquidators,
    PanicSellers,
)
from delever.book.book import BorrowerBook
from delever.book.cascade import (
    DEFAULT_ADV_ETH,
    DEFAULT_IMPACT_Y,
    DEFAULT_SIGMA_DAILY,
    ENGINES,
    Engine,
    cascade,
)
from delever.book.loaders import read_book_csv, read_book_parquet
from delever.book.synthetic import LOOP_FITTED_PARAMS, synthetic_book
from delever.cli._bounds import MAX_ETH, MAX_USD, check_lt, check_price_usd
from delever.cli._common import console, emit_json, user_errors
from delever.errors import (
    InvalidArgument,
    check_finite,
    check_non_negative,
    check_positive,
    unknown_name,
)
from delever.market.rate_paths import ExchangeRatePathModel
from delever.protocol import Account, check_whole_units
from delever.scenario import Scenario, load_scenario
from delever.scenario.runner import relabel_keys
from delever.sim.api import engine_frame_of
from delever.sim.limits import STRESS_ARRAYS, check_paths_memory
from delever.sim.stress import PathSource, StressActors, StressResult, stress

# Default book (ESTIMATES, for illustration; give --book for a real one): 2,000 borrowers
# drawn from the distributions fitted to the Aave v3 stablecoin-debt cohort
# (delever.book.synthetic_book, seed 0), 1,000,000 ETH of collateral in all (order of
# magnitude of WETH collateral backing stablecoin debt on Aave v3 Core: an estimate), health
# factors holding at the command's start price.
DEFAULT_BOOK_ACCOUNTS = 2_000
DEFAULT_BOOK_COLLATERAL_ETH = 1_000_000.0
DEFAULT_BOOK_SEED = 0
# trend-2026 implied mark, $754M / 396,000 ETH (press estimate, Odaily 467627): stress P0.
DEFAULT_STRESS_PRICE_USD = 1904.0404040404
# trend-2026 position: 396,000 ETH against $526M (press estimate), one account, LT 0.83.
DEFAULT_WHALE_COLLATERAL_ETH = 396_000.0
DEFAULT_WHALE_DEBT_USD = 526_000_000.0
DEFAULT_WHALE_LT = 0.83
DEFAULT_FOLLOWER_KAPPA = 0.0
DEFAULT_FOLLOWER_LAG = 1
# Default loop book (an ESTIMATE, for a [loop] scenario without [book] total_collateral_eth,
# which a loop counts in units of its asset): wstETH supplied on Aave v3 Ethereum ~869,000
# (supply cap 1.1M at 79% utilization: Gauntlet, '[ARFC] wstETH Supply Cap Increase on
# Ethereum V3', governance.aave.com/t/16591) x the share of Aave v3 wstETH collateral held by
# e-mode accounts in Lido's June 2023 snapshot (165,987 of 299,908 wstETH, steth_aave_v3.csv
# of lidofinance/aave-liquidation-model @ a44561e9: 55%) = ~481,000 wstETH. The snapshot's
# borrowers held about all wstETH supplied then (the 300,000 supply cap was full: Chaos Labs,
# governance.aave.com/t/13735, mid-2023), so 55% reads as a share of the supply; it is two
# years older than the supply figure: an estimate, give [book] total_collateral_eth to replace.
DEFAULT_LOOP_BOOK_UNITS = 480_000.0
LOOP_BOOK_SOURCE = (
    "estimate: ~869,000 wstETH supplied on Aave v3 Ethereum (Gauntlet, governance.aave.com/t/"
    "16591) x 55% held in e-mode (Lido snapshot, June 2023) = ~480,000 wstETH"
)
LOOP_STEP_HOURS = 1.0  # stress steps are hourly


@dataclass(frozen=True)
class Defaults:
    """The values options fall back to: a scenario's, or the built-in ones above."""

    source: str
    price_usd: float
    impact_y: float
    sigma_daily: float
    adv_eth: float
    book_accounts: int = DEFAULT_BOOK_ACCOUNTS
    book_collateral_eth: float = DEFAULT_BOOK_COLLATERAL_ETH
    book_seed: int = DEFAULT_BOOK_SEED
    whale_collateral_eth: float = DEFAULT_WHALE_COLLATERAL_ETH
    whale_debt_usd: float = DEFAULT_WHALE_DEBT_USD
    whale_lt: float = DEFAULT_WHALE_LT
    follower_kappa: float = DEFAULT_FOLLOWER_KAPPA
    follower_lag: int = DEFAULT_FOLLOWER_LAG
    book_file: Path | None = None  # the scenario's [book] file (a Parquet book), if any


BUILTIN_DEFAULTS = Defaults("built-in defaults (trend-2026 estimates)",
                            DEFAULT_STRESS_PRICE_USD, DEFAULT_IMPACT_Y, DEFAULT_SIGMA_DAILY,
                            DEFAULT_ADV_ETH)


def scenario_defaults(name: str | None) -> Defaults:
    """The defaults of a built-in scenario or a scenario TOML file (the built-in ones for None):
    its mark, [market] section, [book] section (book and followers) and its accounts with debt
    as the large account (WETH collateral, debt, the WETH liquidation threshold)."""
    if name is None:
        return BUILTIN_DEFAULTS
    scenario = load_scenario(name)  # unknown name -> one line with close matches
    market = scenario.market_parameters()
    book = scenario.spec.book
    accounts = [a.account for a in scenario.accounts if a.account.has_debt]
    whale: dict[str, Any] = {}
    if accounts:
        whale = {
            "whale_collateral_eth": math.fsum(a.collateral.get("WETH", 0.0) for a in accounts),
            "whale_debt_usd": math.fsum(v for a in accounts for v in a.debt.values()),
        }
        if "WETH" in scenario.reserves:
            whale["whale_lt"] = scenario.reserves["WETH"].liquidation_threshold
    book_values: dict[str, Any] = {}
    if book is not None:
        total = book.total_collateral_eth
        book_values = {
            "book_accounts": book.n_accounts, "book_seed": book.seed,
            **({} if total is None else {"book_collateral_eth": total.value}),
            "follower_kappa": book.followers_kappa.value,
            "follower_lag": book.followers_lag_steps,
            "book_file": scenario.book_file,
        }
    return Defaults(f"scenario {scenario.name}", scenario.mark_price_usd, market.impact_y,
                    market.sigma_daily, market.adv_eth, **book_values, **whale)


def _or(value: T | None, default: T) -> T:
    return default if value is None else value

# The start price is in [MIN_PRICE_USD, MAX_PRICE_USD] and the large account's amounts are at
# most MAX_ETH and MAX_USD (delever.cli._bounds, with their reasons): numpy would print
# RuntimeWarnings before the error, and sums over paths must stay finite.
# The smallest shock: the amplification divides by the first move (P0 − p1), which a shock of
# 1e-300 % rounds to 0; below 1 basis point there is no first move to speak of.
MIN_SHOCK_PCT = 0.01
# The smallest daily volatility of `stress`: far below any traded asset's (ETH's is ~0.04); at 0
# the Monte Carlo draws one flat path and its amplification divides by a zero move (use
# `delever cascade` for one deterministic shock).
MIN_SIGMA_DAILY = 1e-4
# Lags and liquidators' selling steps beyond this many steps (10 years of hourly steps) are not
# a model but a typo; the kernels hold them as 64-bit integers.
MAX_LAG_STEPS = 100_000

T = TypeVar("T", int, float)

ScenarioArg = Annotated[
    str | None,
    typer.Argument(help="A built-in scenario name or a scenario TOML file: its mark, market, "
                   "book and accounts are the defaults of the options (default: built-in "
                   "estimates of trend-2026).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]
BookOpt = Annotated[
    Path | None,
    typer.Option("--book", help="Borrower book: a CSV (delever schema) or a .parquet book "
                 "(delever book fetch); default: the scenario's [book] file, else a synthetic "
                 "book of 2,000 borrowers, 1,000,000 ETH (estimates)."),
]
EngineOpt = Annotated[str, typer.Option("--engine", help="exact or ladder.")]
YOpt = Annotated[
    float | None,
    typer.Option("--impact-y", help=f"Square-root-law Y (default: the scenario's, else "
                 f"{DEFAULT_IMPACT_Y:g}, estimate).", show_default=False),
]
SigmaOpt = Annotated[
    float | None,
    typer.Option("--sigma-daily", help="Daily volatility of ETH, fraction (default: the "
                 f"scenario's, else {DEFAULT_SIGMA_DAILY:.4f}, estimate).", show_default=False),
]
AdvOpt = Annotated[
    float | None,
    typer.Option("--adv-eth", help="Average daily volume V in ETH (default: the scenario's, "
                 f"else {DEFAULT_ADV_ETH:,.0f}, estimate).", show_default=False),
]


def _engine(engine: str) -> Engine:
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    return "exact" if engine == "exact" else "ladder"


def _book(path: Path | None, price_usd: float, defaults: Defaults) -> BorrowerBook:
    path = path if path is not None else defaults.book_file
    if path is not None and path.suffix.lower() == ".parquet":
        return read_book_parquet(path, reference_price_usd=price_usd)
    if path is not None:
        return read_book_csv(path, reference_price_usd=price_usd)
    return synthetic_book(defaults.book_accounts, defaults.book_collateral_eth, price_usd,
                          seed=defaults.book_seed)


def _price(price_usd: float) -> float:
    return check_price_usd("price_usd", price_usd)


def _bounded(field: str, value: float, maximum: float) -> float:
    """An amount (ETH or USD) up to ``maximum``: sums over paths stay finite."""
    if math.isfinite(value) and abs(value) > maximum:
        raise check_error(field, value, f"must be at most {maximum:.0e}.")
    return value


def _steps(field: str, value: int) -> int:
    """A lag or a number of steps up to MAX_LAG_STEPS (the kernels hold int64)."""
    if value > MAX_LAG_STEPS:
        raise check_error(field, value, f"must be at most {MAX_LAG_STEPS:,} steps (10 years "
                          "of hourly steps).")
    return value


def _impact(
    impact_y: float | None, sigma_daily: float | None, adv_eth: float | None, defaults: Defaults
) -> ImpactParams:
    return ImpactParams(
        check_non_negative("impact_y", _or(impact_y, defaults.impact_y)),
        check_non_negative("sigma_daily", _or(sigma_daily, defaults.sigma_daily)),
        check_positive("adv_eth", _or(adv_eth, defaults.adv_eth),
                       "Give the average daily volume in ETH."),
    )


def cascade_cmd(
    shock_pct: Annotated[
        float, typer.Option("--shock-pct", help="Immediate drop in percent, in [0.01, 100).")
    ],
    scenario: ScenarioArg = None,
    price_usd: Annotated[
        float | None,
        typer.Option("--price-usd", help="Start price P0, USD (default: the scenario's mark; "
                     "required without a scenario).", show_default=False),
    ] = None,
    book: BookOpt = None,
    engine: EngineOpt = "exact",
    impact_y: YOpt = None,
    sigma_daily: SigmaOpt = None,
    adv_eth: AdvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The liquidation cascade after one price shock."""
    with user_errors():
        if price_usd is None and scenario is None:
            raise InvalidArgument("--price-usd is missing; give the start price in USD or a "
                                  "SCENARIO, e.g. delever cascade trend-2026 --shock-pct 15.")
        defaults = scenario_defaults(scenario)
        p0 = _price(_or(price_usd, defaults.price_usd))
        shock = check_finite("shock_pct", shock_pct)
        if not MIN_SHOCK_PCT <= shock < 100.0:
            raise check_error("shock_pct", shock_pct,
                              f"must be in [{MIN_SHOCK_PCT:g}, 100): a cascade needs a first "
                              "move (the amplification divides by it); e.g. 15 for -15%.")
        chosen = _engine(engine)
        loop = _loop_scenario(scenario)
        if loop is not None:
            _refuse_frame_options(loop, {"--price-usd": price_usd, "--book": book,
                                         "--sigma-daily": sigma_daily})
            _cascade_loop(loop, shock / 100.0, chosen, (impact_y, adv_eth), json_output)
            return
        params = _impact(impact_y, sigma_daily, adv_eth, defaults)
        the_book = _book(book, p0, defaults)
        result = cascade(the_book, price_usd=p0, shock_frac=shock / 100.0, engine=chosen,
                         impact=params)
        if json_output:
            payload: dict[str, Any] = {
                "final_price_usd": result.final_price_usd,
                "rounds": result.rounds,
                "collateral_liquidated_eth": result.collateral_liquidated_eth,
                "collateral_sold_eth": result.collateral_sold_eth,
                "debt_repaid_usd": result.debt_repaid_usd,
                "bad_debt_usd": result.bad_debt_usd,
                "accounts_liquidated": result.accounts_liquidated,
                "amplification": result.amplification,
                "start_price_usd": result.start_price_usd,
                "shock_price_usd": result.shock_price_usd,
                "liquidation_calls": result.liquidation_calls,
                "protocol_fee_eth": result.protocol_fee_eth,
                "engine": result.engine,
                "defaults": defaults.source,
                "book": {
                    "source": _book_source(book, defaults),
                    "accounts": len(the_book),
                    "collateral_eth": the_book.total_collateral_eth,
                    "debt_usd": the_book.total_debt_usd,
                },
                "impact": {"impact_y": params.impact_y, "sigma_daily": params.sigma_daily,
                           "adv_eth": params.adv_eth},
            }
            emit_json(payload)
            return
        console.print(result.summary(), markup=False, highlight=False)


def _cascade_loop(scenario: Scenario, shock_frac: float, engine: Engine,
                  market: tuple[float | None, float | None], json_output: bool) -> None:
    """One shock on a loop book: a depeg of the market value (oracle "market") or a slash
    of the contract rate (oracle "exchange-rate", where sales do not move the trigger)."""
    run = loop_stress_inputs(scenario, 1, impact_y=market[0], adv_eth=market[1])
    result = cascade(run.book, price_usd=run.start_price, shock_frac=shock_frac, engine=engine,
                     impact=run.trigger_impact, protocol_fee=run.protocol_fee)
    kind = ("depeg of the market value" if run.oracle == "market"
            else "slash of the contract rate")
    if json_output:
        payload = relabel_keys(result.to_dict())
        payload.update({"shock": kind, "oracle": run.oracle,
                        "oracle_note": loop_oracle_note(run.oracle, run.asset).replace("\n", " "),
                        "units": {"asset": run.asset, "numeraire": "ETH"},
                        "book": {"source": run.book_source, "accounts": len(run.book),
                                 "collateral_units": run.book.total_collateral_eth,
                                 "debt_eth": run.book.total_debt_usd},
                        "defaults": f"scenario {scenario.name}"})
        emit_json(payload)
        return
    a = run.asset
    note = loop_oracle_note(run.oracle, a).replace("\n", "\n  ")
    console.print(
        f"Cascade ({result.engine} engine), {kind} of {shock_frac:.2%}, {len(run.book):,} "
        f"loops:\n  {result.start_price_usd:.6f} -> shock {result.shock_price_usd:.6f} -> "
        f"final {result.final_price_usd:.6f} ETH per {a}\n"
        f"  after {result.rounds} round(s); amplification {result.amplification:.4f}\n"
        f"  {result.accounts_liquidated:,} accounts liquidated ({result.liquidation_calls:,} "
        f"calls), {result.collateral_liquidated_eth:,.2f} {a} seized,\n"
        f"  {result.collateral_sold_eth:,.2f} {a} sold; debt repaid "
        f"{result.debt_repaid_usd:,.2f} ETH, bad debt {result.bad_debt_usd:,.2f} ETH\n"
        f"  {note}", markup=False, highlight=False)


def _book_source(path: Path | None, defaults: Defaults) -> str:
    """Where the command's book came from, for its JSON output."""
    if path is not None:
        return str(path)
    if defaults.book_file is not None:
        return f"{defaults.book_file} ([book] file of the {defaults.source})"
    return "synthetic (estimate)"


def check_error(field: str, value: float, rule: str) -> InvalidArgument:
    """One-line bad-input error (exit 2 under :func:`user_errors`)."""
    return InvalidArgument(f"{field}={value!r} {rule}")


@dataclass(frozen=True)
class LoopStress:
    """A ``[loop]`` scenario's stress inputs in the engines' ETH frame (units of ``asset``
    where the engines say ETH, ETH where they say USD)."""

    asset: str
    oracle: str
    start_price: float  # ETH per unit on the trigger path: the market value or the rate
    book: BorrowerBook
    book_source: str
    large_account: LargeAccount
    market: ImpactParams  # the asset/ETH market the liquidators sell into
    trigger_impact: ImpactParams  # what moves the trigger price: zero under the rate oracle
    protocol_fee: float
    paths: PathSource


def _loop_scenario(name: str | None) -> Scenario | None:
    """The scenario when it is a ``[loop]``, else None (None for no scenario)."""
    if name is None:
        return None
    scenario = load_scenario(name)
    return scenario if scenario.is_loop else None


def _loop_book(scenario: Scenario, p0: float, lt: float, bonus: float
               ) -> tuple[BorrowerBook, str]:
    """The loop book: the scenario's [book] (units), else the default size (an estimate)."""
    spec = scenario.spec.book
    if spec is not None and spec.file is not None:
        raise InvalidArgument(f"scenario {scenario.name!r}: [book] file is an ETH/USD book; a "
                              "[loop] scenario draws its book of loops (give "
                              "total_collateral_eth, in units of the asset, instead).")
    n, seed = (DEFAULT_BOOK_ACCOUNTS, DEFAULT_BOOK_SEED) if spec is None else (
        spec.n_accounts, spec.seed)
    total, source = DEFAULT_LOOP_BOOK_UNITS, LOOP_BOOK_SOURCE
    if spec is not None and spec.total_collateral_eth is not None:
        total = float(spec.total_collateral_eth.value)
        source = f"[book] total_collateral_eth of scenario {scenario.name} (units)"
    book = synthetic_book(n, total, p0, seed=seed, params=LOOP_FITTED_PARAMS,
                          liquidation_threshold=lt, liquidation_bonus=bonus)
    return book, f"synthetic loops (LOOP_FITTED_PARAMS), {source}"


def loop_stress_inputs(scenario: Scenario, n_steps: int, *, impact_y: float | None = None,
                       adv_eth: float | None = None,
                       sell_units_per_step: float = 0.0) -> LoopStress:
    """The stress inputs of a ``[loop]`` scenario (see the module docstring).

    ``impact_y`` / ``adv_eth`` replace the scenario's asset/ETH market figures (``adv_eth``
    in units of the asset per day); ``sell_units_per_step`` is the loop position's own sale.
    """
    view = scenario.for_engines()
    frame = engine_frame_of(view)
    if frame is None or not isinstance(frame.path_model, ExchangeRatePathModel):
        raise InvalidArgument(f"scenario {scenario.name!r} has no exchange-rate path model.")
    model = frame.path_model
    risk = frame.risk
    market = view.market_parameters()
    impact = ImpactParams(check_non_negative("impact_y", _or(impact_y, market.impact_y)),
                          market.sigma_daily,
                          check_positive("adv_eth", _or(adv_eth, market.adv_eth),
                                         "Give the asset's daily volume in units."))
    debts = [a.account for a in view.accounts if a.account.has_debt]
    whale = LargeAccount(math.fsum(a.collateral.get(frame.asset, 0.0) for a in debts),
                         math.fsum(a.debt.get("WETH", 0.0) for a in debts),
                         liquidation_threshold=risk.liquidation_threshold,
                         liquidation_bonus=risk.liquidation_bonus,
                         sell_eth_per_step=check_non_negative("whale_sell_eth_per_step",
                                                              sell_units_per_step))
    market_oracle = model.oracle == "market"
    p0 = model.s0 if market_oracle else model.r0
    book, source = _loop_book(scenario, p0, risk.liquidation_threshold, risk.liquidation_bonus)

    def paths(m: int, seed: np.random.SeedSequence) -> FloatArray2D:
        value, oracle = model.draw(m, n_steps, LOOP_STEP_HOURS, seed)
        return value if oracle is None else oracle

    trigger = impact if market_oracle else ImpactParams(0.0, impact.sigma_daily, impact.adv_eth)
    return LoopStress(frame.asset, model.oracle, p0, book, source, whale, impact, trigger,
                      risk.protocol_fee, paths)


def loop_oracle_note(oracle: str, asset: str) -> str:
    """Two lines on what triggers the loops' liquidations under ``oracle``."""
    if oracle == "market":
        return (f"oracle: market (counterfactual): liquidations follow the {asset}/ETH market\n"
                f"value; liquidators' sales of {asset} deepen the discount (a depeg cascade)")
    return ("oracle: exchange-rate (Aave's CAPO): liquidations follow the contract rate,\n"
            "which no sale moves: amplification 1 by construction; only slashing liquidates")


def _loop_payload(result: StressResult, run: LoopStress, scenario: Scenario) -> dict[str, Any]:
    w = run.large_account
    payload = relabel_keys(result.to_dict())
    payload.update({
        "oracle": run.oracle,
        "oracle_note": loop_oracle_note(run.oracle, run.asset).replace("\n", " "),
        "start_price_eth_per_unit": run.start_price,
        "large_account": {"collateral_units": w.collateral_eth, "debt_eth": w.debt_usd,
                          "liquidation_threshold": w.liquidation_threshold,
                          "liquidation_bonus": w.liquidation_bonus,
                          "liquidation_price_eth_per_unit": w.liquidation_price_usd()},
        "book": {"source": run.book_source, "accounts": len(run.book),
                 "collateral_units": run.book.total_collateral_eth,
                 "debt_eth": run.book.total_debt_usd},
        "impact": {"impact_y": run.market.impact_y, "sigma_daily": run.market.sigma_daily,
                   "adv_units": run.market.adv_eth,
                   "on_trigger_price": run.trigger_impact.impact_y > 0.0},
        "defaults": f"scenario {scenario.name}",
    })
    return cast(dict[str, Any], payload)


StressPathsOpt = Annotated[int, typer.Option("--paths", help="Number of price paths.")]
StressStepsOpt = Annotated[int, typer.Option("--steps", help="Hourly steps per path.")]
StressSeedOpt = Annotated[int, typer.Option("--seed", help="Random seed.")]
StressPriceOpt = Annotated[
    float | None,
    typer.Option("--price-usd", help="Start price P0 (default: the scenario's mark, else "
                 f"${DEFAULT_STRESS_PRICE_USD:,.2f}, the trend-2026 mark, estimate).",
                 show_default=False),
]
WhaleCollateralOpt = Annotated[
    float | None,
    typer.Option("--whale-collateral-eth", help="Large account's ETH (default: the "
                 "scenario's accounts, else 396,000, estimate).", show_default=False),
]
WhaleDebtOpt = Annotated[
    float | None,
    typer.Option("--whale-debt-usd", help="Large account's debt, USD (default: the "
                 "scenario's accounts, else $526M, estimate).", show_default=False),
]
WhaleLtOpt = Annotated[
    float | None,
    typer.Option("--whale-lt", help="Large account's LT (default: WETH's, 0.83).",
                 show_default=False),
]
WhaleSellOpt = Annotated[
    float, typer.Option("--whale-sell-eth-per-step", help="Large account's sale per step.")
]
LiquidatorImmediateOpt = Annotated[
    float, typer.Option("--liquidator-immediate", help="Share liquidators sell at once.")
]
LiquidatorLaterOpt = Annotated[
    int, typer.Option("--liquidator-later-steps", help="Steps to sell the rest over.")
]
FollowerKappaOpt = Annotated[
    float | None,
    typer.Option("--follower-kappa", help="Followers sell kappa x the whale's sales "
                 "(default: the scenario's [book], else 0).", show_default=False),
]
FollowerLagOpt = Annotated[
    int | None,
    typer.Option("--follower-lag", help="Lag, steps (default: the scenario's, else 1).",
                 show_default=False),
]
PanicDrawdownOpt = Annotated[
    float, typer.Option("--panic-drawdown", help="Drawdown fraction that triggers panic.")
]
PanicSellOpt = Annotated[
    float, typer.Option("--panic-sell-eth", help="ETH panic sellers sell once.")
]
CautiousShareOpt = Annotated[
    float, typer.Option("--cautious-share", help="Share of borrowers who act at an alert.")
]


def stress_cmd(
    scenario: ScenarioArg = None,
    paths: StressPathsOpt = 1_000,
    steps: StressStepsOpt = 720,
    engine: EngineOpt = "ladder",
    seed: StressSeedOpt = 0,
    book: BookOpt = None,
    price_usd: StressPriceOpt = None,
    whale_collateral_eth: WhaleCollateralOpt = None,
    whale_debt_usd: WhaleDebtOpt = None,
    whale_lt: WhaleLtOpt = None,
    whale_sell_eth_per_step: WhaleSellOpt = 0.0,
    liquidator_immediate: LiquidatorImmediateOpt = 1.0,
    liquidator_later_steps: LiquidatorLaterOpt = 0,
    follower_kappa: FollowerKappaOpt = None,
    follower_lag: FollowerLagOpt = None,
    panic_drawdown: PanicDrawdownOpt = 0.2,
    panic_sell_eth: PanicSellOpt = 0.0,
    cautious_share: CautiousShareOpt = 0.0,
    impact_y: YOpt = None,
    sigma_daily: SigmaOpt = None,
    adv_eth: AdvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Monte Carlo stress: P(liquidation) of a large account, liquidations at risk, VaR."""
    with user_errors():
        chosen = _engine(engine)
        check_paths_memory(paths, steps, STRESS_ARRAYS)
        defaults = scenario_defaults(scenario)
        actors: dict[str, Any] = {
            "liquidators": Liquidators(liquidator_immediate,
                                       _steps("liquidator_later_steps", liquidator_later_steps)),
            "followers": Followers(_or(follower_kappa, defaults.follower_kappa),
                                   _steps("follower_lag",
                                          _or(follower_lag, defaults.follower_lag))),
            "panic": PanicSellers(panic_drawdown, panic_sell_eth),
            "cautious": CautiousBorrowers(cautious_share),
        }
        loop = _loop_scenario(scenario)
        if loop is not None:
            _refuse_frame_options(loop, {"--book": book, "--price-usd": price_usd,
                                         "--whale-collateral-eth": whale_collateral_eth,
                                         "--whale-debt-usd": whale_debt_usd,
                                         "--whale-lt": whale_lt, "--sigma-daily": sigma_daily})
            run = loop_stress_inputs(loop, steps, impact_y=impact_y, adv_eth=adv_eth,
                                     sell_units_per_step=whale_sell_eth_per_step)
            result = _stress_with_bar(
                json_output, run.book, n_paths=paths, n_steps=steps, engine=chosen, seed=seed,
                price_usd=run.start_price, paths=run.paths, units=(run.asset, "ETH"),
                actors=StressActors(impact=run.trigger_impact, large_account=run.large_account,
                                    protocol_fee=run.protocol_fee, **actors))
            if json_output:
                emit_json(_loop_payload(result, run, loop))
                return
            note = loop_oracle_note(run.oracle, run.asset).replace("\n", "\n  ")
            console.print(f"{result.summary()}\n  {note}", markup=False, highlight=False)
            return
        p0 = _price(_or(price_usd, defaults.price_usd))
        params = _impact(impact_y, sigma_daily, adv_eth, defaults)
        if params.sigma_daily < MIN_SIGMA_DAILY:
            raise check_error("sigma_daily", params.sigma_daily,
                              f"must be at least {MIN_SIGMA_DAILY:g} for stress: its paths "
                              "need a volatility; for one deterministic shock use "
                              "`delever cascade`.")
        whale = _large_account(whale_collateral_eth, whale_debt_usd, whale_lt,
                               whale_sell_eth_per_step, defaults)
        result = _stress_with_bar(
            json_output, _book(book, p0, defaults), n_paths=paths, n_steps=steps,
            engine=chosen, seed=seed, price_usd=p0,
            sigma_per_step=params.sigma_daily / math.sqrt(24.0),
            actors=StressActors(impact=params, large_account=whale, **actors))
        if json_output:
            emit_json(_stress_payload(result, whale, p0, defaults))
            return
        console.print(result.summary(), markup=False, highlight=False)


def _stress_with_bar(json_output: bool, book: BorrowerBook, **options: Any) -> StressResult:
    """:func:`stress` with a progress bar on the terminal (none with --json)."""
    bar = Progress(TextColumn("stress"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                   console=console, disable=json_output, transient=True)
    n_paths = options["n_paths"]
    with bar:
        task = bar.add_task("paths", total=n_paths if n_paths > 0 else 1)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return stress(book, progress=advance, **options)


def _refuse_frame_options(scenario: Scenario, given: dict[str, object]) -> None:
    """Options that speak ETH/USD have no meaning for a loop counted in ETH: one line."""
    named = [name for name, value in given.items() if value is not None]
    if named:
        raise InvalidArgument(
            f"{', '.join(named)} cannot be used with the [loop] scenario {scenario.name!r}: it "
            "is counted in ETH per unit of its asset (its book, position, paths and "
            "volatility come from the scenario); edit the scenario file instead.")


def _large_account(collateral_eth: float | None, debt_usd: float | None, lt: float | None,
                   sell_eth_per_step: float, defaults: Defaults) -> LargeAccount:
    """The large account of ``stress``: the options, else the scenario's (checked)."""
    whale = LargeAccount(_bounded("whale_collateral_eth",
                                  _or(collateral_eth, defaults.whale_collateral_eth), MAX_ETH),
                         _bounded("whale_debt_usd", _or(debt_usd, defaults.whale_debt_usd),
                                  MAX_USD),
                         liquidation_threshold=check_lt("whale_lt", _or(lt, defaults.whale_lt)),
                         sell_eth_per_step=sell_eth_per_step)
    check_whole_units(Account(collateral={"WETH": whale.collateral_eth}, debt={}),
                      labels={"collateral.WETH": "whale_collateral_eth"})
    return whale


def _stress_payload(result: StressResult, whale: LargeAccount, p0: float,
                    defaults: Defaults) -> dict[str, Any]:
    payload = result.to_dict()
    payload["large_account"] = {
        "collateral_eth": whale.collateral_eth, "debt_usd": whale.debt_usd,
        "liquidation_threshold": whale.liquidation_threshold,
        "liquidation_price_usd": whale.liquidation_price_usd(),
    }
    payload["price_usd"] = p0
    payload["defaults"] = defaults.source
    return payload


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("cascade")(cascade_cmd)
    app.command("stress")(stress_cmd)


__all__ = ["register"]

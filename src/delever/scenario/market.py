"""The unwind engine's market for a scenario: its impact model, the book, the followers.

``[market] model`` picks the impact model (``sqrt`` default, ``linear``, ``ow``,
``propagator``) and its parameters; :func:`impact_model` builds it and :func:`kernel_law`
gives the :class:`~delever.kernels.records.ImpactLaw` the engines walk at a step, thinned by
the fitted state-dependent liquidity where ``[market] state_liquidity = true``.
"""

from __future__ import annotations

from delever.book import build_ladder
from delever.book.cascade import DEFAULT_PROTOCOL_FEE
from delever.book.synthetic import DEFAULT_LIQUIDATION_BONUS, DEFAULT_LIQUIDATION_THRESHOLD
from delever.kernels.records import ImpactLaw
from delever.market.impact import SquareRootImpact
from delever.market.liquidity import FITTED_LIQUIDITY, StateLiquidity
from delever.market.models import (
    DEFAULT_PERMANENT_FRAC,
    DEFAULT_TRANSIENT_HALF_LIFE_HOURS,
    SCENARIO_MODELS,
    SECONDS_PER_HOUR,
    LawModel,
    MarketInputs,
)
from delever.protocol.base import RiskParams
from delever.scenario.build import Scenario
from delever.sim.unwind import BookSales, UnwindMarket


def impact_model(scenario: Scenario) -> LawModel:
    """The scenario's ``[market]`` impact model (``sqrt`` when the section names none), built
    by its entry in :data:`delever.market.models.SCENARIO_MODELS` from the market's sigma,
    ADV and Y and the keys the file gives (defaults there: ``sqrt`` keeps 2/3 permanent with
    a 6-hour half-life, the market the engines use by default)."""
    spec = scenario.spec.market
    params = scenario.market_parameters()
    market = MarketInputs(params.sigma_daily, params.adv_eth, params.impact_y)
    name = "sqrt" if spec is None else spec.model
    entry = SCENARIO_MODELS[name]
    values: dict[str, float] = {}
    for key in entry.keys:
        item = None if spec is None else getattr(spec, key)
        if item is not None:
            values[key] = float(item.value)
    return entry.build(market, values)


def state_liquidity(scenario: Scenario) -> StateLiquidity | None:
    """The fitted thinning where ``[market] state_liquidity = true``, else None."""
    spec = scenario.spec.market
    return FITTED_LIQUIDITY if spec is not None and spec.state_liquidity else None


def kernel_law(scenario: Scenario, step_s: float) -> ImpactLaw:
    """The ``ImpactLaw`` the engines walk for the scenario at a step of ``step_s`` seconds.

    ``impact_model(scenario).kernel_law(step_s)``, thinned by :func:`state_liquidity` when
    the scenario turns it on (depth fixed otherwise).
    """
    law = impact_model(scenario).kernel_law(step_s)
    liquidity = state_liquidity(scenario)
    return law if liquidity is None else liquidity.apply(law)


def engine_law(scenario: Scenario, step_s: float) -> ImpactLaw | None:
    """:func:`kernel_law`, or None where the scenario keeps the engines' default market (the
    square-root law with its default permanent share and half-life, fixed depth): the
    engines then build that law themselves, so a default scenario's numbers stay bit for bit."""
    spec = scenario.spec.market
    default = spec is None or (
        spec.model == "sqrt" and not spec.state_liquidity and spec.permanent_frac is None
        and spec.transient_half_life_hours is None)
    return None if default else kernel_law(scenario, step_s)


def scenario_book_sales(scenario: Scenario) -> BookSales:
    """The liquidation rungs of the scenario's book (empty with no ``[book]``): the
    ``[book] file`` where given, else the synthetic book.

    The book is drawn at the scenario's mark, as in
    :func:`delever.scenario.replay.amplification_report`:
    ``synthetic_book(n_accounts, total_collateral_eth, mark_price_usd, seed=seed)``, then
    :func:`delever.book.build_ladder` and :meth:`BookSales.from_ladder`.
    """
    risk = book_risk(scenario)
    book = scenario.borrower_book(scenario.mark_price_usd, risk)
    if book is None:
        return BookSales.empty()
    return BookSales.from_ladder(build_ladder(book, rules=scenario.protocol.kernel_rules(),
                                              protocol_fee=risk.protocol_fee))


def book_risk(scenario: Scenario) -> RiskParams:
    """The synthetic book's LT, bonus and fee: the market's where the protocol fixes them per
    market (Morpho Blue: LLTV, LIF - 1, no fee: every borrower is in the scenario's market),
    else the book's Aave WETH defaults."""
    risk = scenario.protocol.market_risk()
    if risk is not None:
        return risk
    return RiskParams(DEFAULT_LIQUIDATION_THRESHOLD, DEFAULT_LIQUIDATION_BONUS,
                      DEFAULT_PROTOCOL_FEE, DEFAULT_LIQUIDATION_THRESHOLD)


def scenario_market(
    scenario: Scenario, *, book: bool = True, followers: bool = True, step_hours: float = 1.0
) -> UnwindMarket:
    """The market :func:`delever.sim.api.build_inputs` uses, plus the scenario's other actors.

    Parameters
    ----------
    scenario : Scenario
        Its market parameters (sigma, ADV, Y) and its ``[book]`` section, if any.
    book : bool
        Include the other borrowers' liquidations (the synthetic book drawn at the mark).
    followers : bool
        Include the followers (``followers_kappa``, ``followers_lag_steps`` of ``[book]``).
    step_hours : float
        The engine's step, for a law whose transient part or thinning depends on it.

    Returns
    -------
    UnwindMarket
        ``SquareRootImpact(sigma_daily, adv_eth, impact_y, permanent_frac)`` with the
        transient half-life of :func:`impact_model` (defaults 2/3 and 6 hours); ``book``
        empty and ``followers_kappa = 0`` where the scenario has no ``[book]`` section or
        the flag is off. Another ``[market] model``, or state-dependent liquidity, reaches
        the engine as ``law`` (:func:`engine_law` at ``step_hours``, the engine's step).

    Notes
    -----
    The book's size and the followers' kappa are ESTIMATES of the scenario file (see its
    sources); building the ladder of 2,000 accounts takes milliseconds, so nothing is cached.
    """
    params = scenario.market_parameters()
    spec = scenario.spec.book
    sales = scenario_book_sales(scenario) if book else BookSales.empty()
    kappa = float(spec.followers_kappa.value) if (followers and spec is not None) else 0.0
    lag = int(spec.followers_lag_steps) if (followers and spec is not None) else 1
    model = impact_model(scenario)
    if isinstance(model, SquareRootImpact):
        impact = SquareRootImpact(model.sigma_daily, model.adv_eth, model.impact_y,
                                  model.permanent_frac)
        half_life_hours = model.transient_half_life_s / SECONDS_PER_HOUR
    else:  # the market as the strategies see it; the engine walks the model's law
        impact = SquareRootImpact(params.sigma_daily, params.adv_eth, params.impact_y,
                                  DEFAULT_PERMANENT_FRAC)
        half_life_hours = DEFAULT_TRANSIENT_HALF_LIFE_HOURS
    return UnwindMarket(
        impact,
        half_life_hours,
        book=sales,
        followers_kappa=kappa,
        followers_lag_steps=lag,
        law=engine_law(scenario, SECONDS_PER_HOUR * step_hours),
    )


__all__ = ["book_risk", "engine_law", "impact_model", "kernel_law", "scenario_book_sales",
           "scenario_market", "state_liquidity"]

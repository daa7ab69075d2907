"""The unwind engine's market for a scenario: its impact model, the book, the followers.

``[market] model`` picks the impact model (``sqrt`` default, ``linear``, ``ow``,
``propagator``) and its parameters; :func:`impact_model` builds it and :func:`kernel_law`
gives the :class:`~delever.kernels.records.ImpactLaw` the engines walk at a step, thinned by
the fitted state-dependent liquidity where ``[market] state_liquidity = true``.
"""

from __future__ import annotations

from delever.book import build_ladder, synthetic_book
from delever.errors import InvalidArgument
from delever.kernels.records import ImpactLaw
from delever.market.impact import SquareRootImpact
from delever.market.liquidity import FITTED_LIQUIDITY, StateLiquidity
from delever.market.models import LawModel
from delever.market.models import impact_model as build_impact_model
from delever.scenario.build import Scenario
from delever.scenario.schema import Sourced
from delever.sim.api import DEFAULT_PERMANENT_FRAC, DEFAULT_TRANSIENT_HALF_LIFE_HOURS
from delever.sim.unwind import BookSales, UnwindMarket

SECONDS_PER_HOUR = 3600.0
PROPAGATOR_DECAY_TIME_HOURS = 1.0  # t0, illustrative
PROPAGATOR_DECAY_EXPONENT = 0.3  # beta: Bouchaud et al. 2004 find about 0.2-0.4 on stocks
OW_HALF_LIFE_HOURS = 6.0  # illustrative, as the square-root law's default transient part


def _value(item: Sourced | None, default: float) -> float:
    return default if item is None else float(item.value)


def impact_model(scenario: Scenario) -> LawModel:
    """The scenario's ``[market]`` impact model (``sqrt`` when the section names none).

    ``sqrt``: ``SquareRootImpact(sigma_daily, adv_eth, impact_y, permanent_frac=2/3,
    transient_half_life_s=6 h)``, the market the engines use today. ``linear`` and ``ow``:
    ``impact_per_adv`` and the scenario's ADV. ``propagator``: the square-root law's
    ``sigma, V, Y`` with ``decay_time_hours`` (default 1) and ``decay_exponent`` (0.3).
    """
    spec = scenario.spec.market
    params = scenario.market_parameters()
    name = "sqrt" if spec is None else spec.model
    if spec is None:
        return SquareRootImpact(params.sigma_daily, params.adv_eth, params.impact_y,
                                DEFAULT_PERMANENT_FRAC,
                                SECONDS_PER_HOUR * DEFAULT_TRANSIENT_HALF_LIFE_HOURS)
    if name == "sqrt":
        return SquareRootImpact(
            params.sigma_daily, params.adv_eth, params.impact_y,
            _value(spec.permanent_frac, DEFAULT_PERMANENT_FRAC),
            SECONDS_PER_HOUR * _value(spec.transient_half_life_hours,
                                      DEFAULT_TRANSIENT_HALF_LIFE_HOURS))
    if name in ("linear", "ow"):
        assert spec.impact_per_adv is not None  # the schema requires it
        perm_default, half_life_default = (1.0, 0.0) if name == "linear" else (
            0.0, OW_HALF_LIFE_HOURS)
        return build_impact_model(
            name, impact_per_adv=spec.impact_per_adv.value, adv_eth=params.adv_eth,
            permanent_frac=_value(spec.permanent_frac, perm_default),
            transient_half_life_s=SECONDS_PER_HOUR * _value(spec.transient_half_life_hours,
                                                            half_life_default))
    return build_impact_model(
        "propagator", sigma_daily=params.sigma_daily, adv_eth=params.adv_eth,
        impact_y=params.impact_y, permanent_frac=_value(spec.permanent_frac, 0.0),
        decay_time_s=SECONDS_PER_HOUR * _value(spec.decay_time_hours,
                                               PROPAGATOR_DECAY_TIME_HOURS),
        decay_exponent=_value(spec.decay_exponent, PROPAGATOR_DECAY_EXPONENT))


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


def scenario_book_sales(scenario: Scenario) -> BookSales:
    """The liquidation rungs of the scenario's synthetic book (empty with no ``[book]``).

    The book is drawn at the scenario's mark, as in
    :func:`delever.scenario.replay.amplification_report`:
    ``synthetic_book(n_accounts, total_collateral_eth, mark_price_usd, seed=seed)``, then
    :func:`delever.book.build_ladder` and :meth:`BookSales.from_ladder`.
    """
    spec = scenario.spec.book
    if spec is None:
        return BookSales.empty()
    book = synthetic_book(spec.n_accounts, spec.total_collateral_eth.value,
                          scenario.mark_price_usd, seed=spec.seed)
    return BookSales.from_ladder(build_ladder(book))


def scenario_market(
    scenario: Scenario, *, book: bool = True, followers: bool = True
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

    Returns
    -------
    UnwindMarket
        ``SquareRootImpact(sigma_daily, adv_eth, impact_y, permanent_frac)`` with the
        transient half-life of :func:`impact_model` (defaults 2/3 and 6 hours); ``book``
        empty and ``followers_kappa = 0`` where the scenario has no ``[book]`` section or
        the flag is off. Other models, and state-dependent liquidity, raise until the engine
        takes an ``ImpactLaw`` (:func:`kernel_law`).

    Notes
    -----
    The book's size and the followers' kappa are ESTIMATES of the scenario file (see its
    sources); building the ladder of 2,000 accounts takes milliseconds, so nothing is cached.
    """
    model = impact_model(scenario)
    if not isinstance(model, SquareRootImpact) or state_liquidity(scenario) is not None:
        raise InvalidArgument(
            f"[market] model = {model.name!r}"
            f"{' with state_liquidity' if state_liquidity(scenario) is not None else ''}: the "
            "unwind engine walks only the fixed-depth square-root law until it takes an "
            "ImpactLaw (delever.scenario.market.kernel_law gives it); use model = 'sqrt'.")
    spec = scenario.spec.book
    sales = scenario_book_sales(scenario) if book else BookSales.empty()
    kappa = float(spec.followers_kappa.value) if (followers and spec is not None) else 0.0
    lag = int(spec.followers_lag_steps) if (followers and spec is not None) else 1
    return UnwindMarket(
        SquareRootImpact(model.sigma_daily, model.adv_eth, model.impact_y,
                         model.permanent_frac),
        model.transient_half_life_s / SECONDS_PER_HOUR,
        book=sales,
        followers_kappa=kappa,
        followers_lag_steps=lag,
    )


__all__ = ["impact_model", "kernel_law", "scenario_book_sales", "scenario_market",
           "state_liquidity"]

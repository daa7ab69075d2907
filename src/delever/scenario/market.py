"""The unwind engine's market for a scenario: square-root impact, the book, the followers."""

from __future__ import annotations

from delever.book import build_ladder, synthetic_book
from delever.market.impact import SquareRootImpact
from delever.scenario.build import Scenario
from delever.sim.api import DEFAULT_PERMANENT_FRAC, DEFAULT_TRANSIENT_HALF_LIFE_HOURS
from delever.sim.unwind import BookSales, UnwindMarket


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
        ``SquareRootImpact(sigma_daily, adv_eth, impact_y, DEFAULT_PERMANENT_FRAC)`` with the
        default transient half-life; ``book`` empty and ``followers_kappa = 0`` where the
        scenario has no ``[book]`` section or the flag is off.

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
    return UnwindMarket(
        SquareRootImpact(params.sigma_daily, params.adv_eth, params.impact_y,
                         DEFAULT_PERMANENT_FRAC),
        DEFAULT_TRANSIENT_HALF_LIFE_HOURS,
        book=sales,
        followers_kappa=kappa,
        followers_lag_steps=lag,
    )


__all__ = ["scenario_book_sales", "scenario_market"]

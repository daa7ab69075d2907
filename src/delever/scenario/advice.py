"""The plan and the advice for a scenario: its position, its reserves, its market with the book
and the followers (:func:`delever.scenario.market.scenario_market`).

``delever.plan(scenario)`` and ``delever.advise(scenario)`` for notebooks; the ``plan`` and
``advise`` commands and ``delever run`` call them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from delever.scenario.build import Scenario
from delever.scenario.market import scenario_market
from delever.sim.advise import Advice, AdviceRun, AdviceSettings
from delever.sim.advise import advise as advise_position
from delever.sim.api import build_inputs, engine_frame_of
from delever.sim.montecarlo import MonteCarlo
from delever.sim.plan import (
    DEFAULT_HORIZON_HOURS,
    DEFAULT_MAXFEV,
    DEFAULT_PIECES,
    FAMILIES,
    Jumps,
    PlanObjective,
    PlanResult,
    PlanSearch,
    plan_for_scenario,
)

if TYPE_CHECKING:
    from distributed import Client


class PlanProgress(NamedTuple):
    """Callbacks of a long plan: ``stage`` with the stage's name, ``evaluations`` with the
    candidates evaluated since the last call."""

    stage: Callable[[str], None] | None = None
    evaluations: Callable[[int], None] | None = None


def plan(
    scenario: Scenario,
    objective: PlanObjective | None = None,
    *,
    n_paths: int = 10_000,
    horizon_hours: float = float(DEFAULT_HORIZON_HOURS),
    seed: int = 0,
    book: bool = True,
    families: Sequence[str] = FAMILIES,
    pieces: int = DEFAULT_PIECES,
    maxfev: int = DEFAULT_MAXFEV,
    jumps: Jumps | None = None,
    client: Client | None = None,
    progress: PlanProgress | Callable[[str], None] | None = None,
) -> PlanResult:
    """The liquidation-aware optimal unwind of the scenario's position.

    ``objective`` default ``PlanObjective()`` (lambda 0.1, CVaR 95%, alpha 5%);
    ``book=False`` leaves out the other borrowers and the followers; ``jumps`` adds Merton
    jumps to the GBM paths (same total variance). The rest as
    :func:`delever.sim.plan.plan_for_scenario` (hourly steps over ``horizon_hours``);
    ``progress``: a :class:`PlanProgress`, or one callable for the stage names.
    """
    hooks = progress if isinstance(progress, PlanProgress) else PlanProgress(progress)
    scenario = scenario.for_engines()  # a loop: counted in ETH
    market = scenario_market(scenario, book=book, followers=book)
    return plan_for_scenario(
        scenario, objective or PlanObjective(), mc=MonteCarlo(seed, n_paths),
        horizon_hours=horizon_hours, market=market,
        search=PlanSearch(families, pieces, maxfev), jumps=jumps, client=client,
        progress=hooks.stage, on_evaluations=hooks.evaluations)


def advise(
    scenario: Scenario,
    *,
    n_paths: int = 1_000,
    seed: int = 0,
    client: Client | None = None,
    **kwargs: Any,
) -> Advice:
    """The risk advice on the scenario's position (:func:`delever.sim.advise.advise`), its
    market with the book and the followers; ``kwargs`` go to that function."""
    scenario = scenario.for_engines()  # a loop: counted in ETH
    inputs = build_inputs(scenario, n_paths=1, n_steps=1,
                          paths=np.full((1, 2), scenario.mark_price_usd))
    progress = kwargs.pop("progress", None)
    frame = engine_frame_of(scenario)
    run = AdviceRun(scenario_market(scenario), inputs.lending, scenario.mark_price_usd,
                    n_paths=n_paths, seed=seed, client=client,
                    path_model=None if frame is None else frame.path_model,
                    **{k: kwargs.pop(k) for k in ("oracle", "sigma_daily") if k in kwargs})
    return advise_position(inputs.position, run, AdviceSettings(**kwargs), progress=progress)


__all__ = ["PlanProgress", "advise", "plan"]

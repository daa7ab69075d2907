"""The impact models the engines walk: kernel_law vs execute by hand, the registry, the
scenario's ``[market] model`` key."""

from __future__ import annotations

import math

import numpy as np
import pytest

from delever.errors import InvalidArgument
from delever.kernels.impact_law import (
    add_volume_py,
    decay_memory_py,
    fill,
    fill_py,
    impact_fraction_py,
)
from delever.kernels.records import ImpactLaw
from delever.market import IMPACT_MODELS, impact_model, kernel_law_of
from delever.market.impact import SquareRootImpact
from delever.market.models import (
    LinearImpact,
    ResilientLinearImpact,
    SquareRootPropagatorImpact,
    matched_decay_rate,
    ow_from_usd,
    power_law_integral,
)
from delever.market.orderbook import OrderBook, OrderBookImpact
from delever.market.transient import ObizhaevaWangImpact
from delever.market.univ3 import UniswapV3Impact, illustrative_pool
from delever.scenario.build import Scenario, build_scenario
from delever.scenario.loader import ScenarioValidationError, parse_scenario_text
from delever.scenario.market import impact_model as scenario_impact_model
from delever.scenario.market import kernel_law as scenario_kernel_law
from delever.scenario.market import scenario_market
from delever.scenario.schema import IMPACT_MODEL_NAMES
from scenario_text import one_account_scenario

SIGMA, ADV, Y = 0.04, 500_000.0, 1.0
MID = 2000.0


def _law_sale(law: ImpactLaw, qty: float, mid: float = MID) -> tuple[float, float]:
    """(average fill, mid right after) of one sale from a fresh market along ``law``."""
    filled, proceeds = fill_py(law, 0.0, 0.0, law.adv_eth, mid, qty)
    q_perm, q_mem = add_volume_py(law, 0.0, 0.0, filled)
    return proceeds / filled, mid * (1.0 - impact_fraction_py(law, q_perm, q_mem, law.adv_eth))


# --- sqrt: the model object and the kernel law must not drift apart ---------------------------


@pytest.mark.parametrize("qty", [1.0, 20_000.0, 100_000.0, 2_000_000.0])
def test_sqrt_kernel_law_fills_a_sale_like_execute(qty: float) -> None:
    model = SquareRootImpact(SIGMA, ADV, Y, permanent_frac=2.0 / 3.0)
    law = model.kernel_law(3600.0)
    peak = Y * SIGMA * math.sqrt(qty / ADV)  # hand: I(Q) = Y sigma sqrt(Q / V)
    fills = model.execute(MID, qty)
    avg, new_mid = _law_sale(law, qty)
    assert float(fills.avg_price_usd) == pytest.approx(MID * (1 - 2 / 3 * peak), rel=1e-13)
    assert avg == pytest.approx(float(fills.avg_price_usd), rel=1e-13)
    assert new_mid == pytest.approx(MID * (1 - 2 / 3 * peak), rel=1e-13)  # permanent 2/3 of I
    assert new_mid == pytest.approx(float(fills.new_mid_usd), rel=1e-13)
    # the compiled primitive the engines call gives the same
    filled, proceeds = fill(law, 0.0, 0.0, ADV, MID, qty)
    assert proceeds / filled == pytest.approx(avg, rel=1e-13)


def test_sqrt_kernel_law_walks_slices_like_execute_schedule() -> None:
    slices = np.array([50_000.0, 120_000.0, 30_000.0, 80_000.0])
    model = SquareRootImpact(SIGMA, ADV, Y, permanent_frac=1.0)
    law = model.kernel_law(3600.0)
    schedule = model.execute_schedule(MID, slices)
    q_perm = q_mem = 0.0
    for k, q in enumerate(slices):
        q_mem = decay_memory_py(law, q_mem, 3600.0)
        filled, proceeds = fill_py(law, q_perm, q_mem, ADV, MID, float(q))
        q_perm, q_mem = add_volume_py(law, q_perm, q_mem, filled)
        assert proceeds / filled == pytest.approx(schedule.avg_price_usd[k], rel=1e-13)
        after = MID * (1 - impact_fraction_py(law, q_perm, q_mem, ADV))
        assert after == pytest.approx(schedule.mid_after_usd[k], rel=1e-13)


def test_sqrt_marginal_price_is_the_kernel_law_s() -> None:
    model = SquareRootImpact(SIGMA, ADV, Y, permanent_frac=2.0 / 3.0)
    law = model.kernel_law()
    qty = np.array([0.0, 1.0, 3e4, 4e5, 1e9])
    # walking a sale, both of the law's volumes stand at q: the marginal impact
    by_law = [impact_fraction_py(law, q, q, ADV) for q in qty]
    assert model.peak_impact_frac(qty) == pytest.approx(by_law, rel=1e-15)
    assert model.marginal_price_usd(MID, qty) == pytest.approx(
        MID * (1 - np.array(by_law)), rel=1e-15)
    assert float(model.peak_impact_frac(1e9)) == 1.0  # capped: the price reaches 0


def test_sqrt_kernel_law_fields() -> None:
    law = SquareRootImpact(SIGMA, ADV, 1.5, 0.5, transient_half_life_s=7200.0).kernel_law()
    assert law.scale == pytest.approx(1.5 * SIGMA)
    assert (law.exponent, law.adv_eth, law.permanent) == (0.5, ADV, 0.5)
    assert law.decay_per_s == pytest.approx(math.log(2) / 7200.0)
    assert SquareRootImpact(SIGMA, ADV).kernel_law().decay_per_s == math.inf
    assert (law.thin_vol, law.thin_drawdown) == (0.0, 0.0)


# --- linear, ow, propagator: hand-worked sales ------------------------------------------------


def test_linear_sale_by_hand() -> None:
    model = LinearImpact(impact_per_adv=0.1, adv_eth=ADV)
    # Q = 100,000 = V / 5: I = 0.1 / 5 = 0.02; avg = m (1 - I/2) = 1980; mid m (1 - I) = 1960.
    fills = model.execute(MID, 100_000.0)
    assert float(fills.avg_price_usd) == pytest.approx(1980.0, rel=1e-13)
    assert float(fills.new_mid_usd) == pytest.approx(1960.0, rel=1e-13)
    assert _law_sale(model.kernel_law(60.0), 100_000.0) == pytest.approx((1980.0, 1960.0))
    # capacity: the marginal price reaches 0 at V / lambda = 5,000,000 ETH
    capped = model.execute(MID, 6_000_000.0)
    assert float(capped.filled_eth) == pytest.approx(5_000_000.0, rel=1e-9)
    assert float(capped.avg_price_usd) == pytest.approx(MID / 2, rel=1e-9)


def test_ow_sale_and_resilience_by_hand() -> None:
    model = ResilientLinearImpact(impact_per_adv=0.1, adv_eth=ADV,
                                  transient_half_life_s=6 * 3600.0)
    assert model.name == "ow" and model.permanent_frac == 0.0
    # 10,000 ETH: I = 0.1 * 0.02 = 0.002; fill 2000 (1 - 0.001) = 1998; mid after 1996.
    fills = model.execute(MID, 10_000.0)
    assert float(fills.avg_price_usd) == pytest.approx(1998.0, rel=1e-13)
    assert float(fills.new_mid_usd) == pytest.approx(1996.0, rel=1e-13)
    # a second 10,000 one half-life later: the first impact is half gone (mid 1998), the
    # slice walks 4 more USD down from there: fill 1996, mid after 1994.
    sched = model.execute_schedule(MID, [10_000.0, 10_000.0], step_days=0.25)
    assert sched.mid_before_usd == pytest.approx([2000.0, 1998.0], rel=1e-13)
    assert sched.avg_price_usd == pytest.approx([1998.0, 1996.0], rel=1e-13)
    assert sched.mid_after_usd == pytest.approx([1996.0, 1994.0], rel=1e-13)


def test_ow_from_usd_matches_the_usd_model() -> None:
    usd = ObizhaevaWangImpact(impact_usd_per_eth=0.0004, resilience_per_day=2.0,
                              permanent_frac=0.25)
    rel = ow_from_usd(0.0004, MID, ADV, 2.0, 0.25)
    assert rel.impact_per_adv == pytest.approx(0.0004 * ADV / MID)
    assert rel.transient_half_life_s == pytest.approx(math.log(2) / 2.0 * 86_400)
    qty = [1_000.0, 50_000.0]
    assert rel.execute(MID, qty).avg_price_usd == pytest.approx(
        usd.execute(MID, qty).avg_price_usd, rel=1e-13)
    assert rel.execute(MID, qty).new_mid_usd == pytest.approx(
        usd.execute(MID, qty).new_mid_usd, rel=1e-13)
    # and the decay after a day: mid - k n (p + (1 - p) e^{-rho})
    sched = rel.execute_schedule(MID, [50_000.0, 0.0], step_days=1.0)
    expected = MID - 0.0004 * 50_000 * (0.25 + 0.75 * math.exp(-2.0))
    assert sched.mid_before_usd[1] == pytest.approx(expected, rel=1e-12)


def test_propagator_sale_is_the_square_root_law() -> None:
    model = SquareRootPropagatorImpact(SIGMA, ADV, Y, decay_time_s=3600.0, decay_exponent=0.4)
    peak = Y * SIGMA * math.sqrt(100_000.0 / ADV)
    fills = model.execute(MID, 100_000.0)
    assert float(fills.avg_price_usd) == pytest.approx(MID * (1 - 2 / 3 * peak), rel=1e-13)
    assert float(fills.new_mid_usd) == pytest.approx(MID * (1 - peak), rel=1e-13)


def test_propagator_exponential_matches_the_power_law_integral() -> None:
    # beta = 1, h = t0: integral t0 ln 2; rho solves (1 - e^{-rho h}) / rho = h ln 2.
    h = 3600.0
    rho = matched_decay_rate(h, h, 1.0)
    assert power_law_integral(h, h, 1.0) == pytest.approx(h * math.log(2))
    assert (1 - math.exp(-rho * h)) / rho == pytest.approx(h * math.log(2), rel=1e-10)
    # beta = 0.5, t0 = 600, h = 3600: integral 2 t0 (sqrt(1 + h/t0) - 1)
    rho = matched_decay_rate(h, 600.0, 0.5)
    assert (1 - math.exp(-rho * h)) / rho == pytest.approx(
        2 * 600 * (math.sqrt(7) - 1), rel=1e-10)
    assert matched_decay_rate(h, 600.0, 0.0) == 0.0  # no decay
    # the law decays the transient impact by exp(-rho dt) over a step
    model = SquareRootPropagatorImpact(SIGMA, ADV, Y, decay_time_s=600.0, decay_exponent=0.5)
    law = model.kernel_law(h)
    assert law.decay_per_s == pytest.approx(rho)
    q_mem = decay_memory_py(law, 10_000.0, h)
    ratio = impact_fraction_py(law, 0.0, q_mem, ADV) / impact_fraction_py(law, 0.0, 1e4, ADV)
    assert ratio == pytest.approx(math.exp(-rho * h), rel=1e-12)
    # a longer matching horizon sees more of the slow tail: a slower exponential
    assert model.kernel_law(86_400.0).decay_per_s < law.decay_per_s


# --- the registry ----------------------------------------------------------------------------


def test_registry_names_and_builds() -> None:
    assert tuple(IMPACT_MODELS) == IMPACT_MODEL_NAMES
    assert isinstance(impact_model("sqrt", sigma_daily=SIGMA, adv_eth=ADV), SquareRootImpact)
    assert impact_model("linear", impact_per_adv=0.1, adv_eth=ADV).name == "linear"
    assert impact_model("ow", impact_per_adv=0.1, adv_eth=ADV).name == "ow"
    assert impact_model("propagator", sigma_daily=SIGMA, adv_eth=ADV).name == "propagator"


def test_registry_errors_name_the_problem() -> None:
    with pytest.raises(InvalidArgument, match="'sqrt'"):
        impact_model("sqr")
    with pytest.raises(InvalidArgument, match="needs impact_per_adv"):
        impact_model("linear", adv_eth=ADV)
    with pytest.raises(InvalidArgument, match=r"impact_y_.*Did you mean 'impact_y'"):
        impact_model("sqrt", sigma_daily=SIGMA, adv_eth=ADV, impact_y_=1.0)
    with pytest.raises(InvalidArgument, match="adv_eth"):
        impact_model("sqrt", sigma_daily=SIGMA, adv_eth=-1.0)
    for venue in ("book", "univ3"):
        with pytest.raises(InvalidArgument, match="no ImpactLaw"):
            impact_model(venue)


def test_venue_models_have_no_kernel_law() -> None:
    book = OrderBookImpact(OrderBook.from_levels([(1999.0, 10.0), (1990.0, 100.0)],
                                              mid_price_usd=MID))
    with pytest.raises(InvalidArgument, match=r"'book'.*no ImpactLaw"):
        kernel_law_of(book)
    with pytest.raises(InvalidArgument, match=r"'univ3'.*no ImpactLaw"):
        kernel_law_of(UniswapV3Impact(illustrative_pool()))
    with pytest.raises(InvalidArgument, match="ow_from_usd"):
        kernel_law_of(ObizhaevaWangImpact(1e-4, 1.0))
    assert kernel_law_of(LinearImpact(0.1, ADV)).exponent == 1.0


# --- the scenario's [market] model ------------------------------------------------------------

_MARKET = "[market]\nsigma_daily = 0.04\nadv_eth = 500000\nimpact_y = 1.0\n" \
          "impact_y_range = [0.5, 1.5]\n"


def _scenario(extra: str) -> Scenario:
    return build_scenario(parse_scenario_text(one_account_scenario(extra=_MARKET + extra)))


def test_scenario_default_is_today_s_square_root_market() -> None:
    scenario = _scenario("")
    model = scenario_impact_model(scenario)
    assert model == SquareRootImpact(0.04, 500_000.0, 1.0, 2.0 / 3.0, 6 * 3600.0)
    law = scenario_kernel_law(scenario, 3600.0)
    assert law.decay_per_s == pytest.approx(math.log(2) / (6 * 3600))
    assert law.thin_vol == 0.0 and law.vol_ref == math.inf
    market = scenario_market(scenario)
    assert market.impact == SquareRootImpact(0.04, 500_000.0, 1.0, 2.0 / 3.0)
    assert market.transient_half_life_hours == 6.0


def test_scenario_picks_each_model() -> None:
    ow = scenario_impact_model(_scenario('model = "ow"\nimpact_per_adv = 0.1\n'
                                         "transient_half_life_hours = 2\n"))
    assert ow == ResilientLinearImpact(0.1, 500_000.0, 0.0, 7200.0)
    lin = scenario_kernel_law(_scenario('model = "linear"\nimpact_per_adv = 0.2\n'), 60.0)
    assert (lin.exponent, lin.scale, lin.permanent, lin.decay_per_s) == (1.0, 0.2, 1.0, math.inf)
    prop = scenario_impact_model(_scenario('model = "propagator"\ndecay_time_hours = 2\n'
                                           "decay_exponent = 0.5\n"))
    assert prop == SquareRootPropagatorImpact(0.04, 500_000.0, 1.0, 7200.0, 0.5, 0.0)
    with pytest.raises(InvalidArgument, match="model = 'propagator'"):
        scenario_market(_scenario('model = "propagator"\n'))


def test_scenario_state_liquidity_thins_the_law() -> None:
    law = scenario_kernel_law(_scenario("state_liquidity = true\n"), 3600.0)
    assert law.thin_vol > 0 and math.isfinite(law.vol_ref)
    assert law.vol_halflife_s == pytest.approx(10 * 86_400.0)


@pytest.mark.parametrize(("extra", "message"), [
    ('model = "sqr"\n', r"market\.model.*did you mean 'sqrt'"),
    ('model = "linear"\n', "model = 'linear' needs impact_per_adv"),
    ("decay_exponent = 0.3\n", "decay_exponent applies to model propagator"),
    ('model = "ow"\nimpact_per_adv = -0.1\n', r"market\.impact_per_adv"),
    ("permanent_frac = 1.5\n", r"market\.permanent_frac.*\[0, 1\]"),
    ("state_liquidity = 1\n", r"market\.state_liquidity"),
])
def test_scenario_bad_market_key_names_the_field(extra: str, message: str) -> None:
    with pytest.raises(ScenarioValidationError, match=message):
        parse_scenario_text(one_account_scenario(extra=_MARKET + extra))

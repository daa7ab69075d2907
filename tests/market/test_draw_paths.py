"""``draw_paths``: price models by name from daily figures and a calibration (the dispatch of
``delever paths``), against the raw generators called by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from delever.errors import InvalidArgument
from delever.market.calibration import calibrate
from delever.market.paths import (
    PATH_MODELS,
    PathRequest,
    draw_paths,
    gbm_paths,
    merton_paths,
)

CAL = calibrate()


def test_every_generator_has_a_daily_model() -> None:
    assert set(PATH_MODELS) == {"gbm", "merton", "garch", "bootstrap", "replay"}


def test_gbm_is_the_raw_generator_with_per_step_figures() -> None:
    request = PathRequest(n_paths=6, n_steps=5, seed=7, s0_usd=2_000.0, sigma_daily=0.04,
                          drift_daily=0.001, step_days=0.25)
    drawn = draw_paths("gbm", request, CAL)
    by_hand = gbm_paths(2_000.0, 6, 5, sigma_per_step=0.04 * math.sqrt(0.25),
                        drift_per_step=0.001 * 0.25, seed=7)
    np.testing.assert_array_equal(drawn.paths_usd, by_hand)
    assert drawn.params == {"sigma_per_step": 0.02, "drift_per_step": 0.00025}


def test_merton_keeps_the_total_daily_variance() -> None:
    request = PathRequest(n_paths=4, n_steps=3, seed=1, sigma_daily=0.05,
                          jump_intensity_per_day=0.1, jump_mean=-0.05, jump_std=0.05)
    drawn = draw_paths("merton", request, CAL)
    jump_var = 0.1 * (0.05**2 + 0.05**2)  # 0.0005
    diffusion = math.sqrt(0.05**2 - jump_var)  # per day, step 1 day
    assert drawn.params["sigma_per_step"] == pytest.approx(diffusion, rel=1e-15)
    assert drawn.params["jump_defaults_illustrative"] is False
    by_hand = merton_paths(CAL.last_close_usd.value, 4, 3, sigma_per_step=diffusion,
                           jump_intensity_per_step=0.1, jump_mean=-0.05, jump_std=0.05,
                           seed=1)
    np.testing.assert_array_equal(drawn.paths_usd, by_hand)


def test_the_defaults_start_at_the_last_close_with_the_calibrated_sigma() -> None:
    drawn = draw_paths("gbm", PathRequest(n_paths=2, n_steps=1), CAL)
    assert drawn.paths_usd[0, 0] == CAL.last_close_usd.value
    assert drawn.params["sigma_per_step"] == CAL.sigma_daily.value


def test_replay_starts_the_day_before_the_cutoff() -> None:
    drawn = draw_paths("replay", PathRequest(n_paths=2, n_steps=3, stride_days=2), CAL)
    assert drawn.params["replay_start"] == "2025-12-31"
    assert drawn.params["rescaled"] is False
    assert drawn.paths_usd.shape == (2, 4)


@pytest.mark.parametrize(("model", "request_", "message"), [
    ("gmb", PathRequest(1, 1), "gbm"),
    ("gbm", PathRequest(1, 1, sigma_daily=0.0), "sigma_daily"),
    ("merton", PathRequest(1, 1, sigma_daily=0.01, jump_intensity_per_day=1.0), "jump variance"),
    ("bootstrap", PathRequest(1, 1, bootstrap_method="circular"), "bootstrap_method"),
], ids=["unknown-model", "zero-sigma", "jumps-too-large", "unknown-method"])
def test_bad_requests_are_refused(model: str, request_: PathRequest, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        draw_paths(model, request_, CAL)

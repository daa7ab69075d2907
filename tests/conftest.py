"""Shared test set-up: hypothesis profiles and the location of the shared raw data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_RAW = REPO_ROOT.parent / "shared" / "data" / "raw"


@pytest.fixture
def shared_raw() -> Path:
    """The folder of real raw data beside the checkout; skip when it is absent."""
    if not SHARED_RAW.is_dir():
        pytest.skip(f"shared raw data not found at {SHARED_RAW} (validation data, not shipped)")
    return SHARED_RAW


@pytest.fixture(autouse=True)
def _run_in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that write files (``delever run`` writes its report) write them here."""
    monkeypatch.chdir(tmp_path)

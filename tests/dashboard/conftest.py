"""Shared by the dashboard tests: what `delever validate` prints for a bad file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def _validate_line(path: Path) -> str:
    """What `delever validate NAME` prints on stderr (exit 2), run in the file's folder."""
    done = subprocess.run([sys.executable, "-m", "delever.cli.main", "validate", path.name],
                          cwd=path.parent, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2, done.stderr
    return done.stderr.strip()


@pytest.fixture
def validate_line() -> Callable[[Path], str]:
    """:func:`_validate_line`."""
    return _validate_line

"""`delever paths`: options the chosen generator does not read are reported on stderr."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from delever.cli.main import app

BASE = ["paths", "--paths", "2", "--steps", "3", "--json"]


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        pytest.param(["--jump-std", "0.1"], "--jump-std is not used by --model gbm",
                     id="merton-option-on-gbm"),
        pytest.param(["--model", "merton", "--block-days", "3"],
                     "--block-days is not used by --model merton", id="bootstrap-option"),
        pytest.param(["--model", "bootstrap", "--sigma-daily", "0.05"],
                     "--sigma-daily is not used by --model bootstrap", id="sigma-on-bootstrap"),
    ],
)
def test_unused_generator_option_warns(args: list[str], warning: str) -> None:
    result = CliRunner().invoke(app, [*BASE, *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    json.loads(result.stdout)  # stdout stays one JSON object
    assert f"warning: {warning}" in result.stderr


def test_options_the_generator_reads_do_not_warn() -> None:
    result = CliRunner().invoke(app, [*BASE, "--model", "merton", "--jump-std", "0.05"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""

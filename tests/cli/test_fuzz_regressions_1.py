"""Fuzz findings for impact, paths, calibrate and plan (issue 11): each is refused up front
with exit 2 and ONE ``error:`` line that names the option, never a traceback, exit 1, an
internal name, or a ``null`` in the JSON."""

from __future__ import annotations

import json
import shlex

import pytest
import typer
from click.testing import CliRunner

from delever.cli.main import app

COMMAND = typer.main.get_command(app)

PLAN = "plan --paths 2 --workers 0 --horizon-days 0.25 --maxfev 1 --jumps"
PATHS = "paths --paths 2 --steps 3"

# command line -> a word the one error line must contain
REFUSED = [
    ("impact --qty-eth 0 --json", "qty_eth"),
    ("impact --qty-eth 1000 --horizon-steps 9223372036854775808", "horizon_steps"),
    ("impact --qty-eth 1000 --step-days 1e308 --json", "step_days"),
    ("impact --qty-eth 1000 --model ow --half-life-days 5e-324 --json", "--half-life-days"),
    ("impact --qty-eth 1000 --impact-y 1e308 --model ac --gamma 1e309 --json", "--gamma"),
    ("impact --qty-eth 1000 --model ac --epsilon 1e308 --json", "--epsilon"),
    ("impact --qty-eth 1000 --model ac --risk-aversion 1e308 --json", "--risk-aversion"),
    ("impact --qty-eth 1000 --sigma-daily 0 --model propagator --json", "--sigma-daily"),
    ("calibrate --window-days 9223372036854775808 --json", "window_days"),
    (f"{PATHS} --window-days 99999999999999999999999 --json", "window_days"),
    (f"{PATHS} --model merton --jump-std nan --json", "--jump-std"),
    (f"{PATHS} --model merton --jump-intensity -inf --json", "--jump-intensity"),
    (f"{PATHS} --model merton --jump-mean 1e308 --json", "--jump-mean"),
    # an unused-option warning must not precede the error line
    (f"{PATHS} --sigma-daily -0 --model replay --stride-days -0 --json", "sigma_daily"),
    (f"{PLAN} --jump-mean 1e308", "--jump-mean"),
    (f"{PLAN} --jump-std nan", "--jump-std"),
]


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 keeps stderr apart already
        return CliRunner()


@pytest.mark.parametrize(("line", "word"), REFUSED)
def test_refused_in_one_line_naming_the_option(line: str, word: str) -> None:
    result = _runner().invoke(COMMAND, shlex.split(line))
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert result.exit_code == 2, result.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:") and word in lines[0], lines[0]
    assert result.stdout == ""


def test_impact_slice_that_sold_nothing_has_no_null_discount() -> None:
    # the venue runs dry after the first slice: later slices sell nothing, discount 0
    result = _runner().invoke(COMMAND, ["impact", "--qty-eth", "1000", "--impact-y", "1e23",
                                    "--json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["schedule"]
    assert all(isinstance(r["discount_pct"], float) for r in rows)

"""Option-parsing errors: one line on stderr naming the option and the rule, exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from delever.cli.main import app

POS = ["position", "--debt-usd", "100000", "--price-usd", "2000"]

CASES = [
    pytest.param([*POS, "--collateral-eth", "abc"], "--collateral-eth='abc' must be a number",
                 id="float-not-a-number"),
    pytest.param([*POS, "--collateral-eth=1e"], "--collateral-eth='1e' must be a number",
                 id="float-equals-form"),
    pytest.param(["run", "--paths", "1.5"], "--paths='1.5' must be a whole number",
                 id="int-not-whole"),
    pytest.param(["paths", "--path", "100"], "no such option --path; did you mean --paths?",
                 id="no-such-option-suggestion"),
    pytest.param(["--bogus"], "no such option --bogus", id="no-such-group-option"),
    pytest.param(["impact"], "missing option --qty-eth", id="missing-option"),
    pytest.param(["impact", "--qty-eth", "1", "extra"], "unexpected extra argument(s) 'extra'",
                 id="extra-argument"),
    pytest.param(["impact", "--qty-eth", "1", "--model", "", "ac"],
                 "unexpected extra argument(s) 'ac' (after --model)", id="extra-after-empty"),
    pytest.param(["paths", "-output", "1"], "unexpected extra argument(s) '1' (after -output)",
                 id="extra-after-single-dash"),
    pytest.param(["positon"], "no such command 'positon'; did you mean position?",
                 id="no-such-command"),
]


@pytest.mark.parametrize(("argv", "expected"), CASES)
def test_usage_error_is_one_line(argv: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "╭" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_help_still_works() -> None:
    result = CliRunner().invoke(app, ["position", "--help"])
    assert result.exit_code == 0
    assert "--collateral-eth" in result.stdout

"""The ``delever`` command line (typer + rich).

Each group of commands lives in its own module with a ``register(app)`` function, so later
engines add commands without touching the others.
"""

from __future__ import annotations

import typer

from delever.cli import (
    advise_cmds,
    book_cmds,
    cascade_cmds,
    dashboard_cmds,
    live_cmds,
    loop_cmds,
    market_cmds,
    paths_cmds,
    plan_cmds,
    protocol_cmds,
    rates_cmds,
    replay_cmds,
    scenario_cmds,
    simulate_cmds,
)
from delever.cli._usage import OneLineErrorGroup

app = typer.Typer(
    name="delever",
    cls=OneLineErrorGroup,  # usage errors: one line on stderr, exit 2
    help="delever: a risk lab for unwinding large leveraged positions on Aave v3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (
    scenario_cmds,
    protocol_cmds,
    market_cmds,
    paths_cmds,
    rates_cmds,
    simulate_cmds,
    replay_cmds,
    cascade_cmds,
    live_cmds,
    loop_cmds,
    plan_cmds,
    advise_cmds,
    book_cmds,
    dashboard_cmds,
):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

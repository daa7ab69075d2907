"""``delever dashboard``: a local web app (Dash) for one leveraged position.

The user-facing edge, like :mod:`delever.cli` and :mod:`delever.report`: it imports the
layers below and nothing imports it except the CLI. Dash is an optional dependency
(``pip install 'delever[dashboard]'``); :func:`require_dash` says so in one line.
"""

from __future__ import annotations

import importlib.util

from delever.dashboard.model import ScenarioInput, whatif_report
from delever.errors import InvalidArgument

INSTALL_HINT = "pip install 'delever[dashboard]'"


def require_dash() -> None:
    """Raise InvalidArgument (one line) when Dash or its disk cache is missing."""
    try:
        import dash  # noqa: F401
        import diskcache  # noqa: F401
    except ImportError as exc:
        missing: str | None = exc.name
    else:  # the background jobs' process tools (dash[diskcache] installs them)
        missing = next((name for name in ("multiprocess", "psutil")
                        if importlib.util.find_spec(name) is None), None)
    if missing is not None:
        raise InvalidArgument(f"delever dashboard needs Dash ({missing} is missing): "
                              f"{INSTALL_HINT}")


__all__ = ["INSTALL_HINT", "ScenarioInput", "require_dash", "whatif_report"]

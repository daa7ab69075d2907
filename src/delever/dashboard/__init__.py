"""``delever dashboard``: a local web app (Dash) for one leveraged position.

The user-facing edge, like :mod:`delever.cli` and :mod:`delever.report`: it imports the
layers below and nothing imports it except the CLI. Dash is an optional dependency
(``pip install 'delever[dashboard]'``); :func:`require_dash` says so in one line.
"""

from __future__ import annotations

from delever.dashboard.model import ScenarioInput, whatif_report
from delever.errors import InvalidArgument

INSTALL_HINT = "pip install 'delever[dashboard]'"


def require_dash() -> None:
    """Raise InvalidArgument (one line) when Dash or its disk cache is missing."""
    try:
        import dash  # noqa: F401
        import diskcache  # noqa: F401
        import multiprocess  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as exc:
        raise InvalidArgument(f"delever dashboard needs Dash ({exc.name} is missing): "
                              f"{INSTALL_HINT}") from None


__all__ = ["INSTALL_HINT", "ScenarioInput", "require_dash", "whatif_report"]

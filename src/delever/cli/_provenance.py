"""What the CLI tells a report about where it came from (version, time, scenario, command).

The report layer stays pure: it gets a :class:`~delever.report.ReportProvenance` and reads
no clock, ``sys.argv`` nor file itself.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path

from delever.report import ReportProvenance

_BUILTIN_PACKAGE = "delever.scenario.builtin"


def scenario_bytes(source: str) -> bytes:
    """The bytes of the scenario file ``source`` names: a TOML file, or the shipped TOML of a
    built-in scenario (the same choice ``load_scenario`` makes: an existing file wins)."""
    path = Path(source)
    if path.is_file():
        return path.read_bytes()
    return resources.files(_BUILTIN_PACKAGE).joinpath(f"{source}.toml").read_bytes()


def delever_version() -> str:
    """The installed distribution's version, or the package's own when not installed."""
    try:
        return metadata.version("delever")
    except metadata.PackageNotFoundError:
        from delever import __version__

        return f"{__version__} (not installed)"


def report_provenance(
    scenario_source: str, scenario_name: str, argv: list[str] | None = None
) -> ReportProvenance:
    """Provenance for a report of the scenario loaded from ``scenario_source`` (a built-in
    name or a TOML path), now, for the command line ``argv`` (default ``sys.argv``)."""
    words = sys.argv if argv is None else argv
    return ReportProvenance(
        version=delever_version(),
        generated_utc=datetime.now(UTC),
        scenario_name=scenario_name,
        scenario_sha256=hashlib.sha256(scenario_bytes(scenario_source)).hexdigest(),
        command_line=" ".join(shlex.quote(word) for word in words),
    )


__all__ = ["delever_version", "report_provenance", "scenario_bytes"]

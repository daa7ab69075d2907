"""Read scenario files (TOML) and the built-in scenarios shipped inside the package."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from delever.errors import InvalidArgument, unknown_name
from delever.scenario.schema import ScenarioSpec

DEFAULT_SCENARIO = "trend-2026"
_BUILTIN_PACKAGE = "delever.scenario.builtin"


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with delever, sorted."""
    folder = resources.files(_BUILTIN_PACKAGE)
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def builtin_scenario_text(name: str) -> str:
    """The TOML text of a built-in scenario; unknown names get close matches."""
    names = builtin_scenarios()
    if name not in names:
        raise unknown_name("scenario", name, names)
    return resources.files(_BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


class ScenarioValidationError(InvalidArgument):
    """A scenario that parsed as TOML but broke a rule of the schema.

    The message is one line: the file, then ``field.path=value: rule`` per problem.
    """

    def __init__(self, origin: str, error: ValidationError) -> None:
        parts = []
        for entry in error.errors():
            loc = ".".join(str(part) for part in entry["loc"]) or "(root)"
            value = entry.get("input")
            if isinstance(value, dict):
                shown = "{...}"
            elif isinstance(value, date):  # datetime too: ISO reads better than the repr
                shown = value.isoformat()
            else:
                shown = repr(value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            message = str(entry["msg"]).removeprefix("Value error, ")
            parts.append(f"{loc}={shown}: {message}")
        super().__init__(f"{origin}: " + "; ".join(parts))
        self.validation_error = error


def parse_scenario_text(text: str, origin: str = "<text>") -> ScenarioSpec:
    """Parse and validate scenario TOML text; errors name ``origin`` and the field."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{origin}: malformed TOML: {exc}.") from None
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioValidationError(origin, exc) from None


def read_scenario_spec(source: str | Path) -> ScenarioSpec:
    """A built-in scenario by name, or a TOML file by path."""
    text_source = str(source)
    path = Path(text_source)
    looks_like_path = path.suffix == ".toml" or path.exists() or "/" in text_source
    if not looks_like_path:
        return parse_scenario_text(builtin_scenario_text(text_source), f"{text_source} (built-in)")
    if not path.exists():
        raise InvalidArgument(f"scenario={text_source!r}: no such file.")
    if path.is_dir():
        raise InvalidArgument(f"scenario={text_source!r} is a folder; give a .toml file.")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{text_source}: not a UTF-8 text file.") from None
    return parse_scenario_text(text, text_source)


__all__ = [
    "DEFAULT_SCENARIO",
    "ScenarioValidationError",
    "builtin_scenario_text",
    "builtin_scenarios",
    "parse_scenario_text",
    "read_scenario_spec",
]

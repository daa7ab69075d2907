"""Scenario files (TOML, validated by pydantic) and the built-in scenarios."""

from delever.scenario.build import Scenario, build_scenario, load_scenario
from delever.scenario.loader import (
    DEFAULT_SCENARIO,
    ScenarioValidationError,
    builtin_scenarios,
    parse_scenario_text,
    read_scenario_spec,
)
from delever.scenario.market import scenario_book_sales, scenario_market
from delever.scenario.schema import ScenarioSpec, Sourced

__all__ = [
    "DEFAULT_SCENARIO",
    "Scenario",
    "ScenarioSpec",
    "ScenarioValidationError",
    "Sourced",
    "build_scenario",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario_text",
    "read_scenario_spec",
    "scenario_book_sales",
    "scenario_market",
]

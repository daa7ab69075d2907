"""delever.scenario."""

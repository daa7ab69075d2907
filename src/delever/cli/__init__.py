"""delever.cli."""

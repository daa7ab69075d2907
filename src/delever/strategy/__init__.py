"""delever.strategy."""

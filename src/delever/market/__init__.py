"""delever.market."""

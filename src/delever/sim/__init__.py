"""delever.sim."""

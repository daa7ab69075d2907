"""delever.protocol."""

"""delever.book."""

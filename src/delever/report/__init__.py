"""delever.report."""

"""delever.ledger."""

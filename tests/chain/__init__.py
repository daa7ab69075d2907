"""Differential tests against Aave's own bytecode on a local anvil chain (see localnet.py)."""

"""Chaos experiments on a running environment (issue 16.2): each has a fixed seed, a duration,
automatic healing and invariant checkers; `parity chaos` runs them. experiments.py names them,
report.py is the report every experiment returns (pure)."""

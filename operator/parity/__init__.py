"""Parity Operator: keeps a local Kubernetes environment identical to production."""

__version__ = "0.1.0"

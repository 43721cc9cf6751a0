"""Placeholder: replaced by the module that implements `parity inspect`."""


def register(subparsers) -> None:
    pass

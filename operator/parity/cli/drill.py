"""Placeholder: replaced by the module that implements `parity drill`."""


def register(subparsers) -> None:
    pass

"""Placeholder: replaced by the module that implements `parity diff`."""


def register(subparsers) -> None:
    pass

"""The CLI's error type, in its own module so that `python -m parity.cli.main` (where main.py
runs as __main__) and the command modules share one class."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2


class CliError(Exception):
    """A user-facing error: printed as `parity: <message>` with exit code 1."""

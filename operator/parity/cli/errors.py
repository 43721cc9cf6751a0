"""The CLI's error type, in its own module so that `python -m parity.cli.main` (where main.py
runs as __main__) and the command modules share one class."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2


class CliError(Exception):
    """A user-facing error: printed as `parity: <message>` with exit code 1."""


def service_error_types() -> tuple[type[BaseException], ...]:
    """What the service drivers raise when a service cannot be reached or refuses us: OSError
    (sockets, DNS), psycopg's and redis-py's own error roots."""
    import psycopg
    import redis

    return (OSError, psycopg.Error, redis.RedisError)


def unreachable(err: BaseException) -> str:
    """One line for a driver error; on a machine that hosts the local node without
    PARITY_CLUSTER_DNS, the hint that makes `*.svc` names resolve (the Makefile sets it)."""
    import os

    from parity.controlplane.nodeconfig import CLUSTER_DNS_IP
    from parity.probes.clusterdns import CLUSTER_DNS_ENV

    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    hint = ""
    if not os.environ.get(CLUSTER_DNS_ENV) and ("resolve" in text or "Name or service not known" in text):
        hint = f" (on the host of the local node, set {CLUSTER_DNS_ENV}={CLUSTER_DNS_IP} so that *.svc names resolve)"
    return f"{type(err).__name__}: {text}{hint}"

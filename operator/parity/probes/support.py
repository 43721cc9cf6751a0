"""Small helpers the probes share: addresses, DSNs without secrets, error wording, problems."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Iterable, TypeVar

from parity.constants import REDACTED

T = TypeVar("T")

CRITICAL = "critical"
WARNING = "warning"


def problem(severity: str, message: str) -> dict[str, str]:
    """Something `parity inspect` marks (✗ critical, ! warning); kept in details, never compared."""
    return {"severity": severity, "message": message}


def split_host_port(address: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, `redis://host:port` or a bare host → (host, port)."""
    text = address.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"no host in address {address!r}")
    try:
        return host, int(port) if port else default_port
    except ValueError:
        raise ValueError(f"bad port in address {address!r}") from None


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def conninfo_params(dsn_or_params: str | dict | None) -> dict[str, Any]:
    if dsn_or_params is None:
        return {}
    if isinstance(dsn_or_params, dict):
        return {k: v for k, v in dsn_or_params.items() if v is not None}
    # psycopg is imported where a DSN is parsed: loading it costs the operator 10 MiB of RSS,
    # and an operator with the runtime level off never parses one.
    from psycopg.conninfo import conninfo_to_dict

    return conninfo_to_dict(dsn_or_params)


def build_conninfo(dsn_or_params: str | dict | None, **overrides: Any) -> str:
    params = conninfo_params(dsn_or_params)
    params.update({k: v for k, v in overrides.items() if v is not None})
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: str(v) for k, v in params.items()})


def describe_conninfo(dsn_or_params: str | dict | None) -> str:
    """`host:port/dbname` for messages: never the password, never the whole DSN."""
    params = conninfo_params(dsn_or_params)
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = str(params.get("port") or 5432)
    database = params.get("dbname") or params.get("user") or "postgres"
    return f"{format_address(host, int(port) if port.isdigit() else 5432)}/{database}"


def redact_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """Error messages from drivers may echo a DSN: cut every secret out before it is stored."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def describe_error(err: BaseException) -> str:
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        return "no answer within the timeout"
    text = str(err).strip().splitlines()
    detail = text[0] if text else ""
    # httpx and psycopg name the class in the message only sometimes; always say what kind it was.
    return f"{type(err).__name__}: {detail}" if detail else type(err).__name__


async def within(timeout: float, awaitable: Awaitable[T]) -> T:
    """asyncio.wait_for, spelled once so every probe has the same deadline behaviour."""
    return await asyncio.wait_for(awaitable, timeout)


class Deadline:
    """One time budget for a whole probe: each stage gets what is left, so the probe as a whole
    answers within its timeout even when several stages are slow."""

    MINIMUM = 0.05

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._end = time.monotonic() + timeout

    def remaining(self) -> float:
        return max(self.MINIMUM, self._end - time.monotonic())

    async def run(self, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, self.remaining())

"""Send one payload to one target URL: timeout per attempt, bounded retries with exponential
backoff (tenacity), never raising. The URL is a secret (a Slack webhook URL is its own
credential): outcomes name only the target, never the URL, its path or its query.

Retried: connection errors, timeouts, HTTP 429 and 5xx. Not retried: other 4xx (the receiver
refuses the message; sending it again will not change that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

DEFAULT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF = 0.5  # seconds before the 2nd attempt; doubled each time, capped
MAX_BACKOFF = 30.0


class RetryableError(Exception):
    """A failure worth another attempt; its text is safe to show (no URL)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    attempts: int
    reason: str = ""  # why it failed, without the URL


def check_url(url: str) -> str | None:
    """Why `url` cannot be a target (the reason never quotes it), or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "the URL cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL names no host"
    if any(ch.isspace() for ch in url.strip()):
        return "the URL contains whitespace"
    return None


async def _post_once(client: httpx.AsyncClient, url: str, payload: dict[str, Any], timeout: float) -> None:
    try:
        response = await client.post(url, json=payload, timeout=timeout)
    except httpx.TimeoutException:
        raise RetryableError(f"no answer within {timeout:g}s") from None
    except httpx.HTTPError as err:
        raise RetryableError(f"connection failed ({type(err).__name__})") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ValueError(f"HTTP {response.status_code} (refused, not retried)")


async def deliver(client: httpx.AsyncClient, url: str, payload: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT,
                  attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF) -> Outcome:
    problem = check_url(url)
    if problem:
        return Outcome(False, 0, problem)
    tried = 0
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(max(1, attempts)),
            wait=wait_exponential(multiplier=backoff, max=MAX_BACKOFF),
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        ):
            with attempt:
                tried += 1
                await _post_once(client, url, payload, timeout)
    except (RetryableError, ValueError) as err:
        return Outcome(False, tried, f"{err} after {tried} attempt{'s' if tried != 1 else ''}")
    return Outcome(True, tried)

"""The queue between drift verdicts and targets: `offer` never waits, one background task
delivers. Held in the operator's memo, started on startup and closed on cleanup.

- `offer(key, target, drift, context)` is what a handler calls: it decides (notify/events.py)
  whether the verdict calls for a message and queues it, or returns None at once. A full queue
  drops the job and counts it (the next verdict offers it again).
- The worker delivers jobs one at a time (a slow receiver holds at most timeout × attempts plus
  backoff of the worker, never a handler). A job superseded by a newer verdict for the same key
  is skipped, and the notification is decided again at delivery time against what that target
  was last sent, so a quick detected → resolved sequence sends what is true when it is sent.
- What a target was sent is remembered only after it was delivered (dedupe). A delivery that
  failed is not offered again for the same finding set before `retry_after` seconds (so an
  always-failing target is not hammered on every re-evaluation), then it is.
- Every outcome goes to `on_outcome(job, notification, outcome)` (metrics, notifier status).

Keys are (notifier namespace/name, environment namespace/name, target name); `forget` drops
the state of a deleted environment or notifier.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import httpx

from parity.notify import metrics as notify_metrics
from parity.notify.delivery import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF, DEFAULT_TIMEOUT, Outcome, deliver
from parity.notify.events import Notification, Sent, decide, sent
from parity.notify.payload import build_payload

log = logging.getLogger(__name__)
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    url: str = field(repr=False)  # a secret: never logged, never in an outcome
    min_severity: str = "warning"


@dataclass(frozen=True)
class Job:
    key: Key
    target: Target
    drift: Mapping[str, Any]
    context: Mapping[str, Any]  # namespace, name, baseline, notifier, cause
    seq: int = 0


OutcomeCallback = Callable[[Job, Notification, Outcome], Awaitable[None] | None]


class Dispatcher:
    def __init__(self, *, on_outcome: OutcomeCallback | None = None, timeout: float = DEFAULT_TIMEOUT,
                 attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF, retry_after: float = 300.0,
                 maxsize: int = 1000, clock: Callable[[], float] = time.monotonic):
        self.on_outcome = on_outcome
        self.timeout, self.attempts, self.backoff, self.retry_after = timeout, attempts, backoff, retry_after
        self.clock = clock
        self.queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=maxsize)
        self.delivered: dict[Key, Sent] = {}
        self.failed: dict[Key, tuple[str, float]] = {}  # fingerprint, when
        self.latest: dict[Key, int] = {}
        self.dropped = 0
        self._seq = itertools.count(1)
        self._task: asyncio.Task | None = None
        self._client: httpx.AsyncClient | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
            self._task = asyncio.create_task(self._run(), name="parity-notify")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def drain(self) -> None:
        """Wait until every queued job was handled (tests, shutdown)."""
        await self.queue.join()

    def forget(self, match: Callable[[Key], bool]) -> None:
        for table in (self.delivered, self.failed, self.latest):
            for key in [k for k in table if match(k)]:
                del table[key]

    # ---- offering -----------------------------------------------------------------------------

    def offer(self, key: Key, target: Target, drift: Mapping[str, Any] | None,
              context: Mapping[str, Any]) -> Notification | None:
        """Queue the notification `drift` calls for on `target`; None when there is none. Never waits."""
        notification = decide(drift, self.delivered.get(key), target.min_severity)
        if notification is None:
            return None
        failure = self.failed.get(key)
        if failure is not None and failure[0] == notification.fingerprint and \
                self.clock() - failure[1] < self.retry_after:
            return None
        job = Job(key, target, dict(drift or {}), dict(context), next(self._seq))
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            self.dropped += 1
            notify_metrics.DROPPED.inc()
            return None
        self.latest[key] = job.seq
        return notification

    # ---- delivering ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self._handle(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad job must not stop the worker
                log.exception("notification for %s/%s failed", job.key[1], job.target.name)
            finally:
                self.queue.task_done()

    async def _handle(self, job: Job) -> None:
        if self.latest.get(job.key) != job.seq:
            return  # a newer verdict for the same target is queued
        notification = decide(job.drift, self.delivered.get(job.key), job.target.min_severity)
        if notification is None:
            return
        payload = build_payload(job.target.type, notification, **job.context, target=job.target.name)
        assert self._client is not None
        outcome = await deliver(self._client, job.target.url, payload, timeout=self.timeout,
                                attempts=self.attempts, backoff=self.backoff)
        if outcome.ok:
            self.delivered[job.key] = sent(notification)
            self.failed.pop(job.key, None)
        else:
            self.failed[job.key] = (notification.fingerprint, self.clock())
        if self.on_outcome is not None:
            result = self.on_outcome(job, notification, outcome)
            if asyncio.iscoroutine(result):
                await result

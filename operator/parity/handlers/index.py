"""The watch-fed indexes that syncs read instead of requests: environments' children instead of
LISTs (kube/index.py), and baselines instead of a GET (IndexedBaselines).

kopf keeps the index: one `@kopf.index` per child kind, on the same watches (and so the same
server-side label selector) as the child event handlers, with the same filters. Each maps
(namespace, environment label) to the child's body, stored compressed (`encode_child`); kopf
drops an object on its DELETED event and replaces it on every other, and does so before the
on.event handlers of that event run.

Readiness: kopf holds every resource handler back until each indexed kind has been listed once
(kopf/_core/reactor/processing.py: `operator_indexed.wait_for(True)` before
`process_resource_causes`), so a sync, which always runs from a handler, sees a listed index.
A reader without the index (the CLI, tests, an index that cannot answer in time) LISTs.

Compressed JSON, not the parsed body: a parsed body takes several times the memory of its JSON
(every key and value a Python object), and the index holds every child of every environment for
the life of the process. zlib at level 1 takes the sample's children from 44 KB of JSON to 19 KB
per environment for about 0.4 ms per sync. Decoding gives each sync its own copy, which it may
change.

Threads: kopf mutates the index on its event loop, syncs run in worker threads. Iterating a dict
while another thread changes it can fail mid-way, so the snapshot is taken on the loop itself
(a few dict lookups; no I/O) and the worker waits for it, then decodes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import zlib
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import kopf

from parity import constants
from parity.handlers.baseline import BASELINE
from parity.handlers.children import CHILD_KINDS, OWNED, controlled_by_an_environment
from parity.handlers.quiet import children_digest, inputs_fingerprint
from parity.kube.index import IndexedChildren
from parity.kube.relevance import sync_digest
from parity.reconcile import get_baseline

log = logging.getLogger(__name__)

INDEX_PREFIX = "children-by-environment-"
# A snapshot is a few dict lookups on the loop; waiting longer means the loop is stuck or gone,
# and a LIST is the better answer.
SNAPSHOT_TIMEOUT_SECONDS = 5.0
T = TypeVar("T")


class IndexedChild(NamedTuple):
    """A child as the index keeps it: what a sync reads of it as one number (kube/relevance.py),
    and its body, compressed."""
    digest: int
    stored: bytes


def encode_child(body: dict) -> IndexedChild:
    return IndexedChild(sync_digest(body), zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 1))


def decode_child(entry: IndexedChild) -> dict:
    return json.loads(zlib.decompress(entry.stored))


async def child_by_environment(namespace: str, labels: kopf.Labels, body: kopf.Body, **_):
    # async: kopf awaits index handlers before the event's other handlers, and a sync one would
    # queue behind the syncs occupying the thread pool.
    env_name = labels.get(constants.LABEL_ENVIRONMENT)
    return {(namespace, env_name): encode_child(dict(body))} if env_name else None


for _group, _version, _plural in CHILD_KINDS:
    kopf.index(group=_group, version=_version, plural=_plural, labels=OWNED, when=controlled_by_an_environment,
               id=f"{INDEX_PREFIX}{_plural}")(child_by_environment)


def on_loop(loop: asyncio.AbstractEventLoop, collect: Callable[[], T], what: str) -> T | None:
    """collect() run on the event loop that kopf changes its indexes on, from any thread; None
    when the loop is gone or does not answer in time (the caller then asks the API server)."""
    try:
        if asyncio.get_running_loop() is loop:
            return collect()
    except RuntimeError:  # a worker thread: no loop running here
        pass
    if loop.is_closed():  # shutting down
        return None

    async def collect_async() -> T:
        return collect()

    future = asyncio.run_coroutine_threadsafe(collect_async(), loop)
    try:
        return future.result(timeout=SNAPSHOT_TIMEOUT_SECONDS)
    except concurrent.futures.TimeoutError:
        future.cancel()
        log.warning("%s: the index did not answer in %.0f s; reading from the API server instead",
                    what, SNAPSHOT_TIMEOUT_SECONDS)
        return None


class ChildIndex:
    """Snapshots of kopf's child indexes for worker threads: `snapshot(namespace, env_name)`
    returns freshly decoded bodies (the caller's to keep and change)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, indexes: list) -> None:
        self._loop = loop
        self._indexes = indexes

    def _collect(self, key: tuple[str, str]) -> list[IndexedChild]:
        return [entry for index in self._indexes if key in index for entry in index[key]]

    def entries_on_loop(self, namespace: str, env_name: str) -> list[IndexedChild]:
        """The indexed children, undecoded: only on the loop (an async handler)."""
        return self._collect((namespace, env_name))

    def snapshot(self, namespace: str, env_name: str) -> list[dict] | None:
        entries = on_loop(self._loop, lambda: self._collect((namespace, env_name)), f"{namespace}/{env_name}")
        return None if entries is None else [decode_child(entry) for entry in entries]


# --- baselines -------------------------------------------------------------------------------------

BASELINE_INDEX = "baselines-by-name"


@kopf.index(**BASELINE, id=BASELINE_INDEX)
async def baseline_by_name(name: str, body: kopf.Body, **_):
    # What read_baseline uses (generation and spec), a copy of its own: kopf keeps the value.
    return {name: json.dumps({"metadata": {"name": name, "generation": body.metadata.get("generation")},
                              "spec": dict(body.spec)}, separators=(",", ":"))}


class IndexedBaselines:
    """A reconcile.BaselineReader served from the baseline index: a sync's baseline is a lookup,
    not a GET. kopf updates the index before it calls the baseline's event handler, which asks
    for the fan-out syncs, so each of them reads the edit. Without an answer from the index, a GET."""

    def __init__(self, loop: asyncio.AbstractEventLoop, index) -> None:
        self._loop = loop
        self._index = index

    def _collect(self, name: str) -> list[str]:
        return list(self._index.get(name, ()))

    def entry_on_loop(self, name: str) -> str | None:
        """The stored baseline as the index holds it: only on the loop (an async handler)."""
        stored = self._collect(name)
        return stored[0] if stored else None

    def __call__(self, kube, baseline_name: str) -> dict | None:
        stored = on_loop(self._loop, lambda: self._collect(baseline_name), f"ParityBaseline {baseline_name}")
        if stored is None:
            return get_baseline(kube, baseline_name)
        return json.loads(stored[0]) if stored else None


@kopf.on.startup()
async def use_child_index(memo: kopf.Memo, **kwargs) -> None:
    """memo.children and memo.baselines: the readers syncs use (the indexes arrive as kwargs
    named by their ids). An absent baseline in a listed index does not exist: kopf runs no
    handler before every indexed kind was listed once."""
    indexes = [kwargs[f"{INDEX_PREFIX}{plural}"] for _group, _version, plural in CHILD_KINDS]
    child_index = ChildIndex(asyncio.get_running_loop(), indexes)
    memo.children = IndexedChildren(child_index.snapshot)
    memo.baselines = IndexedBaselines(asyncio.get_running_loop(), kwargs[BASELINE_INDEX])
    memo.inputs_fingerprint = InputsFingerprint(child_index, memo.baselines)


class InputsFingerprint:
    """What a sync of an environment would read from kopf's memory, fingerprinted on the loop
    (handlers/quiet.py): its resourceVersion, what it reads of its indexed children (their
    digests: kube/relevance.py), its baseline's indexed entry. Every method runs on the loop only."""

    def __init__(self, children: ChildIndex, baselines: IndexedBaselines) -> None:
        self._children = children
        self._baselines = baselines

    def children(self, namespace: str, name: str) -> int:
        """What a sync would read of the environment's children (kube/relevance.py), as one number."""
        return children_digest(entry.digest for entry in self._children.entries_on_loop(namespace, name))

    def with_children(self, children: int, resource_version: str | None, baseline_name: str | None) -> int:
        """The fingerprint, with the children's digest taken earlier (when a sync started)."""
        baseline = self._baselines.entry_on_loop(baseline_name) if baseline_name else None
        return inputs_fingerprint(resource_version, children, baseline)

    def __call__(self, namespace: str, name: str, resource_version: str | None, baseline_name: str | None) -> int:
        return self.with_children(self.children(namespace, name), resource_version, baseline_name)

"""Handlers that kopf runs for every watch event of a busy kind are coroutines.

A sync (plain `def`) handler runs in kopf's thread pool, where the create and update syncs
block for seconds each; the event's queue worker waits for a free thread and every later
event of that object queues behind it, parsed. With 100 environments converging, a sync
index handler on environments kept ~5 bodies per environment queued for the whole
convergence (bench/bench_scale.py). Index handlers run before all others of an event, and
watching handlers on every event; both must be async."""

from __future__ import annotations

import asyncio

import kopf
from kopf._cogs.structs.references import Resource

import parity.handlers  # noqa: F401  (registers the handlers)
from parity import constants
from parity.handlers.children import CHILD_KINDS

BUSY_KINDS = [Resource(constants.GROUP, constants.VERSION, constants.ENVIRONMENT_PLURAL, namespaced=True),
              Resource(constants.GROUP, constants.VERSION, constants.BASELINE_PLURAL, namespaced=True)] + [
    Resource(group, version, plural, namespaced=True) for group, version, plural in CHILD_KINDS]


def handlers_of(registry_part, resource: Resource) -> list:
    return [h for h in registry_part.get_all_handlers() if h.selector is not None and h.selector.check(resource)]


def test_every_index_handler_is_a_coroutine():
    registry = kopf.get_default_registry()
    handlers = list(registry._indexing.get_all_handlers())
    assert len(handlers) >= len(CHILD_KINDS) + 2  # children, baselines by name, environments by baseline
    sync = [h.id for h in handlers if not asyncio.iscoroutinefunction(h.fn)]
    assert not sync, f"index handlers running in kopf's thread pool: {sync}"


def test_every_event_handler_of_a_busy_kind_is_a_coroutine():
    registry = kopf.get_default_registry()
    for resource in BUSY_KINDS:
        handlers = handlers_of(registry._watching, resource)
        assert handlers, f"no event handler for {resource.plural}"
        sync = [h.id for h in handlers if not asyncio.iscoroutinefunction(h.fn)]
        assert not sync, f"{resource.plural}: event handlers running in kopf's thread pool: {sync}"

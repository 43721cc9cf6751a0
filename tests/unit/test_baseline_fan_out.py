"""Event-driven syncs asked for from the event loop (handlers/common.request_sync): a baseline
edit re-evaluates its environments side by side; a burst makes one sync; nothing holds a thread
or waits for the sync."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from parity.handlers import baseline, common
from parity.handlers.config import OperatorConfig
from parity.handlers.quiet import QuietPasses
from parity.handlers.triggers import Triggers
from parity.kube.client import KubeError

MARK = contextvars.ContextVar("mark")  # stands for kopf's own context (its event queue)


def memo_with(monkeypatch, sync, settle=0.05):
    """A memo whose syncs call `sync(namespace, name, trigger)` in place of sync_environment."""
    def fake_callables(memo, namespace, name, *, trigger, apply_changes, fresh=False, logger=None):
        def work():
            return sync(namespace, name, trigger)

        def handed_over():
            try:
                return work()
            except KubeError as err:
                common.log.warning("%s/%s: %s sync failed: %s", namespace, name, trigger, err)

        return work, handed_over

    monkeypatch.setattr(common, "_sync_callables", fake_callables)
    return SimpleNamespace(triggers=Triggers(), sync_pool=ThreadPoolExecutor(max_workers=4),
                           config=OperatorConfig(settle_seconds=settle))


async def settle_and_drain(memo, seconds=0.5):
    await asyncio.sleep(seconds)  # the settle timers fire on this loop
    await asyncio.get_running_loop().run_in_executor(None, memo.sync_pool.shutdown)


def test_a_baseline_edit_syncs_every_environment_side_by_side_in_kopfs_context(monkeypatch):
    envs = [("ns", f"env-{i}") for i in range(12)]
    seen, running, peak, guard = [], [0], [0], threading.Lock()

    def sync(namespace, name, trigger):
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            seen.append(((namespace, name), trigger, MARK.get(None), threading.current_thread().name))
        time.sleep(0.05)
        with guard:
            running[0] -= 1

    memo = memo_with(monkeypatch, sync)

    async def main():
        MARK.set("kopf's context")
        start = time.monotonic()
        await baseline.baseline_changed(name="prod", type="MODIFIED", memo=memo,
                                        environments_by_baseline={"prod": envs})
        returned_after = time.monotonic() - start
        await settle_and_drain(memo)
        return returned_after

    returned_after = asyncio.run(main())
    assert returned_after < 0.05  # the handler waits for none of them
    assert sorted(s[0] for s in seen) == sorted(envs)
    assert {s[1:3] for s in seen} == {("baseline", "kopf's context")}
    assert all(s[3] != threading.main_thread().name for s in seen)  # on the pool, not the loop
    assert peak[0] > 1


def test_a_burst_of_events_for_one_environment_makes_one_sync_after_the_settle_wait(monkeypatch):
    runs = []
    memo = memo_with(monkeypatch, lambda ns, name, trigger: runs.append(time.monotonic()), settle=0.2)

    async def main():
        start = time.monotonic()
        for _ in range(20):
            common.request_sync(memo, "ns", "dev", trigger="child")
        await settle_and_drain(memo)
        return start

    start = asyncio.run(main())
    assert len(runs) == 1 and runs[0] - start >= 0.2


def test_a_failing_sync_is_logged_and_does_not_stop_the_others(monkeypatch, caplog):
    done = []

    def sync(namespace, name, trigger):
        if name == "broken":
            raise KubeError(503, "ServiceUnavailable", "503 ServiceUnavailable: try again")
        done.append(name)

    memo = memo_with(monkeypatch, sync)

    async def main():
        await baseline.baseline_changed(name="prod", type="MODIFIED", memo=memo,
                                        environments_by_baseline={"prod": [("ns", "a"), ("ns", "broken"), ("ns", "c")]})
        await settle_and_drain(memo)

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    assert sorted(done) == ["a", "c"]
    assert "ns/broken: baseline sync failed" in caplog.text
    assert memo.triggers.claim(("ns", "broken"))  # released: the next event can sync it


def test_the_initial_listing_syncs_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(baseline, "request_sync", lambda *a, **k: calls.append(a))
    asyncio.run(baseline.baseline_changed(name="prod", type=None, memo=SimpleNamespace(),
                                          environments_by_baseline={"prod": [("ns", "a")]}))
    assert calls == []


class SameInputs:
    """handlers/index.InputsFingerprint of inputs that never change."""

    def children(self, namespace, name):
        return 1

    def with_children(self, children, resource_version, baseline_name):
        return 1

    def __call__(self, namespace, name, resource_version, baseline_name):
        return 1


def test_the_timer_asks_for_a_sync_on_the_pool_and_holds_no_thread_of_kopfs(monkeypatch):
    """Without runtime probes the periodic pass is an event-driven sync: kopf's thread pool stays
    free for the create and update handlers (a spec edit must not queue behind timers)."""
    from parity.handlers import timers

    seen = []

    def sync(namespace, name, trigger):
        seen.append(((namespace, name), trigger, threading.current_thread().name))

    memo = memo_with(monkeypatch, sync)
    memo.config = OperatorConfig(settle_seconds=0.01, runtime_probes=False)
    memo.quiet_passes = QuietPasses(full_pass_seconds=300)
    memo.inputs_fingerprint = SameInputs()
    memo.triggers.claim(("ns", "dev"))  # its create handler ran (spacing no sync after it)
    memo.triggers.run_claimed(("ns", "dev"), lambda: None, spaces_next=False)

    async def main():
        start = time.monotonic()
        await timers.resync_environment(namespace="ns", name="dev", meta={"resourceVersion": "1"}, spec={},
                                        memo=memo, logger=logging.getLogger("t"))
        returned_after = time.monotonic() - start
        await settle_and_drain(memo, 0.3)
        return returned_after

    returned_after = asyncio.run(main())
    assert returned_after < 0.05
    assert [s[:2] for s in seen] == [(("ns", "dev"), "timer")]
    assert seen[0][2] != threading.main_thread().name

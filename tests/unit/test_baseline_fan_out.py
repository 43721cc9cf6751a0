"""handlers/baseline.py: a baseline edit re-evaluates its environments side by side."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import kopf

from parity.handlers import baseline

MARK = contextvars.ContextVar("mark")  # stands for kopf's own context (its event queue)


def fan_out(monkeypatch, envs, sync):
    monkeypatch.setattr(baseline, "run_sync", sync)
    memo = SimpleNamespace(fan_out=ThreadPoolExecutor(max_workers=4))
    MARK.set("handler's context")
    try:
        baseline.baseline_changed(name="prod", type="MODIFIED", memo=memo,
                                  environments_by_baseline={"prod": envs}, logger=logging.getLogger("test"))
    finally:
        memo.fan_out.shutdown()


def test_every_environment_is_synced_concurrently_without_settling_and_in_the_handlers_context(monkeypatch):
    envs = [("ns", f"env-{i}") for i in range(12)]
    seen, running, peak, guard = [], [0], [0], threading.Lock()

    def sync(memo, namespace, name, **kwargs):
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            seen.append(((namespace, name), kwargs["settle"], kwargs["coalesce"], MARK.get(None)))
        time.sleep(0.05)
        with guard:
            running[0] -= 1

    fan_out(monkeypatch, envs, sync)
    assert sorted(s[0] for s in seen) == sorted(envs)
    assert {s[1:] for s in seen} == {(0.0, True, "handler's context")}
    assert peak[0] > 1


def test_one_failing_environment_does_not_stop_the_others(monkeypatch, caplog):
    envs = [("ns", "a"), ("ns", "broken"), ("ns", "c")]
    done = []

    def sync(memo, namespace, name, **_):
        if name == "broken":
            raise kopf.TemporaryError("Kubernetes API: 503", delay=5)
        done.append(name)

    with caplog.at_level(logging.WARNING):
        fan_out(monkeypatch, envs, sync)
    assert sorted(done) == ["a", "c"]
    assert "ns/broken after baseline prod changed" in caplog.text


def test_the_initial_listing_syncs_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(baseline, "run_sync", lambda *a, **k: calls.append(a))
    baseline.baseline_changed(name="prod", type=None, memo=SimpleNamespace(), environments_by_baseline={"prod": [("ns", "a")]},
                              logger=logging.getLogger("test"))
    assert calls == []

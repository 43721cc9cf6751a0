"""Timer passes skipped for a Ready environment whose inputs are what its last pass read
(handlers/quiet.py), and run in full otherwise."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from test_baseline_fan_out import memo_with, settle_and_drain

from parity.handlers import timers
from parity.handlers.config import OperatorConfig
from parity.handlers.quiet import QuietPasses, inputs_fingerprint, settled
from parity.metrics import TIMER_PASSES_SKIPPED

KEY = ("ns", "dev")
READY = {"phase": "Ready", "conditions": [{"type": "Stalled", "status": "False"}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_fingerprint_follows_every_input_and_not_the_index_order():
    base = inputs_fingerprint("7", [b"child-a", b"child-b"], '{"spec":1}')
    assert base == inputs_fingerprint("7", [b"child-b", b"child-a"], '{"spec":1}')
    assert base != inputs_fingerprint("8", [b"child-a", b"child-b"], '{"spec":1}')
    assert base != inputs_fingerprint("7", [b"child-a", b"child-b2"], '{"spec":1}')
    assert base != inputs_fingerprint("7", [b"child-a"], '{"spec":1}')
    assert base != inputs_fingerprint("7", [b"child-a", b"child-b"], '{"spec":2}')
    assert base != inputs_fingerprint("7", [b"child-a", b"child-b"], None)


def test_only_a_ready_environment_that_is_not_stalled_is_settled():
    assert settled(READY) and settled({"phase": "Ready"})
    assert not settled({"phase": "Provisioning"}) and not settled({"phase": "Degraded"}) and not settled(None)
    assert not settled({"phase": "Ready", "conditions": [{"type": "Stalled", "status": "True"}]})


def test_a_pass_is_skipped_only_with_the_same_inputs_after_a_settled_pass_within_the_full_pass_period():
    clock = Clock()
    passes = QuietPasses(full_pass_seconds=300, clock=clock)
    assert not passes.skips(KEY, 1)  # never passed
    passes.completed(KEY, 1, READY)
    assert passes.skips(KEY, 1) and not passes.skips(KEY, 2)
    clock.now += 299
    assert passes.skips(KEY, 1)
    clock.now += 1  # a full pass is due: the Secret, the heartbeat
    assert not passes.skips(KEY, 1)
    passes.completed(KEY, 1, READY)
    assert passes.skips(KEY, 1)
    passes.completed(KEY, 1, {"phase": "Degraded"})  # a pass that did not settle it: the next runs
    assert not passes.skips(KEY, 1)
    passes.completed(KEY, 1, READY)
    passes.completed(KEY, 1, None)  # failed, or found it gone
    assert not passes.skips(KEY, 1)
    passes.completed(KEY, 1, READY)
    passes.forget(KEY)
    assert not passes.skips(KEY, 1) and len(passes) == 0


def run_passes(monkeypatch, statuses: list[dict | None], fingerprints: list[int]) -> list[str]:
    """Timer passes of one environment, one per fingerprint; each sync that runs returns the
    next status. Returns the triggers of the syncs that ran."""
    ran: list[str] = []
    answers = iter(statuses)

    def sync(namespace, name, trigger):
        ran.append(trigger)
        status = next(answers)
        return None if status is None else SimpleNamespace(status=status)

    memo = memo_with(monkeypatch, sync)
    memo.config = OperatorConfig(settle_seconds=0.01, runtime_probes=False)
    memo.quiet_passes = QuietPasses(full_pass_seconds=300)
    current = {"fingerprint": None}
    seen_args = []

    def fingerprint_of(namespace, name, resource_version, baseline_name):
        seen_args.append((namespace, name, resource_version, baseline_name))
        return current["fingerprint"]

    memo.inputs_fingerprint = fingerprint_of

    async def main():
        for fingerprint in fingerprints:
            current["fingerprint"] = fingerprint
            await timers.resync_environment(namespace="ns", name="dev", meta={"resourceVersion": "41"},
                                            spec={"baselineRef": {"name": "prod"}}, memo=memo,
                                            logger=logging.getLogger("t"))
            await asyncio.sleep(0.1)  # the pass's sync (settle 0.01 s) ends before the next pass
        await settle_and_drain(memo, 0.1)

    asyncio.run(main())
    assert set(seen_args) == {("ns", "dev", "41", "prod")}
    return ran


def test_the_timer_skips_a_ready_environment_whose_inputs_did_not_change(monkeypatch):
    skipped_before = TIMER_PASSES_SKIPPED._value.get()
    ran = run_passes(monkeypatch, [READY, READY], fingerprints=[1, 1, 1, 2, 2])
    assert ran == ["timer", "timer"]  # the first pass, then the one after a change
    assert TIMER_PASSES_SKIPPED._value.get() - skipped_before == 3


def test_the_timer_runs_every_pass_of_an_environment_that_is_not_ready_or_whose_pass_failed(monkeypatch):
    assert run_passes(monkeypatch, [{"phase": "Provisioning"}] * 3, fingerprints=[1, 1, 1]) == ["timer"] * 3
    assert run_passes(monkeypatch, [None, READY, READY], fingerprints=[1, 1, 1]) == ["timer"] * 2

"""Timer passes skipped when their inputs are what the last completed sync of the environment read,
or when no sync of it has started yet (handlers/quiet.py), and run in full otherwise."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from test_baseline_fan_out import memo_with, settle_and_drain

from parity.handlers import common, timers
from parity.handlers.config import OperatorConfig
from parity.handlers.quiet import QuietPasses, children_digest, inputs_fingerprint, reproducible
from parity.metrics import TIMER_PASSES_SKIPPED

KEY = ("ns", "dev")
READY = {"phase": "Ready", "conditions": [{"type": "Stalled", "status": "False"}]}
PROVISIONING = {"phase": "Provisioning", "conditions": [{"type": "Stalled", "status": "False"}]}
STALLED = {"phase": "Failed", "conditions": [{"type": "Stalled", "status": "True", "reason": "NameConflict"}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_fingerprint_follows_every_input_and_not_the_index_order():
    children = children_digest([b"child-a", b"child-b"])
    assert children == children_digest([b"child-b", b"child-a"])
    assert children != children_digest([b"child-a", b"child-b2"]) and children != children_digest([b"child-a"])
    base = inputs_fingerprint("7", children, '{"spec":1}')
    assert base != inputs_fingerprint("8", children, '{"spec":1}')
    assert base != inputs_fingerprint("7", children_digest([b"child-a"]), '{"spec":1}')
    assert base != inputs_fingerprint("7", children, '{"spec":2}')
    assert base != inputs_fingerprint("7", children, None)


def test_every_status_but_a_stalled_one_is_reproducible():
    assert reproducible(READY) and reproducible({"phase": "Ready"})
    assert reproducible({"phase": "Provisioning"}) and reproducible({"phase": "Degraded"})
    assert not reproducible(None) and not reproducible({})
    assert not reproducible({"phase": "Failed", "conditions": [{"type": "Stalled", "status": "True"}]})


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
    passes.completed(KEY, 1, STALLED)  # waits for a change no fingerprint holds: the next runs
    assert not passes.skips(KEY, 1)
    passes.completed(KEY, 1, READY)
    passes.completed(KEY, 1, None)  # failed, or found it gone
    assert not passes.skips(KEY, 1)
    passes.completed(KEY, 1, READY)
    passes.forget(KEY)
    assert not passes.skips(KEY, 1) and len(passes) == 0


class Fingerprints:
    """handlers/index.InputsFingerprint over a settable children digest; records what the
    fingerprints were made of."""

    def __init__(self) -> None:
        self.current = 1
        self.made_of: list[tuple] = []

    def children(self, namespace, name):
        return self.current

    def with_children(self, children, resource_version, baseline_name):
        self.made_of.append((children, resource_version, baseline_name))
        return hash((children, resource_version, baseline_name))

    def __call__(self, namespace, name, resource_version, baseline_name):
        return self.with_children(self.children(namespace, name), resource_version, baseline_name)


def outcome(status, resource_version="41"):
    return None if status is None else SimpleNamespace(status=status, resource_version=resource_version,
                                                       body={"spec": {"baselineRef": {"name": "prod"}}})


def operator(monkeypatch, outcomes: list):
    """A memo whose syncs return the next of `outcomes` (a callable is called first: a change
    while the sync reads); returns (memo, the triggers of the syncs that ran)."""
    ran: list[str] = []
    answers = iter(outcomes)

    def sync(namespace, name, trigger):
        ran.append(trigger)
        answer = next(answers)
        return answer() if callable(answer) else answer

    memo = memo_with(monkeypatch, sync)
    memo.config = OperatorConfig(settle_seconds=0.01, sync_spacing_seconds=0.01, runtime_probes=False)
    memo.quiet_passes = QuietPasses(full_pass_seconds=300)
    memo.inputs_fingerprint = Fingerprints()
    return memo, ran


def handler_sync(memo) -> None:
    """What the create handler's sync leaves in memo.triggers, without the spacing of the next
    event sync that follows it."""
    memo.triggers.claim(KEY)
    memo.triggers.run_claimed(KEY, lambda: None, spaces_next=False)


async def timer_pass(memo, resource_version="41"):
    await timers.resync_environment(namespace="ns", name="dev", meta={"resourceVersion": resource_version},
                                    spec={"baselineRef": {"name": "prod"}}, memo=memo, logger=logging.getLogger("t"))
    await asyncio.sleep(0.1)  # the pass's sync (settle 0.01 s) and what it leaves on the loop end first


def run_passes(monkeypatch, statuses: list[dict | None], children: list[int], *, known: bool = True) -> list[str]:
    """Timer passes of one environment, one per children digest; each sync that runs returns
    the next status. Returns the triggers of the syncs that ran."""
    memo, ran = operator(monkeypatch, [outcome(s) for s in statuses])
    if known:  # its create handler ran (no fingerprint: the handlers' syncs leave none)
        handler_sync(memo)

    async def main():
        for digest in children:
            memo.inputs_fingerprint.current = digest
            await timer_pass(memo)
        await settle_and_drain(memo, 0.1)

    asyncio.run(main())
    assert {made[1:] for made in memo.inputs_fingerprint.made_of} <= {("41", "prod")}
    return ran


def test_the_timer_skips_an_environment_whose_inputs_did_not_change(monkeypatch):
    skipped_before = TIMER_PASSES_SKIPPED._value.get()
    ran = run_passes(monkeypatch, [READY, READY], children=[1, 1, 1, 2, 2])
    assert ran == ["timer", "timer"]  # the first pass, then the one after a change
    assert TIMER_PASSES_SKIPPED._value.get() - skipped_before == 3
    # Not only a Ready one: a converging environment's status is as reproducible.
    assert run_passes(monkeypatch, [PROVISIONING] * 2, children=[1, 1, 2]) == ["timer"] * 2


def test_the_timer_runs_every_pass_of_a_stalled_environment_or_after_a_failed_pass(monkeypatch):
    assert run_passes(monkeypatch, [STALLED] * 3, children=[1, 1, 1]) == ["timer"] * 3
    assert run_passes(monkeypatch, [None, READY, READY], children=[1, 1, 1]) == ["timer"] * 2


def test_the_timer_leaves_an_environment_to_its_create_handler_until_that_has_run(monkeypatch):
    skipped_before = TIMER_PASSES_SKIPPED._value.get()
    assert run_passes(monkeypatch, [], children=[1, 2, 3], known=False) == []
    assert TIMER_PASSES_SKIPPED._value.get() - skipped_before == 3


def test_a_childs_sync_stands_for_the_next_timer_pass_with_the_resource_version_its_write_made(monkeypatch):
    memo, ran = operator(monkeypatch, [outcome(PROVISIONING, resource_version="42"), outcome(READY, "42")])

    async def main():
        common.request_sync(memo, "ns", "dev", trigger="child")  # its status write made 42
        await asyncio.sleep(0.1)
        await timer_pass(memo, resource_version="42")  # kopf's body after that write: skipped
        memo.inputs_fingerprint.current = 2  # a child changed (its own sync is not asked for here)
        await timer_pass(memo, resource_version="42")
        await timer_pass(memo, resource_version="42")  # what that pass read: skipped
        await settle_and_drain(memo, 0.1)

    asyncio.run(main())
    assert ran == ["child", "timer"]
    assert memo.inputs_fingerprint.made_of[0] == (1, "42", "prod")


def test_the_fingerprint_left_holds_the_children_from_before_the_sync_read_them(monkeypatch):
    memo = None

    def changed_while_reading():
        memo.inputs_fingerprint.current = 2  # a child's event between the sync's start and its read
        return outcome(READY)

    memo, ran = operator(monkeypatch, [changed_while_reading, outcome(READY)])

    async def main():
        common.request_sync(memo, "ns", "dev", trigger="child")
        await asyncio.sleep(0.1)
        await timer_pass(memo)  # children 2 against the 1 left: the pass runs
        await timer_pass(memo)
        await settle_and_drain(memo, 0.1)

    asyncio.run(main())
    assert ran == ["child", "timer"]


def test_a_sync_of_an_environment_deleted_while_it_ran_leaves_nothing_behind(monkeypatch):
    memo = None

    def deleted_while_reading():
        memo.triggers.forget(KEY)  # forget_environment, after this sync's read
        memo.quiet_passes.forget(KEY)
        return outcome(READY)

    memo, ran = operator(monkeypatch, [deleted_while_reading])

    async def main():
        common.request_sync(memo, "ns", "dev", trigger="child")
        await settle_and_drain(memo, 0.2)

    asyncio.run(main())
    assert ran == ["child"] and len(memo.quiet_passes) == 0


def test_a_sync_started_with_these_children_reads_them_until_one_fails_or_the_environment_goes():
    passes = QuietPasses(full_pass_seconds=300)
    assert not passes.read_by_a_sync(KEY, 1)
    passes.started(KEY, 1)
    assert passes.read_by_a_sync(KEY, 1) and not passes.read_by_a_sync(KEY, 2)
    passes.completed(KEY, 5, READY)
    assert passes.read_by_a_sync(KEY, 1)
    passes.completed(KEY, 5, None)  # failed: nothing it started with was read
    assert not passes.read_by_a_sync(KEY, 1)
    passes.started(KEY, 1)
    passes.forget(KEY)
    assert not passes.read_by_a_sync(KEY, 1)


def test_a_childs_event_that_changes_nothing_a_sync_reads_asks_for_no_sync(monkeypatch):
    from parity.handlers.children import child_changed

    memo, ran = operator(monkeypatch, [outcome(PROVISIONING), outcome(PROVISIONING), outcome(READY)])
    handler_sync(memo)
    labels = {"parity.dev/environment": "dev"}

    async def event(type_="MODIFIED"):
        await child_changed(namespace="ns", labels=labels, type=type_, memo=memo)
        await asyncio.sleep(0.1)

    async def main():
        await event()  # the first since the create handler's sync: read
        await event()  # a PodDisruptionBudget's status: the children digest is still 1
        memo.inputs_fingerprint.current = 2  # a StatefulSet's readyReplicas
        await event()
        await event()
        await event(type_=None)  # a listing after the watch resumed: always read, with LIST
        await settle_and_drain(memo, 0.1)

    asyncio.run(main())
    assert ran == ["child", "child", "child"]

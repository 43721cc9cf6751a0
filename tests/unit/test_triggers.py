"""handlers/triggers.py: a coalesced sync never waits in its thread for a running one."""

from __future__ import annotations

import threading
import time

from parity.handlers.triggers import Triggers

KEY = ("ns", "env")


def hold_lock(triggers: Triggers, key=KEY):
    """Start a sync that runs until the returned event is set; returns (thread, event, started)."""
    gate, started = threading.Event(), threading.Event()

    def sync():
        started.set()
        gate.wait(10)
        return "held"

    thread = threading.Thread(target=triggers.run, args=(key, sync))
    thread.start()
    assert started.wait(5)
    return thread, gate


def test_a_coalesced_sync_returns_at_once_and_runs_in_the_holders_thread_afterwards():
    triggers = Triggers()
    holder, gate = hold_lock(triggers)
    ran_in = []
    start = time.monotonic()
    result = triggers.coalesce(KEY, lambda: ran_in.append(threading.current_thread()))
    waited = time.monotonic() - start
    assert result is None and ran_in == []
    assert waited < 5  # it did not wait for the 10 s holder
    gate.set()
    holder.join(5)
    assert ran_in == [holder]


def test_a_free_lock_runs_the_coalesced_sync_in_the_callers_thread():
    triggers = Triggers()
    assert triggers.coalesce(KEY, lambda: threading.current_thread()) is threading.current_thread()


def test_the_handed_over_callable_is_what_the_holder_runs():
    triggers = Triggers()
    holder, gate = hold_lock(triggers)
    calls = []
    triggers.coalesce(KEY, lambda: calls.append("direct"), handed_over=lambda: calls.append("handed over"))
    gate.set()
    holder.join(5)
    assert calls == ["handed over"]


def test_a_failing_handed_over_sync_does_not_fail_the_holder_and_the_lock_is_released():
    triggers = Triggers()
    results = []
    gate, started = threading.Event(), threading.Event()

    def sync():
        started.set()
        gate.wait(10)
        return "mine"

    holder = threading.Thread(target=lambda: results.append(triggers.run(KEY, sync)))
    holder.start()
    assert started.wait(5)
    triggers.coalesce(KEY, lambda: 1 / 0)
    gate.set()
    holder.join(5)
    assert results == ["mine"]
    assert triggers.run(KEY, lambda: "free again") == "free again"


def test_no_handed_over_sync_is_lost_when_the_holder_releases_at_the_same_time():
    # Every coalesced call after which nothing else runs must be followed by a run that starts
    # after the call: count runs started after the last call returned or was handed over.
    triggers = Triggers()
    for _round in range(200):
        last_call = [0.0]
        runs = []

        def sync():
            runs.append(time.monotonic())

        def caller():
            last_call[0] = time.monotonic()
            triggers.coalesce(KEY, sync)

        threads = [threading.Thread(target=caller) for _ in range(4)]
        holder = threading.Thread(target=triggers.run, args=(KEY, sync))
        holder.start()
        for t in threads:
            t.start()
        for t in [holder, *threads]:
            t.join(5)
        assert runs and runs[-1] >= last_call[0]
    assert triggers.run(KEY, lambda: "free") == "free"


def test_forget_drops_a_handed_over_sync():
    triggers = Triggers()
    holder, gate = hold_lock(triggers)
    calls = []
    triggers.coalesce(KEY, lambda: calls.append(1))
    triggers.forget(KEY)
    gate.set()
    holder.join(5)
    assert calls == []
    assert len(triggers) == 0


def test_an_event_sync_starts_no_sooner_than_the_spacing_after_the_last_sync_ended():
    now = [1000.0]
    triggers = Triggers(clock=lambda: now[0])
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0) == 0.2  # never synced: only the settle wait
    triggers.run(KEY, lambda: None)  # ends at 1000.0
    now[0] += 0.3
    assert abs(triggers.wait_before(KEY, settle=0.2, spacing=1.0) - 0.7) < 1e-9
    now[0] += 0.6
    assert abs(triggers.wait_before(KEY, settle=0.2, spacing=1.0) - 0.2) < 1e-9  # 0.1 left: settle wins
    now[0] += 5
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0) == 0.2  # quiet for long: a user's edit
    assert triggers.wait_before(("ns", "other"), settle=0.2, spacing=1.0) == 0.2  # per environment
    triggers.forget(KEY)
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0) == 0.2


def test_the_spacing_doubles_while_an_environment_stays_busy_and_resets_when_quiet():
    now = [1000.0]
    triggers = Triggers(clock=lambda: now[0])

    def spaced_sync(after: float) -> float:
        """An event `after` seconds after the last sync ended; the sync runs when it was told."""
        now[0] += after
        wait = triggers.wait_before(KEY, settle=0.2, spacing=1.0, max_spacing=4.0)
        now[0] += wait
        assert triggers.claim(KEY)
        triggers.run_claimed(KEY, lambda: None)  # an event's sync
        return wait

    triggers.run(KEY, lambda: None)  # the create's sync
    # Children change 0.3 s after every sync: the waits grow 1, 2, 4 s (less 0.3), then stay.
    waits = [spaced_sync(0.3) for _ in range(5)]
    assert [round(w, 6) for w in waits] == [0.7, 1.7, 3.7, 3.7, 3.7]
    # Quiet for a whole spacing (4 s): a user's edit waits only the settle, and spacing is 1 s again.
    assert spaced_sync(4.0) == 0.2
    assert round(spaced_sync(0.3), 6) == 0.7
    # Without a maximum (or one below the base) the spacing never grows.
    now[0] += 0.3
    assert round(triggers.wait_before(("ns", "b"), settle=0.2, spacing=1.0), 6) == 0.2
    triggers.run(("ns", "b"), lambda: None)
    for _ in range(3):
        now[0] += 0.3
        assert round(triggers.wait_before(("ns", "b"), settle=0.2, spacing=1.0, max_spacing=0.5), 6) == 0.7
        triggers.run(("ns", "b"), lambda: None)
    triggers.forget(KEY)
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0, max_spacing=4.0) == 0.2


def test_a_handler_sync_or_a_timer_pass_resets_a_grown_spacing():
    now = [1000.0]
    triggers = Triggers(clock=lambda: now[0])

    def grow():
        triggers.run(KEY, lambda: None)
        for _ in range(3):  # a burst: the spacing grows to 4 s
            now[0] += 0.3
            now[0] += triggers.wait_before(KEY, settle=0.2, spacing=1.0, max_spacing=4.0)
            triggers.run_claimed(KEY, lambda: None)

    grow()
    now[0] += 10
    triggers.run(KEY, lambda: None)  # a spec edit's sync, long after the burst
    now[0] += 2
    # A baseline edit 2 s later: spaced by the base second only, which has passed.
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0, max_spacing=4.0) == 0.2
    grow()
    now[0] += 10
    assert triggers.claim(KEY)
    triggers.run_claimed(KEY, lambda: None, spaces_next=False)  # a timer's pass
    assert triggers.claim(KEY)
    triggers.run_claimed(KEY, lambda: None)  # then a child's event sync
    now[0] += 1.5
    # The next child event, 1.5 s later: the base spacing has passed (a kept 4 s would wait 2.5 s).
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0, max_spacing=4.0) == 0.2


def test_a_timer_pass_does_not_space_the_next_event_sync_but_a_sync_handed_to_it_does():
    now = [1000.0]
    triggers = Triggers(clock=lambda: now[0])
    triggers.run(KEY, lambda: None)  # an event's sync ends at 1000.0
    now[0] += 5
    assert triggers.claim(KEY)
    triggers.run_claimed(KEY, lambda: None, spaces_next=False)  # the timer's pass ends at 1005.0
    now[0] += 0.3
    assert triggers.wait_before(KEY, settle=0.2, spacing=1.0) == 0.2  # a child edit: only the settle

    # A child event's sync handed over to a running timer pass is an event's sync: it spaces.
    def timer_pass():
        assert triggers.claim(KEY)
        triggers.run_claimed(KEY, lambda: None)  # deferred to this holder, runs after it
    assert triggers.claim(KEY)
    triggers.run_claimed(KEY, timer_pass, spaces_next=False)
    now[0] += 0.3
    assert abs(triggers.wait_before(KEY, settle=0.2, spacing=1.0) - 0.7) < 1e-9


def test_a_sync_ending_after_its_environment_was_forgotten_leaves_no_entry():
    triggers = Triggers(clock=lambda: 50.0)

    def forgotten_meanwhile():
        triggers.forget(KEY)

    triggers.run(KEY, forgotten_meanwhile)
    assert triggers.wait_before(KEY, settle=0.0, spacing=10.0) == 0.0
    assert len(triggers) == 0

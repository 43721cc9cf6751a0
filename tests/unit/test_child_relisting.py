"""Child events after a watch resumed with 410 Gone: kopf lists again and delivers every child
as a listing (type None). For an environment this process has synced already, that listing is
the only news of a change made while the stream was down, so it syncs; at start-up it does not
(environments resume on their own)."""

from __future__ import annotations

import asyncio

import kopf

from parity import constants
from parity.handlers import children
from parity.handlers.triggers import Triggers


def run(monkeypatch, event_type, known: bool) -> list[tuple]:
    calls = []
    monkeypatch.setattr(children, "request_sync", lambda memo, ns, name, **kw: calls.append((ns, name, kw["trigger"])))
    memo = kopf.Memo()
    memo.triggers = Triggers()
    if known:
        memo.triggers.run(("ns", "dev"), lambda: None)
    asyncio.run(children.child_changed(namespace="ns", labels={constants.LABEL_ENVIRONMENT: "dev"}, type=event_type,
                                       memo=memo))
    return calls


def test_a_listing_at_start_up_does_not_sync(monkeypatch):
    assert run(monkeypatch, None, known=False) == []


def test_a_listing_after_a_resume_syncs_an_environment_already_synced(monkeypatch):
    assert run(monkeypatch, None, known=True) == [("ns", "dev", "child")]


def test_a_change_always_syncs(monkeypatch):
    assert run(monkeypatch, "MODIFIED", known=False) == [("ns", "dev", "child")]


def test_triggers_know_an_environment_until_it_is_forgotten():
    triggers = Triggers()
    assert not triggers.knows(("ns", "dev"))
    triggers.run(("ns", "dev"), lambda: None)
    assert triggers.knows(("ns", "dev"))
    triggers.forget(("ns", "dev"))
    assert not triggers.knows(("ns", "dev"))

"""`parity observability up|down`: when the wait is over (pure), and its bad input."""

import pytest

from parity.cli.errors import CliError
from parity.cli.main import main
from parity.cli.observability import observability_progress


def env(generation=2, observed=2, components=None, stalled=None):
    conditions = []
    if stalled:
        conditions.append({"type": "Stalled", "status": "True", "reason": stalled, "message": "no"})
    return {"metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "components": components or {}, "conditions": conditions}}


def test_up_waits_for_the_generation_then_every_workload_ready():
    assert observability_progress(env(observed=1), True, 0) == (False, "the operator has not reconciled generation 2 "
                                                                       "yet (observed 1)")
    assert observability_progress(env(), True, 0)[0] is False
    assert observability_progress(env(components={"observability": {"ready": 1, "desired": 3}}), True, 0) == \
        (False, "observability 1/3 ready")
    assert observability_progress(env(components={"observability": {"ready": 3, "desired": 3}}), True, 0) == \
        (True, "observability 3/3 ready")


def test_down_waits_until_no_workload_is_left():
    assert observability_progress(env(), False, 2) == (False, "2 observability workload(s) still present")
    assert observability_progress(env(observed=1), False, 0)[0] is False
    # A stale status entry does not matter: the workloads are what counts.
    assert observability_progress(env(components={"observability": {"ready": 3, "desired": 3}}), False, 0) == \
        (True, "observability removed")


def test_a_refused_change_fails_at_once():
    with pytest.raises(CliError, match="Stalled: InvalidSpec"):
        observability_progress(env(stalled="InvalidSpec"), True, 0)
    # A Stalled condition of an older generation is not about this change.
    assert observability_progress(env(observed=1, stalled="Old"), True, 0)[0] is False


def test_unknown_action_is_one_line(capsys):
    assert main(["observability", "sideways", "dev"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["parity: observability: 'sideways' is not one of up, down"]

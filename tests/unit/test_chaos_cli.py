"""`parity chaos`: the experiments by name, the report's JSON shape and its exit code."""

from __future__ import annotations

import json

import pytest

from parity.chaos import experiments
from parity.chaos.experiments import EXPERIMENTS, Experiment
from parity.chaos.report import ChaosReport, Invariant, exit_code, render_text
from parity.cli.main import main


def test_list_names_every_experiment_one_per_line(capsys):
    assert main(["chaos", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == list(EXPERIMENTS)
    assert {"patroni-partition", "redis-freeze", "etcd-member-loss", "replica-latency"} <= set(EXPERIMENTS)


def test_an_unknown_experiment_is_one_line_and_exit_1(capsys):
    assert main(["chaos", "run", "nope", "-n", "ns", "dev"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown experiment 'nope'" in err and "Traceback" not in err


def test_an_experiment_that_cannot_run_here_says_why(capsys):
    assert experiments.EXPERIMENTS["replica-latency"].run is None
    assert main(["chaos", "run", "replica-latency", "-n", "ns", "dev"]) == 1
    err = capsys.readouterr().err
    assert "sch_netem" in err and err.count("\n") == 1
    # The others run for real (tests/e2e/test_drills_on_node.py).
    assert all(experiments.EXPERIMENTS[n].run for n in ("patroni-partition", "redis-freeze", "etcd-member-loss"))


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    """The CLI's context (cluster client, node runtime) replaced for the fake experiments."""
    from types import SimpleNamespace

    from parity.cli import chaos as chaos_cli

    monkeypatch.setattr(chaos_cli, "_context",
                        lambda args, seed: SimpleNamespace(seed=seed, kube=SimpleNamespace(close=lambda: None)))


def fake(held: list[bool]):
    def run(ctx):
        return ChaosReport(experiment="fake", seed=ctx.seed,
                           invariants=[Invariant(f"inv{i}", h, f"evidence {i}") for i, h in enumerate(held)],
                           figures={"lost_writes": 0}, timeline=[(0.0, "fault"), (1.5, "healed")])
    return run


@pytest.mark.parametrize("held,code", [([True, True], 0), ([True, False], 1), ([], 1)])
def test_run_prints_one_json_object_and_exits_0_only_when_every_invariant_held(monkeypatch, capsys, held, code):
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", Experiment("fake", "a test double", fake(held)))
    assert main(["chaos", "run", "fake", "-n", "ns", "dev", "--seed", "7", "-o", "json"]) == code
    report = json.loads(capsys.readouterr().out)
    assert report["experiment"] == "fake" and report["seed"] == 7
    assert report["invariants"] == [{"name": f"inv{i}", "held": h, "evidence": f"evidence {i}"} for i, h in enumerate(held)]
    assert report["figures"] == {"lost_writes": 0}


def test_text_report_names_broken_invariants_and_an_empty_check():
    broken = ChaosReport("x", 1, [Invariant("no split brain", False, "two primaries at 3.2s")])
    assert "BROKEN  no split brain: two primaries at 3.2s" in render_text(broken) and exit_code(broken) == 1
    assert "proved nothing" in render_text(ChaosReport("x", 1))


def test_without_a_seed_one_is_chosen_and_reported(monkeypatch, capsys):
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", Experiment("fake", "a test double", fake([True])))
    assert main(["chaos", "run", "fake", "-n", "ns", "dev", "-o", "json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["seed"], int)


@pytest.mark.parametrize("dns_env", [None, "10.96.0.10"])
def test_a_service_that_cannot_be_reached_is_one_line_and_exit_1(monkeypatch, capsys, dns_env):
    import psycopg

    def unresolvable(ctx):
        raise psycopg.OperationalError("failed to resolve host 'dev-postgres-primary.ns.svc': "
                                       "[Errno -2] Name or service not known")

    if dns_env is None:
        monkeypatch.delenv("PARITY_CLUSTER_DNS", raising=False)
    else:
        monkeypatch.setenv("PARITY_CLUSTER_DNS", dns_env)
        # Only the message is under test: the process's resolver stays as it is.
        monkeypatch.setattr("parity.cli.main.install_cluster_dns", lambda: None)
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", Experiment("fake", "a test double", unresolvable))
    assert main(["chaos", "run", "fake", "-n", "ns", "dev", "--seed", "3"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "chaos fake (seed 3): the environment's services cannot be reached" in captured.err
    assert "dev-postgres-primary.ns.svc" in captured.err
    # The hint only where it is the likely cause: the variable is not set.
    assert ("set PARITY_CLUSTER_DNS=10.96.0.10" in captured.err) == (dns_env is None)

"""The sample and the shipped baselines describe topologies the operator will build."""

from pathlib import Path

import pytest
import yaml

from parity.api import EnvironmentSpec, parse_baseline, parse_environment
from parity.render.checks import check_combinations

REPO = Path(__file__).resolve().parents[2]


def test_sample_passes_the_combination_checks():
    doc = yaml.safe_load((REPO / "manifests/samples/dev.yaml").read_text())
    assert check_combinations(parse_environment(doc["spec"])) == []


@pytest.mark.parametrize("name", ["staging", "production"])
def test_baseline_environments_pass_the_combination_checks(name):
    doc = yaml.safe_load((REPO / f"baselines/{name}.yaml").read_text())
    sections = parse_baseline(doc["spec"]).environment
    spec = EnvironmentSpec(etcd=sections.etcd, postgres=sections.postgres, redis=sections.redis,
                           observability=sections.observability)
    assert check_combinations(spec) == []

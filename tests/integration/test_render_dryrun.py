"""Every rendered manifest, for several spec variants, is accepted by the real API server through
the operator's own write path (server-side apply, strict field validation, dry run)."""

from __future__ import annotations

import pytest

from parity.api import parse_environment
from parity.kube.apply import apply_object, with_hash
from parity.kube.client import Kube
from parity.render.checks import check_combinations
from parity.render.environment import build_children
from parity.render.postgres import generate_passwords
from render_variants import VARIANTS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kube(control_plane):
    client = Kube.connect(str(control_plane.kubeconfig))
    yield client
    client.close()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_child_passes_server_side_dry_run(kube, control_plane, namespace, name):
    spec = parse_environment(VARIANTS[name], source=name)
    assert check_combinations(spec) == []
    children = build_children("dev", namespace, "00000000-0000-0000-0000-000000000042", spec,
                              secret_values=generate_passwords())
    assert children
    accepted = [apply_object(kube, with_hash(child), dry_run=True) for child in children]
    assert [(a["kind"], a["metadata"]["name"]) for a in accepted] == [(c["kind"], c["metadata"]["name"]) for c in children]
    # Nothing was stored.
    listed = control_plane.kubectl("get", "statefulsets,configmaps", "-n", namespace, "-o", "name").stdout
    assert "dev-" not in listed

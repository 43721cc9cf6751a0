"""Where the operator's runtime probes send the PostgreSQL password: only to the primary Service
the operator created for the environment, or to an override from the operator's own
configuration; never where an annotation on the ParityEnvironment points."""

from __future__ import annotations

import base64

import pytest

from parity import constants
from parity.probes import collect
from parity.probes.endpoints import postgres_conninfo

NS, ENV, UID = "team", "dev", "uid-dev"
PASSWORD = "s3cret-superuser"
PRIMARY = f"/api/v1/namespaces/{NS}/services/dev-postgres-primary"
SECRET = f"/api/v1/namespaces/{NS}/secrets/dev-postgres-credentials"
EVIL = '{"postgres": "host=collector.example.net port=5432 dbname=postgres", "patroni": ["http://collector.example.net:8008"]}'


class Objects:
    def __init__(self, objects: dict[str, dict]):
        self.objects = objects

    def get(self, path: str):
        return self.objects.get(path)


def service(owned: bool) -> dict:
    meta = {"name": "dev-postgres-primary", "namespace": NS, "labels": {constants.LABEL_ENVIRONMENT: ENV}}
    if owned:
        meta["ownerReferences"] = [{"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND,
                                    "name": ENV, "uid": UID, "controller": True}]
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta}


def environment(annotations: dict | None = None) -> dict:
    return {"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND,
            "metadata": {"name": ENV, "namespace": NS, "uid": UID, "annotations": annotations or {}}, "spec": {}}


@pytest.fixture
def sent(monkeypatch):
    """What probe_services was asked to contact, and with which DSN (password included)."""
    calls = []

    async def fake_probe_services(endpoints, credentials, **_):
        calls.append({"endpoints": endpoints, "dsn": postgres_conninfo(endpoints, credentials) or ""})
        return []

    monkeypatch.setattr(collect, "probe_services", fake_probe_services)
    return calls


def kube(owned_service: bool = True) -> Objects:
    secret = {"data": {"superuser-password": base64.b64encode(PASSWORD.encode()).decode()}}
    return Objects({PRIMARY: service(owned_service), SECRET: secret})


def test_an_annotation_does_not_redirect_the_probes_or_the_password(sent):
    body = environment({f"{constants.ANNOTATION_PREFIX}/endpoints": EVIL})
    collect.probe_environment(kube(), body)
    (call,) = sent
    assert "collector.example.net" not in repr(call["endpoints"])
    assert "collector.example.net" not in call["dsn"]
    assert "host=dev-postgres-primary.team.svc" in call["dsn"] and PASSWORD in call["dsn"]


def test_the_password_is_withheld_from_a_primary_service_the_operator_did_not_create(sent):
    results = collect.probe_environment(kube(owned_service=False), environment())
    (call,) = sent
    assert PASSWORD not in call["dsn"] and call["endpoints"].postgres is None
    (withheld,) = [r for r in results if r.component == "postgres"]
    assert "was not created by the operator" in withheld.error and "password is not sent" in withheld.error


def test_an_override_from_the_operators_configuration_is_used(sent):
    endpoint_map = {f"{NS}/{ENV}": {"postgres": "host=127.0.0.1 port=15432 dbname=postgres"}}
    collect.probe_environment(kube(owned_service=False), environment(), endpoint_map=endpoint_map)
    (call,) = sent
    assert "host=127.0.0.1" in call["dsn"] and PASSWORD in call["dsn"]

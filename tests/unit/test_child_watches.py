"""What the operator watches: no Secrets at all, and every child kind only through a label
selector that the API server applies (kopf puts settings.watching.label_selectors on the list
and watch requests; a handler's `labels=` alone filters after the stream has arrived)."""

from __future__ import annotations

import kopf
from kopf._cogs.structs.references import Resource

import parity.handlers  # noqa: F401  (registers the handlers)
from parity import constants
from parity.handlers.children import CHILD_KINDS, CHILD_SELECTOR, configure_child_watches


def watched_selectors():
    registry = kopf.get_default_registry()
    return [h.selector for h in registry._watching.get_all_handlers()]


def resource(group: str, version: str, plural: str) -> Resource:
    kind = plural[:-1].capitalize()
    return Resource(group, version, plural, kind=kind, namespaced=True)


def test_no_handler_watches_secrets():
    secrets = resource("", "v1", "secrets")
    assert not [s for s in watched_selectors() if s.check(secrets)]
    assert not [k for k in CHILD_KINDS if k[2] == "secrets"]


def test_every_watched_child_kind_is_filtered_on_the_server():
    settings = kopf.OperatorSettings()
    configure_child_watches(settings)
    for group, version, plural in CHILD_KINDS:
        assert settings.watching.label_selectors.collect(resource(group, version, plural)) == [CHILD_SELECTOR]
    # The selector is the label pair every child carries.
    assert CHILD_SELECTOR == f"{constants.LABEL_MANAGED_BY}={constants.MANAGED_BY},{constants.LABEL_ENVIRONMENT}"
    # Every kind with a child handler is in CHILD_KINDS; nothing else (environments, baselines,
    # namespaces, CRDs) gets our selector.
    child_handlers = [s for s in watched_selectors() if s.group != constants.GROUP]
    assert {(s.group, s.version, s.plural) for s in child_handlers} == set(CHILD_KINDS)
    for other in (Resource(constants.GROUP, constants.VERSION, constants.ENVIRONMENT_PLURAL, namespaced=True),
                  Resource("", "v1", "namespaces", namespaced=False)):
        assert settings.watching.label_selectors.collect(other) == []


def test_the_startup_handler_installs_the_selectors(monkeypatch):
    from parity.handlers import startup

    monkeypatch.setattr(startup.Kube, "connect", classmethod(lambda cls: type("K", (), {"host": "x"})()))
    monkeypatch.setattr(startup.metrics, "serve", lambda port: None)
    settings, memo = kopf.OperatorSettings(), kopf.Memo()
    startup.configure(settings=settings, memo=memo, logger=__import__("logging").getLogger("t"))
    assert settings.watching.label_selectors.collect(resource("", "v1", "configmaps")) == [CHILD_SELECTOR]

"""Shared metadata, apply order and determinism of the whole child set."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from parity import constants as c
from parity.api.models import EnvironmentSpec
from parity.render.postgres import PASSWORD_KEYS
from parity.render import (
    ROLE_LABEL,
    APPLY_ORDER,
    build_children,
    build_metadata,
    check_combinations,
    child_key,
    generate_passwords,
    selector_labels,
)

ENV, NS, UID = "dev", "team-a", "0b7c6a0e-1111-2222-3333-444455556666"
ALL_ON = {"observability": {"enabled": True}}
WORKLOAD_KINDS = {"StatefulSet", "Deployment"}
SECTION_ORDER = [c.COMPONENT_ETCD, c.COMPONENT_POSTGRES, c.COMPONENT_REDIS, c.COMPONENT_OBSERVABILITY]
KNOWN_API_VERSIONS = {
    "ServiceAccount": "v1", "Secret": "v1", "ConfigMap": "v1", "Service": "v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
    "StatefulSet": "apps/v1", "Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}


def make_spec(raw: dict | None = None) -> EnvironmentSpec:
    return EnvironmentSpec.model_validate(raw or {})


def render(raw: dict | None = None, **kwargs) -> list[dict]:
    return build_children(ENV, NS, UID, make_spec(raw), **kwargs)


def test_build_metadata_sets_every_standard_label_and_the_owner():
    metadata = build_metadata(ENV, NS, UID, c.COMPONENT_POSTGRES, "dev-postgres", app="patroni", version="16",
                              annotations={"b": "2", "a": "1"})
    assert metadata["name"] == "dev-postgres"
    assert metadata["namespace"] == NS
    assert metadata["labels"] == {
        c.LABEL_NAME: "patroni",
        c.LABEL_INSTANCE: ENV,
        c.LABEL_COMPONENT: c.COMPONENT_POSTGRES,
        c.LABEL_PART_OF: "parity",
        c.LABEL_MANAGED_BY: "parity-operator",
        c.LABEL_ENVIRONMENT: ENV,
        c.LABEL_VERSION: "16",
    }
    assert metadata["ownerReferences"] == [{
        "apiVersion": "parity.dev/v1alpha1", "kind": "ParityEnvironment", "name": ENV, "uid": UID,
        "controller": True, "blockOwnerDeletion": True,
    }]
    assert list(metadata["annotations"]) == ["a", "b"]


def test_build_metadata_app_defaults_to_component_and_version_is_optional():
    metadata = build_metadata(ENV, NS, UID, c.COMPONENT_ETCD, "dev-etcd")
    assert metadata["labels"][c.LABEL_NAME] == c.COMPONENT_ETCD
    assert c.LABEL_VERSION not in metadata["labels"]
    assert "annotations" not in metadata


def test_selector_labels_are_a_stable_subset_without_version():
    selector = selector_labels(ENV, "redis")
    labels = build_metadata(ENV, NS, UID, c.COMPONENT_REDIS, "x", app="redis", version="7.2")["labels"]
    assert c.LABEL_VERSION not in selector
    assert selector.items() <= labels.items()
    assert selector[c.LABEL_NAME] == "redis" and selector[c.LABEL_INSTANCE] == ENV


def test_every_child_is_complete_labelled_and_owned():
    children = render(ALL_ON, secret_values=generate_passwords())
    assert children
    for obj in children:
        kind = obj["kind"]
        assert obj["apiVersion"] == KNOWN_API_VERSIONS[kind], kind
        metadata = obj["metadata"]
        assert metadata["name"].startswith(f"{ENV}-")
        assert metadata["namespace"] == NS
        assert metadata["labels"][c.LABEL_ENVIRONMENT] == ENV
        assert metadata["labels"][c.LABEL_INSTANCE] == ENV
        assert metadata["labels"][c.LABEL_MANAGED_BY] == c.MANAGED_BY
        assert metadata["labels"][c.LABEL_PART_OF] == c.PART_OF
        assert metadata["labels"][c.LABEL_COMPONENT] in SECTION_ORDER
        assert metadata["ownerReferences"][0]["uid"] == UID
        assert metadata["ownerReferences"][0]["controller"] is True
        assert "status" not in obj
        assert set(metadata) <= {"name", "namespace", "labels", "annotations", "ownerReferences"}


def test_children_have_unique_identities():
    children = render(ALL_ON, secret_values=generate_passwords())
    keys = [child_key(obj) for obj in children]
    assert len(keys) == len(set(keys))


def test_workload_selectors_match_their_pod_templates_and_services_select_existing_pods():
    children = render(ALL_ON)
    pod_label_sets = []
    for obj in children:
        if obj["kind"] in WORKLOAD_KINDS:
            selector = obj["spec"]["selector"]["matchLabels"]
            template_labels = obj["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= template_labels.items(), obj["metadata"]["name"]
            assert c.LABEL_VERSION not in selector
            pod_label_sets.append(template_labels)
    for obj in children:
        if obj["kind"] == "Service":
            selector = dict(obj["spec"]["selector"])
            selector.pop(ROLE_LABEL, None)  # set on the pods at runtime by the role callback
            assert any(selector.items() <= labels.items() for labels in pod_label_sets), obj["metadata"]["name"]


def test_apply_order_puts_identity_and_configuration_before_workloads():
    children = render(ALL_ON, secret_values=generate_passwords())
    kinds = [obj["kind"] for obj in children]
    first_workload = min(i for i, kind in enumerate(kinds) if kind in WORKLOAD_KINDS)
    for kind in ("ServiceAccount", "RoleBinding", "Secret", "ConfigMap", "Service"):
        assert max(i for i, k in enumerate(kinds) if k == kind) < first_workload, kind
    ranks = [APPLY_ORDER.index(kind) if kind != "Deployment" else APPLY_ORDER.index("StatefulSet") for kind in kinds]
    assert ranks == sorted(ranks)


def test_within_a_tier_sections_come_in_order_etcd_postgres_redis_observability():
    children = render(ALL_ON)
    for tier in ({"Service"}, {"ConfigMap"}, WORKLOAD_KINDS):
        components = [obj["metadata"]["labels"][c.LABEL_COMPONENT] for obj in children if obj["kind"] in tier]
        positions = [SECTION_ORDER.index(component) for component in components]
        assert positions == sorted(positions), tier
    workloads = [obj["metadata"]["name"] for obj in children if obj["kind"] in WORKLOAD_KINDS]
    assert workloads[:2] == ["dev-etcd", "dev-postgres"]


def test_rendering_twice_gives_byte_identical_output():
    passwords = generate_passwords()
    first = render(ALL_ON, secret_values=passwords)
    second = render(ALL_ON, secret_values=dict(reversed(list(passwords.items()))))
    assert first == second
    assert json.dumps(first) == json.dumps(second)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_map_order_in_the_spec_does_not_change_the_output():
    a = render({"postgres": {"parameters": {"work_mem": "8MB", "max_connections": "200"}},
                "redis": {"config": {"maxmemory": "64mb", "appendonly": "yes"}}})
    b = render({"postgres": {"parameters": {"max_connections": "200", "work_mem": "8MB"}},
                "redis": {"config": {"appendonly": "yes", "maxmemory": "64mb"}}})
    assert json.dumps(a) == json.dumps(b)


def test_a_different_owner_uid_or_namespace_changes_only_what_it_should():
    base = render()
    other = build_children(ENV, "team-b", "another-uid", make_spec())
    assert len(base) == len(other)
    assert all(obj["metadata"]["namespace"] == "team-b" for obj in other)
    assert all(obj["metadata"]["ownerReferences"][0]["uid"] == "another-uid" for obj in other)
    assert "team-a" not in json.dumps(other)


def test_resources_are_copied_into_containers_only_when_set():
    without = render()
    for obj in without:
        if obj["kind"] in WORKLOAD_KINDS:
            for container in obj["spec"]["template"]["spec"]["containers"]:
                # Sentinel's default (spec.redis.sentinel.resources) is tested in test_render_disruption.py.
                assert "resources" not in container or container["name"] == "sentinel"
    resources = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}
    children = render({"etcd": {"resources": resources}, "postgres": {"resources": resources},
                       "redis": {"resources": resources}})
    by_name = {obj["metadata"]["name"]: obj for obj in children if obj["kind"] == "StatefulSet"}
    for name in ("dev-etcd", "dev-postgres", "dev-redis"):
        container = by_name[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"] == resources, name
    assert by_name["dev-sentinel"]["spec"]["template"]["spec"]["containers"][0]["resources"] != resources


_spec_strategy = st.fixed_dictionaries({
    "etcd": st.fixed_dictionaries({"replicas": st.sampled_from([1, 3, 5, 7])}),
    "postgres": st.fixed_dictionaries({
        "replicas": st.integers(1, 9),
        "version": st.sampled_from(["13", "14", "15", "16", "17"]),
        "parameters": st.dictionaries(st.from_regex(r"[a-z_]{3,12}", fullmatch=True), st.text("abc0123", max_size=5),
                                      max_size=4),
        "storage": st.fixed_dictionaries({"retainOnDelete": st.booleans()}),
    }),
    "redis": st.fixed_dictionaries({"mode": st.sampled_from(["standalone", "sentinel"]),
                                    "replicas": st.integers(1, 9)}),
    "observability": st.fixed_dictionaries({
        "enabled": st.booleans(),
        "prometheus": st.fixed_dictionaries({"enabled": st.booleans()}),
        "grafana": st.fixed_dictionaries({"enabled": st.booleans()}),
        "jaeger": st.fixed_dictionaries({"enabled": st.booleans()}),
        "otelCollector": st.fixed_dictionaries({"enabled": st.booleans()}),
        "exporters": st.fixed_dictionaries({"enabled": st.booleans()}),
    }),
})


@settings(max_examples=60, deadline=None)
@given(raw=_spec_strategy, with_secret=st.booleans())
def test_any_valid_spec_renders_deterministically_with_unique_labelled_children(raw, with_secret):
    spec = make_spec(raw)
    passwords = {key: key[0] * 8 for key in PASSWORD_KEYS}
    kwargs = {"secret_values": passwords} if with_secret else {}
    first = build_children(ENV, NS, UID, spec, **kwargs)
    second = build_children(ENV, NS, UID, spec, **kwargs)
    assert json.dumps(first) == json.dumps(second)
    keys = [child_key(obj) for obj in first]
    assert len(keys) == len(set(keys))
    assert all(obj["metadata"]["labels"][c.LABEL_ENVIRONMENT] == ENV for obj in first)
    assert any(obj["kind"] == "Secret" for obj in first) == with_secret
    found: list = []
    _containers(first, found)
    assert len({id(x) for x in found}) == len(found)
    # The checks never crash on a valid spec either.
    assert isinstance(check_combinations(spec), list)


def test_secret_is_only_rendered_when_values_are_given():
    assert not [obj for obj in render() if obj["kind"] == "Secret"]
    secrets = [obj for obj in render(secret_values=generate_passwords()) if obj["kind"] == "Secret"]
    assert [obj["metadata"]["name"] for obj in secrets] == ["dev-postgres-credentials"]


def _containers(value, found: list) -> None:
    if isinstance(value, (dict, list)):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            _containers(item, found)


def test_no_dict_or_list_is_shared_so_callers_may_mutate_the_output():
    children = render(ALL_ON, secret_values=generate_passwords())
    found: list = []
    _containers(children, found)
    assert len({id(x) for x in found}) == len(found)
    for obj in children:
        obj["metadata"].setdefault("annotations", {})["mutated"] = "yes"
        obj["metadata"]["labels"].clear()
    assert json.dumps(render(ALL_ON)) == json.dumps(build_children(ENV, NS, UID, make_spec(ALL_ON)))
    assert "mutated" not in json.dumps(render(ALL_ON))


def test_rendered_config_files_repeat_values_instead_of_yaml_aliases():
    config_maps = [obj for obj in render(ALL_ON) if obj["kind"] == "ConfigMap"]
    assert config_maps
    for obj in config_maps:
        for key, text in obj["data"].items():
            assert "&id0" not in text and "*id0" not in text, f"{obj['metadata']['name']}/{key}"


def test_the_libyaml_emitter_writes_what_the_pure_python_one_does_for_every_rendered_variant(monkeypatch):
    # Config hashes and rolls follow the rendered text: switching emitters must not change a byte.
    import yaml

    from parity.render import common, observability, postgres
    from parity.api import parse_environment
    from render_variants import VARIANTS

    assert common._PlainDumper.__mro__[1] is yaml.CSafeDumper  # the fast path is the one in use

    class PurePlain(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    dumped = []

    def recording(data):
        text = common.dump_yaml(data)
        dumped.append((data, text))
        return text

    monkeypatch.setattr(postgres, "dump_yaml", recording)
    monkeypatch.setattr(observability, "dump_yaml", recording)
    for name, raw in VARIANTS.items():
        build_children(ENV, NS, UID, parse_environment(raw, source=name), secret_values=generate_passwords())
    assert len(dumped) >= len(VARIANTS)
    for data, text in dumped:
        assert text == yaml.dump(data, Dumper=PurePlain, sort_keys=True, default_flow_style=False, allow_unicode=True)

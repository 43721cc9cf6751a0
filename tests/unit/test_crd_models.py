"""The CRD schemas (crds/*.yaml) and the pydantic models (parity.api.models) must agree.

Walks both in both directions: every model field is a typed CRD property with the same default,
enum and bounds, and every CRD property is a model field. Also checks that the committed CRD files
are exactly what operator/parity/crds.py generates, and that the shipped baselines and sample parse.
"""

from __future__ import annotations

import copy
import string
import types
from inspect import isclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from parity import constants as c
from parity.api import models
from parity.api.errors import SpecError, parse_baseline, parse_environment
from parity.api.models import BaselineSpec, EnvironmentSpec, EtcdSpec
from parity.api.notifier import NotifierSpec
from parity.crds import CRD_FILES, render_crd_files
from parity.drift.declared import evaluate_declared
from parity.drift.paths import match_path
from parity.drift.rules import find_rule, rules_of

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"
MALFORMED = yaml.safe_load((REPO / "tests" / "data" / "malformed-specs.yaml").read_text())
CONSTRAINT_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                       "pattern", "minItems", "maxItems", "minProperties", "maxProperties", "format")
CONSTRAINT_ATTRIBUTES = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum",
                         "min_length": "minLength", "max_length": "maxLength", "pattern": "pattern"}


def load_crd(kind: str) -> dict:
    return yaml.safe_load((CRD_DIR / CRD_FILES[kind]).read_text())


def version_of(crd: dict) -> dict:
    (version,) = crd["spec"]["versions"]
    return version


def root_schema(crd: dict) -> dict:
    return version_of(crd)["schema"]["openAPIV3Schema"]


def spec_schema(kind: str) -> dict:
    return root_schema(load_crd(kind))["properties"]["spec"]


def status_schema() -> dict:
    return root_schema(load_crd(c.ENVIRONMENT_KIND))["properties"]["status"]


def apply_defaults(schema: dict, value: Any) -> Any:
    """Structural defaulting as the API server does it: missing properties get their default,
    then defaulting recurses into the result (so `default: {}` fills nested defaults)."""
    if schema.get("type") == "object" and isinstance(value, dict):
        result = dict(value)
        properties = schema.get("properties", {})
        for name, child in properties.items():
            if name not in result and "default" in child:
                result[name] = copy.deepcopy(child["default"])
            if name in result:
                result[name] = apply_defaults(child, result[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name in result:
                if name not in properties:
                    result[name] = apply_defaults(extra, result[name])
        return result
    if schema.get("type") == "array" and isinstance(value, list):
        return [apply_defaults(schema.get("items", {}), item) for item in value]
    return value


def wire(value: Any) -> Any:
    return value.to_wire() if isinstance(value, models.Model) else value


def unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def compare_member_constraints(annotation: Any, schema: dict, path: str) -> list[str]:
    """Constraints of a map value or list item: Annotated[str, StringConstraints(...)] in the
    model, keywords on additionalProperties / items in the CRD."""
    expected: dict[str, Any] = {}
    if get_origin(annotation) is Annotated:
        for meta in get_args(annotation)[1:]:
            expected.update({key: getattr(meta, attr) for attr, key in CONSTRAINT_ATTRIBUTES.items()
                             if getattr(meta, attr, None) is not None})
    actual = {key: schema[key] for key in CONSTRAINT_KEYWORDS if key in schema}
    if expected != actual:
        return [f"{path}: constraints differ: model {expected}, CRD {actual}"]
    return []


def compare_type(annotation: Any, schema: dict, path: str) -> list[str]:
    """Type (and, for nested models and containers, everything below) of one value."""
    problems = []
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)

    def expect(kind: str) -> None:
        if schema.get("type") != kind:
            problems.append(f"{path}: model type {annotation!r} wants CRD type {kind}, CRD has {schema.get('type')}")

    if origin is Literal:
        expect("string")
        if schema.get("enum") != list(get_args(annotation)):
            problems.append(f"{path}: enum differs: model {list(get_args(annotation))}, CRD {schema.get('enum')}")
        return problems
    if "enum" in schema:
        problems.append(f"{path}: CRD has enum {schema['enum']} but the model type is {annotation!r}")
    if annotation is bool:
        expect("boolean")
    elif annotation is int:
        expect("integer")
    elif annotation is str:
        expect("string")
    elif origin is dict:
        expect("object")
        key_type, value_type = get_args(annotation)
        if key_type is not str:
            problems.append(f"{path}: map keys must be strings")
        if "properties" in schema or not isinstance(schema.get("additionalProperties"), dict):
            problems.append(f"{path}: a dict in the model must be an additionalProperties map in the CRD")
        else:
            problems += compare_type(value_type, schema["additionalProperties"], f"{path}.<key>")
            problems += compare_member_constraints(value_type, schema["additionalProperties"], f"{path}.<key>")
    elif origin is list:
        expect("array")
        (item_type,) = get_args(annotation)
        problems += compare_type(item_type, schema.get("items", {}), f"{path}[]")
        if not (isclass(item_type) and issubclass(item_type, BaseModel)):
            problems += compare_member_constraints(item_type, schema.get("items", {}), f"{path}[]")
    elif isclass(annotation) and issubclass(annotation, BaseModel):
        expect("object")
        problems += compare_model(annotation, schema, path)
    else:
        problems.append(f"{path}: the comparison does not know the model type {annotation!r}")
    return problems


def compare_constraints(field: FieldInfo, schema: dict, path: str) -> list[str]:
    expected: dict[str, Any] = {}
    for meta in field.metadata:
        found = {key: getattr(meta, attr) for attr, key in CONSTRAINT_ATTRIBUTES.items()
                 if getattr(meta, attr, None) is not None}
        if not found:
            return [f"{path}: the comparison does not know the model constraint {meta!r}"]
        expected.update(found)
    actual = {key: schema[key] for key in CONSTRAINT_KEYWORDS if key in schema}
    if expected != actual:
        return [f"{path}: constraints differ: model {expected}, CRD {actual}"]
    return []


def compare_default(field: FieldInfo, schema: dict, path: str, required: bool) -> list[str]:
    if field.is_required():
        problems = [] if required else [f"{path}: required in the model, not in the CRD"]
        if "default" in schema:
            problems.append(f"{path}: required in the model but the CRD has default {schema['default']!r}")
        return problems
    if required:
        return [f"{path}: required in the CRD but the model has a default"]
    model_default = wire(field.get_default(call_default_factory=True))
    if model_default is None:
        return [f"{path}: CRD default {schema['default']!r}, the model has none"] if "default" in schema else []
    if "default" not in schema:
        return [f"{path}: model default {model_default!r}, the CRD has none"]
    crd_default = apply_defaults(schema, copy.deepcopy(schema["default"]))
    if crd_default != model_default:
        return [f"{path}: default differs: model {model_default!r}, CRD (after defaulting) {crd_default!r}"]
    return []


def compare_model(model: type[BaseModel], schema: dict, path: str) -> list[str]:
    """Every difference between a model and an object schema, both directions."""
    problems = []
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
        problems.append(f"{path}: a model's object must not accept unknown fields in the CRD")
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    for alias, info in fields.items():
        field_path = f"{path}.{alias}"
        if alias not in properties:
            problems.append(f"{field_path}: in the model, missing from the CRD")
            continue
        prop = properties[alias]
        problems += compare_type(unwrap_optional(info.annotation), prop, field_path)
        problems += compare_constraints(info, prop, field_path)
        problems += compare_default(info, prop, field_path, alias in required)
    for name in properties.keys() - fields.keys():
        problems.append(f"{path}.{name}: in the CRD, missing from the model")
    for name in required - properties.keys():
        problems.append(f"{path}.{name}: required in the CRD but not a property")
    return problems


# --- the generated files -------------------------------------------------------------------------


def test_committed_crds_are_generated_from_crds_module():
    for name, content in render_crd_files().items():
        committed = (CRD_DIR / name).read_text()
        assert committed == content, f"crds/{name} is stale: run `python -m parity.crds --write`"


def test_kustomization_lists_exactly_the_crd_files():
    kustomization = yaml.safe_load((CRD_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(CRD_FILES.values())


@pytest.mark.parametrize("kind", [c.ENVIRONMENT_KIND, c.BASELINE_KIND, c.NOTIFIER_KIND])
def test_crd_names_come_from_constants(kind):
    crd = load_crd(kind)
    plural, short, scope = {
        c.ENVIRONMENT_KIND: (c.ENVIRONMENT_PLURAL, c.ENVIRONMENT_SHORT_NAME, "Namespaced"),
        c.BASELINE_KIND: (c.BASELINE_PLURAL, c.BASELINE_SHORT_NAME, "Cluster"),
        c.NOTIFIER_KIND: (c.NOTIFIER_PLURAL, c.NOTIFIER_SHORT_NAME, "Namespaced"),
    }[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.{c.GROUP}"
    assert crd["spec"]["group"] == c.GROUP
    assert crd["spec"]["scope"] == scope
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"], names["categories"]) == (
        kind, plural, [short], [c.CATEGORY])
    version = version_of(crd)
    assert (version["name"], version["served"], version["storage"]) == (c.VERSION, True, True)


def _walk(schema: dict, path: str):
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _walk(schema["additionalProperties"], f"{path}.<key>")
    if isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"], f"{path}[]")


@pytest.mark.parametrize("kind", [c.ENVIRONMENT_KIND, c.BASELINE_KIND, c.NOTIFIER_KIND])
def test_schema_is_structural_typed_and_described(kind):
    root = root_schema(load_crd(kind))
    for path, node in _walk(root, kind):
        assert "type" in node, f"{path}: no type (the schema must be structural)"
        assert not node.get("x-kubernetes-preserve-unknown-fields"), f"{path}: preserves unknown fields"
        # A map value or a list item of scalars is described by its map or list.
        is_scalar_member = (path.endswith(".<key>") or path.endswith("[]")) and node["type"] != "object"
        if not is_scalar_member and path != f"{kind}.metadata":
            assert node.get("description"), f"{path}: no description (docs/crd-reference.md needs one)"


def test_sections_are_identical_in_both_kinds():
    environment = spec_schema(c.ENVIRONMENT_KIND)["properties"]
    baseline = spec_schema(c.BASELINE_KIND)["properties"]["environment"]["properties"]
    assert list(baseline) == list(models.EnvironmentSections.model_fields)
    for section in baseline:
        assert environment[section] == baseline[section], section


# --- models versus schemas, both directions ------------------------------------------------------


def test_environment_spec_matches_model():
    assert compare_model(EnvironmentSpec, spec_schema(c.ENVIRONMENT_KIND), "spec") == []


def test_baseline_spec_matches_model():
    assert compare_model(BaselineSpec, spec_schema(c.BASELINE_KIND), "spec") == []


def test_notifier_spec_matches_model():
    assert compare_model(NotifierSpec, spec_schema(c.NOTIFIER_KIND), "spec") == []


@pytest.mark.parametrize("kind, spec_model", [(c.ENVIRONMENT_KIND, EnvironmentSpec), (c.BASELINE_KIND, BaselineSpec)])
def test_empty_spec_defaults_like_the_model(kind, spec_model):
    schema = spec_schema(kind)
    assert schema["default"] == {}
    assert apply_defaults(schema, {}) == spec_model().to_wire()


def _mutate(schema: dict, dotted: str, change) -> dict:
    schema = copy.deepcopy(schema)
    node = schema
    for name in dotted.split("."):
        node = node["properties"][name]
    change(node)
    return schema


SCHEMA_MUTATIONS = {
    "spec.etcd.version": lambda node: node["properties"]["etcd"]["properties"].pop("version"),
    "spec.etcd.foo": lambda node: node["properties"]["etcd"]["properties"].update(foo={"type": "string"}),
    "spec.postgres.patroni.ttl": lambda node: node["properties"]["postgres"]["properties"]["patroni"][
        "properties"]["ttl"].update(default=31),
    "spec.redis.mode": lambda node: node["properties"]["redis"]["properties"]["mode"]["enum"].append("cluster"),
    "spec.etcd.replicas": lambda node: node["properties"]["etcd"]["properties"]["replicas"].update(maximum=9),
    "spec.postgres.version": lambda node: node["properties"]["postgres"]["properties"]["version"].update(
        pattern="^[0-9]+$"),
    "spec.baselineRef.name": lambda node: node["properties"]["baselineRef"].pop("required"),
    "spec.postgres.patroni.synchronousMode": lambda node: node["properties"]["postgres"]["properties"][
        "patroni"]["properties"]["synchronousMode"].update(type="string"),
    "spec.redis.config": lambda node: node["properties"]["redis"]["properties"]["config"].update(default=None),
    "spec.observability.grafana": lambda node: node["properties"]["observability"]["properties"]["grafana"][
        "properties"]["enabled"].update(default=False),
    "spec.drift.ignore": lambda node: node["properties"]["drift"]["properties"]["ignore"].update(
        items={"type": "integer"}),
    "spec.redis.config.<key>": lambda node: node["properties"]["redis"]["properties"]["config"][
        "additionalProperties"].pop("pattern"),
    "spec.postgres.storage.size": lambda node: node["properties"]["postgres"]["properties"]["storage"][
        "properties"]["size"].update(pattern="^[0-9]+[A-Za-z]*$"),
}


@pytest.mark.parametrize("path", list(SCHEMA_MUTATIONS))
def test_comparison_catches_a_schema_change(path):
    schema = copy.deepcopy(spec_schema(c.ENVIRONMENT_KIND))
    SCHEMA_MUTATIONS[path](schema)
    problems = compare_model(EnvironmentSpec, schema, "spec")
    assert any(p.startswith(path) for p in problems), problems


def test_comparison_catches_a_model_change():
    class EtcdWithExtra(EtcdSpec):
        snapshot_count: int = 10000

    class EtcdWithOtherDefault(EtcdSpec):
        version: str = "3.5.16"

    etcd = spec_schema(c.ENVIRONMENT_KIND)["properties"]["etcd"]
    assert compare_model(EtcdSpec, etcd, "spec.etcd") == []
    assert any(p.startswith("spec.etcd.snapshotCount") for p in compare_model(EtcdWithExtra, etcd, "spec.etcd"))
    assert any(p.startswith("spec.etcd.version: default")
               for p in compare_model(EtcdWithOtherDefault, etcd, "spec.etcd"))


# --- cross-field rules ---------------------------------------------------------------------------


def _cel_rules(schema: dict) -> dict[str, list[dict]]:
    return {path: node["x-kubernetes-validations"] for path, node in _walk(schema, "spec")
            if "x-kubernetes-validations" in node}


def test_cel_rules_share_the_model_messages():
    rules = _cel_rules(spec_schema(c.ENVIRONMENT_KIND))
    assert rules == {
        "spec.etcd.replicas": [{"rule": "self % 2 == 1", "message": models.ETCD_ODD_MESSAGE}],
        "spec.postgres.patroni": [{"rule": "self.loopWait + 2 * self.retryTimeout <= self.ttl",
                                   "message": models.PATRONI_TIMING_MESSAGE}],
        "spec.redis.sentinel": [{"rule": "self.quorum <= self.replicas", "message": models.SENTINEL_QUORUM_MESSAGE,
                                 "fieldPath": ".quorum"}],
        "spec.postgres.parameters": [{"rule": models.CONFIG_KEY_RULE, "message": models.CONFIG_KEY_MESSAGE}],
        "spec.redis.config": [{"rule": models.CONFIG_KEY_RULE, "message": models.CONFIG_KEY_MESSAGE}],
    }
    baseline_rules = _cel_rules(spec_schema(c.BASELINE_KIND))
    assert baseline_rules == {path.replace("spec.", "spec.environment.", 1): rule for path, rule in rules.items()}


def test_malformed_cases_cover_both_kinds():
    kinds = [case["kind"] for case in MALFORMED]
    assert kinds.count("environment") >= 12 and kinds.count("baseline") >= 8
    assert len({case["id"] for case in MALFORMED}) == len(MALFORMED)


def case_name(case: dict) -> str:
    return case.get("name", f"bad-{case['id']}")


@pytest.mark.parametrize("case", MALFORMED, ids=[case["id"] for case in MALFORMED])
def test_malformed_case_is_refused_only_for_its_own_reason(case):
    """The default name bad-<id> is valid, so a case is refused for the field it names."""
    if "name" not in case:
        parse = parse_environment if case["kind"] == "environment" else parse_baseline
        with pytest.raises(SpecError) as caught:
            parse(case["spec"], "x", name=case_name(case))
        assert not [p for p in caught.value.problems if p.startswith("metadata.name")]


@pytest.mark.parametrize("case", MALFORMED, ids=[case["id"] for case in MALFORMED])
def test_model_refuses_what_the_api_server_refuses(case):
    parse = parse_environment if case["kind"] == "environment" else parse_baseline
    with pytest.raises(SpecError) as caught:
        parse(case["spec"], f"{case['id']}.yaml", name=case_name(case))
    problems = caught.value.problems
    assert any(p.startswith(case["field"] + ":") and case.get("message", "") in p for p in problems), problems
    assert str(caught.value).startswith(f"{case['id']}.yaml: ")


def test_environment_name_rules_are_top_level_cel_rules_with_the_shared_messages():
    from parity.api import names

    root = root_schema(load_crd(c.ENVIRONMENT_KIND))
    assert root["x-kubernetes-validations"] == [{"rule": rule, "message": message}
                                                for rule, message in names.ENVIRONMENT_NAME_RULES]
    assert "x-kubernetes-validations" not in root_schema(load_crd(c.BASELINE_KIND))
    assert f"<= {names.MAX_ENVIRONMENT_NAME}" in names.ENVIRONMENT_NAME_RULES[0][0]
    assert names.ENVIRONMENT_NAME_PATTERN in names.ENVIRONMENT_NAME_RULES[1][0]
    # The offline check says the same as the rules, for the edge cases of each.
    assert names.environment_name_problems("a" * names.MAX_ENVIRONMENT_NAME) == []
    assert names.environment_name_problems("dev-2") == []
    for bad in ("a" * (names.MAX_ENVIRONMENT_NAME + 1), "1dev", "dev.team", "dev-", "Dev"):
        assert names.environment_name_problems(bad), bad


@pytest.mark.parametrize("quantity, valid", [
    ("1", True), ("1Gi", True), ("500m", True), ("0.5", True), ("1.", True), (".5", True), ("1e3", True),
    ("1E-3", True), ("+1Gi", True), ("1.5Gi", True), ("100Ki", True), ("2n", True), ("3u", True), ("1k", True),
    ("1M", True), ("2Ei", True),
    ("1.2.3Gi", False), ("5KK", False), ("1ki", False), ("1Gi1", False), (".", False), ("", False),
    ("1 Gi", False), ("Gi", False), ("1e", False), ("-1", False), ("1GiB", False), ("10GB", False), ("1e3Gi", False),
    ("0x10", False), ("1Gi\n", False),
])
def test_quantity_pattern_is_the_kubernetes_grammar(quantity, valid):
    # Through pydantic, whose regex engine (like the API server's RE2) anchors `$` at the very
    # end; Python's `re` would let a trailing newline through.
    quantity = quantity.replace("\\n", "\n")
    if valid:
        assert models.StorageSpec(size=quantity).size == quantity
    else:
        with pytest.raises(ValueError):
            models.StorageSpec(size=quantity)


# --- status: what the operator writes ------------------------------------------------------------


def test_status_enums_come_from_constants():
    status = status_schema()["properties"]
    assert status["phase"]["enum"] == list(c.PHASES)
    drift = status["drift"]["properties"]
    assert drift["highestSeverity"]["enum"] == ["none", *c.SEVERITIES, "unknown"]
    assert set(drift["levels"]["properties"]) == set(c.DRIFT_LEVELS)
    assert drift["levels"]["properties"]["runtime"]["properties"]["state"]["enum"] == ["ran", "skipped", "failed"]
    assert set(drift["summary"]["properties"]) == set(c.SEVERITIES)
    finding = drift["findings"]["items"]
    assert finding["properties"]["level"]["enum"] == list(c.DRIFT_LEVELS)
    assert finding["properties"]["change"]["enum"] == list(c.DRIFT_CHANGES)
    assert finding["properties"]["severity"]["enum"] == list(c.SEVERITIES)
    assert sorted(finding["required"]) == ["change", "level", "path", "severity"]
    assert drift["firstDetectedAt"]["nullable"] is True
    assert set(status["components"]["properties"]) == {*c.COMPONENTS, c.COMPONENT_SENTINEL}


def test_conditions_are_a_map_keyed_by_type():
    conditions = status_schema()["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert "type" in item["required"]
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"


def test_environment_has_status_subresource_and_printer_columns():
    version = version_of(load_crd(c.ENVIRONMENT_KIND))
    assert version["subresources"] == {"status": {}}
    columns = [(col["name"], col["type"], col["jsonPath"]) for col in version["additionalPrinterColumns"]]
    assert columns == [
        ("Phase", "string", ".status.phase"),
        ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        ("Drift", "string", ".status.drift.highestSeverity"),
        ("Critical", "integer", ".status.drift.summary.critical"),
        ("Warnings", "integer", ".status.drift.summary.warning"),
        ("Baseline", "string", ".spec.baselineRef.name"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ]


def test_baseline_printer_columns():
    version = version_of(load_crd(c.BASELINE_KIND))
    assert "subresources" not in version
    columns = [(col["name"], col["jsonPath"]) for col in version["additionalPrinterColumns"]]
    assert columns == [("Default", ".spec.defaultSeverity"), ("Description", ".spec.description"),
                       ("Age", ".metadata.creationTimestamp")]


# --- shipped baselines and sample ----------------------------------------------------------------

BASELINE_FILES = ["baselines/production.yaml", "baselines/staging.yaml"]
SAMPLE_FILE = "manifests/samples/dev.yaml"


def load_manifest(relative: str) -> dict:
    return yaml.safe_load((REPO / relative).read_text())


@pytest.mark.parametrize("relative", BASELINE_FILES)
def test_baseline_file_parses(relative):
    manifest = load_manifest(relative)
    assert (manifest["apiVersion"], manifest["kind"]) == (c.API_VERSION, c.BASELINE_KIND)
    assert "namespace" not in manifest["metadata"], "ParityBaseline is cluster-scoped"
    assert manifest["metadata"]["name"] == Path(relative).stem
    baseline = parse_baseline(manifest["spec"], relative)
    assert baseline.rules, f"{relative}: no rules"


@pytest.mark.parametrize("relative", BASELINE_FILES)
def test_baseline_rules_are_well_formed(relative):
    baseline = parse_baseline(load_manifest(relative)["spec"], relative)
    for index, rule in enumerate(baseline.rules):
        assert rule.remediation, f"{relative}: rules[{index}] has no remediation"
        fields = {name for _, name, _, _ in string.Formatter().parse(rule.remediation) if name is not None}
        assert fields <= {"path", "local", "baseline"}, f"{relative}: rules[{index}] uses {fields}"
        # First match wins, so an exact path after a wildcard that covers it would never apply.
        if "*" not in rule.path:
            for earlier in baseline.rules[:index]:
                assert not match_path(earlier.path, rule.path), (
                    f"{relative}: rules[{index}] {rule.path} is shadowed by {earlier.path}")


def rate(path: str, baseline: BaselineSpec) -> str:
    """The severity the drift engine's rules give a difference at `path`."""
    rule = find_rule(path, rules_of(baseline))
    return rule.severity if rule is not None else baseline.default_severity


def test_production_rates_the_important_paths():
    production = parse_baseline(load_manifest("baselines/production.yaml")["spec"])
    expected = {
        "postgres.version": "critical",
        "postgres.patroni.synchronousMode": "critical",
        "postgres.parameters.wal_level": "critical",
        "postgres.parameters.work_mem": "warning",
        "etcd.replicas": "warning",
        "redis.mode": "critical",
        "redis.config.maxmemory-policy": "critical",
        "redis.config.maxmemory": "warning",
        "postgres.resources.requests.cpu": "info",
        "observability.jaeger.enabled": "info",
    }
    assert {path: rate(path, production) for path in expected} == expected
    environment = production.environment
    assert (environment.etcd.replicas, environment.etcd.version) == (3, "3.5.17")
    assert (environment.postgres.version, environment.postgres.replicas) == ("16", 3)
    assert environment.postgres.patroni.synchronous_mode is True
    assert environment.postgres.parameters["shared_buffers"] == "256MB"
    assert (environment.redis.mode, environment.redis.sentinel.replicas) == ("sentinel", 3)
    assert {"maxmemory", "maxmemory-policy", "appendonly"} <= environment.redis.config.keys()
    assert environment.observability.enabled is True


def test_staging_is_less_strict_than_production():
    production = parse_baseline(load_manifest("baselines/production.yaml")["spec"])
    staging = parse_baseline(load_manifest("baselines/staging.yaml")["spec"])
    paths = ["postgres.patroni.synchronousMode", "redis.config.maxmemory-policy", "postgres.parameters.work_mem",
             "etcd.replicas", "postgres.version"]
    for path in paths:
        assert c.SEVERITY_RANK[rate(path, staging)] <= c.SEVERITY_RANK[rate(path, production)], path
    assert any(c.SEVERITY_RANK[rate(p, staging)] < c.SEVERITY_RANK[rate(p, production)] for p in paths)


def test_sample_parses_and_points_at_production():
    manifest = load_manifest(SAMPLE_FILE)
    assert (manifest["apiVersion"], manifest["kind"]) == (c.API_VERSION, c.ENVIRONMENT_KIND)
    assert manifest["metadata"] == {"name": "dev"}, "no namespace: the sample lands in the current one"
    environment = parse_environment(manifest["spec"], SAMPLE_FILE)
    assert environment.baseline_ref is not None and environment.baseline_ref.name == "production"


def test_sample_is_close_to_production_without_critical_drift():
    environment = parse_environment(load_manifest(SAMPLE_FILE)["spec"], SAMPLE_FILE)
    production = parse_baseline(load_manifest("baselines/production.yaml")["spec"])
    findings = evaluate_declared(environment, production, "production")
    severities = {finding.path: finding.severity for finding in findings}
    assert "warning" in severities.values(), f"the sample should show an intentional difference: {severities}"
    assert "critical" not in severities.values(), severities
    # Not even a critical rule further down the list covers a difference.
    critical = [rule.path for rule in production.rules if rule.severity == "critical"]
    assert not [path for path in severities if any(match_path(pattern, path) for pattern in critical)]
    assert severities["postgres.parameters.shared_buffers"] == "warning"
    assert severities["postgres.storage.size"] == "info"
    for finding in findings:
        assert "{" not in finding.remediation, finding.remediation


def test_crds_module_check_and_write(tmp_path, capsys):
    from parity.crds import main as crds_main

    assert crds_main(["--check", "--dir", str(tmp_path)]) == 1
    assert "parityenvironments.yaml: stale" in capsys.readouterr().err
    assert crds_main(["--write", "--dir", str(tmp_path)]) == 0
    assert crds_main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / CRD_FILES[c.BASELINE_KIND]).write_text("# edited by hand\n")
    assert crds_main(["--check", "--dir", str(tmp_path)]) == 1
    assert "paritybaselines.yaml: stale" in capsys.readouterr().err

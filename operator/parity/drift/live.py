"""Live level: the child objects we would apply against the objects in the cluster.

The signal is server-side apply ownership (metadata.managedFields). When someone runs
`kubectl edit` or `kubectl scale` on a child, the fields they change move from our field
manager to theirs; when they `kubectl label` or `kubectl annotate` it, they own new fields.
So, for every managedFields entry of another manager:

- a field it owns that is also in the desired object and whose live value differs (by
  meaning, drift/normalize.py) from the desired value is `modified`;
- a field it owns that the desired object does not have is `added` (a whole list item, such
  as an extra container, is one finding);

and, independent of ownership, a scalar the desired object sets (to something other than a
zero value, which the API server may drop) that is missing from the live object is `removed`.

Not drift: entries of our own manager; managers in DEFAULT_IGNORED_MANAGERS (API server
defaults carry no manager at all; controllers such as kube-controller-manager write status,
replicas of an autoscaler and similar); entries for a subresource other than `scale` (status
is written by controllers; `kubectl scale` writes spec.replicas through the scale
subresource and IS drift); the annotation kubectl.kubernetes.io/last-applied-configuration
that client-side `kubectl apply` adds. The annotation kubectl.kubernetes.io/restartedAt that
`kubectl rollout restart` stamps on the pod template is reported (it is a change of the pod
template made outside the operator), with severity info by the built-in rules.

Objects are matched by kind, namespace and name. A desired object with no live counterpart
is one finding `change: missing` at the path `live.<Kind>` (someone deleted it; the caller
compares after its apply, so an object not created yet is not passed in as desired). Its
severity comes from the rules like any other; when no rule matches, workloads and Services
(MISSING_CRITICAL_KINDS) are critical, anything else gets the baseline's defaultSeverity. A
live object we do not desire is pruning's business, not drift's.

Finding paths are `live.<Kind>.<field path>`, for example `live.StatefulSet.spec.replicas`
or `live.StatefulSet.spec.template.spec.containers[name=etcd].image`, so that baseline rules
can target them; `kind` and `name` name the object, `manager` the field manager that made the
change. Values inside a Secret are never shown (constants.REDACTED); they are compared only
to tell whether they differ.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable

from parity import constants
from parity.api.models import BaselineSpec
from parity.drift.finding import COMPONENT_OPERATOR, Finding, component_of_name, render_value
from parity.drift.normalize import equivalent, kind_of_segments
from parity.drift.paths import Element, Index, Item, Key, Segment, render_path
from parity.drift.rules import assess, assess_all

DEFAULT_IGNORED_MANAGERS = frozenset({
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-apiserver",
    # Server-side apply's placeholder for fields set before the first apply of an object.
    "before-first-apply",
})
COUNTED_SUBRESOURCES = frozenset({"", "scale"})
COUNTED_OPERATIONS = frozenset({"Update", "Apply"})
IGNORED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
# Defaults the API server fills into list-item keys (a port without protocol is TCP).
_KEY_DEFAULTS = {"protocol": "TCP"}
# How items of a list of objects are told apart when we walk desired against live.
_LIST_KEYS = (("name",), ("mountPath",), ("containerPort", "protocol"), ("port", "protocol"), ("devicePath",), ("ip",))
Emit = Callable[[str, tuple, Any, Any], None]
# Without them the environment does not serve: a missing one is critical unless a rule says otherwise.
MISSING_CRITICAL_KINDS = frozenset({"StatefulSet", "Deployment", "Service"})


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _identity(obj: dict) -> tuple[str, str, str]:
    meta = _meta(obj)
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def component_of_object(*objs: dict) -> str:
    """The component from the app.kubernetes.io/component label (first object that has it)."""
    for obj in objs:
        labels = _meta(obj).get("labels")
        value = labels.get(constants.LABEL_COMPONENT) if isinstance(labels, dict) else None
        component = component_of_name(value)
        if component is not None:
            return component
    return COMPONENT_OPERATOR


def _field_segment(raw: str) -> Segment | None:
    """A fieldsV1 key as a path segment; None for anything we cannot read."""
    try:
        prefix, _, rest = raw.partition(":")
        if prefix == "f":
            return Key(rest)
        if prefix == "k":
            keys = json.loads(rest)
            return Item(tuple(keys.items())) if isinstance(keys, dict) else None
        if prefix == "v":
            return Element(json.loads(rest))
        if prefix == "i":
            return Index(int(rest))
    except (ValueError, TypeError, AttributeError):
        return None
    return None


def _item_matches(item: Any, keys: Iterable[tuple[str, Any]]) -> bool:
    if not isinstance(item, dict):
        return False
    return all(item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in keys)


def _step(node: Any, seg: Segment) -> tuple[bool, Any]:
    if isinstance(seg, Key):
        if isinstance(node, dict) and seg.name in node:
            return True, node[seg.name]
        return False, None
    if not isinstance(node, list):
        return False, None
    if isinstance(seg, Item):
        for item in node:
            if _item_matches(item, seg.keys):
                return True, item
    elif isinstance(seg, Element):
        for item in node:
            if item == seg.value:
                return True, item
    elif isinstance(seg, Index) and 0 <= seg.position < len(node):
        return True, node[seg.position]
    return False, None


def _ignored_field(segments: tuple) -> bool:
    if len(segments) == 3 and segments[0] == Key("metadata") and segments[1] == Key("annotations"):
        return isinstance(segments[2], Key) and segments[2].name in IGNORED_ANNOTATIONS
    if segments and segments[0] == Key("status"):
        return True
    return False


def _children(fields: Any) -> dict:
    if not isinstance(fields, dict):
        return {}
    return {k: v for k, v in fields.items() if k != "."}


def _walk_owned(fields: Any, prefix: tuple, desired: Any, d_ok: bool, live: Any, l_ok: bool, emit: Emit) -> None:
    for raw, child in _children(fields).items():
        seg = _field_segment(raw)
        if seg is None or not isinstance(child, dict):
            continue
        path = prefix + (seg,)
        if _ignored_field(path):
            continue
        d_found, d_value = _step(desired, seg) if d_ok else (False, None)
        l_found, l_value = _step(live, seg) if l_ok else (False, None)
        grandchildren = _children(child)
        if not d_found:
            if not l_found:
                continue
            if isinstance(seg, Key) and grandchildren and isinstance(l_value, dict):
                # A map we do not set (labels, annotations): report each key the manager owns.
                _walk_owned(grandchildren, path, None, False, l_value, True, emit)
            else:
                emit("added", path, l_value, None)
            continue
        if not grandchildren:
            if l_found and isinstance(l_value, dict) and isinstance(d_value, dict):
                # The manager owns a whole map (it set it as one value): still per key.
                _compare_maps(path, d_value, l_value, emit)
            elif l_found and not equivalent(l_value, d_value, kind_of_segments(path)):
                emit("modified", path, l_value, d_value)
            continue
        _walk_owned(grandchildren, path, d_value, True, l_value, l_found, emit)


def _compare_maps(prefix: tuple, desired: dict, live: dict, emit: Emit) -> None:
    """Keys of a map owned as a whole: changed and added keys, one finding each. Keys missing
    from the live map are `_walk_removed`'s."""
    for key, l_value in live.items():
        path = prefix + (Key(str(key)),)
        if key not in desired:
            if isinstance(l_value, dict):
                _compare_maps(path, {}, l_value, emit)
            else:
                emit("added", path, l_value, None)
        elif isinstance(l_value, dict) and isinstance(desired[key], dict):
            _compare_maps(path, desired[key], l_value, emit)
        elif not equivalent(l_value, desired[key], kind_of_segments(path)):
            emit("modified", path, l_value, desired[key])


def _meaningful(value: Any) -> bool:
    """Whether a desired value would survive the API server (zero values may be dropped)."""
    if value is None or value is False or value == "" or (isinstance(value, (int, float)) and value == 0):
        return False
    if isinstance(value, dict):
        return any(_meaningful(v) for v in value.values())
    if isinstance(value, list):
        return any(_meaningful(v) for v in value)
    return True


def _list_keys(items: list) -> tuple[str, ...] | None:
    for candidate in _LIST_KEYS:
        first = candidate[0]
        values = [item.get(first) for item in items]
        if all(v is not None for v in values) and len(set(map(repr, values))) == len(values):
            return candidate
    return None


def _selector(item: dict, keys: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, item.get(k, _KEY_DEFAULTS.get(k))) for k in keys if k in item or k in _KEY_DEFAULTS)


def _walk_removed(desired: Any, live: Any, prefix: tuple, emit: Emit) -> None:
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return
        for key, d_value in desired.items():
            path = prefix + (Key(str(key)),)
            if _skip_removed(path):
                continue
            if key not in live:
                if isinstance(d_value, dict):
                    # A whole map gone (all labels, all of data): still one finding per key, so
                    # that rules and ignore patterns on single keys keep working.
                    _walk_removed(d_value, {}, path, emit)
                elif _meaningful(d_value):
                    emit("removed", path, None, d_value)
                continue
            _walk_removed(d_value, live[key], path, emit)
    elif isinstance(desired, list) and desired and all(isinstance(x, dict) for x in desired):
        keys = _list_keys(desired)
        if keys is None or not isinstance(live, list):
            return
        for item in desired:
            seg = Item(_selector(item, keys))
            found, l_item = _step(live, seg)
            if not found:
                if _meaningful(item):
                    emit("removed", prefix + (seg,), None, item)
                continue
            _walk_removed(item, l_item, prefix + (seg,), emit)


def _skip_removed(path: tuple) -> bool:
    if len(path) == 1:
        return path[0] in (Key("apiVersion"), Key("kind"), Key("status"))
    if path[0] == Key("metadata"):
        return path[1] not in (Key("labels"), Key("annotations"))
    return False


def _secret_with_data(obj: dict) -> dict:
    """A desired Secret with stringData folded into data, as the API server stores it."""
    string_data = obj.get("stringData")
    if not isinstance(string_data, dict):
        return obj
    data = dict(obj.get("data") or {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    folded = {k: v for k, v in obj.items() if k != "stringData"}
    folded["data"] = data
    return folded


def _describe(change: str, kind: str, name: str, field: str, local: Any, desired: Any, manager: str | None) -> str:
    target = f"{kind}/{name}"
    by = f' by "{manager}"' if manager else ""
    kubectl = f"kubectl edit {kind.lower()}/{name}"
    if change == "added":
        return (
            f"{target}: {field} was added{by} and is not part of the desired object; remove it ({kubectl}) "
            f"or list the path in spec.drift.ignore (re-applying does not remove fields another manager owns)"
        )
    want = render_value(desired, 80)
    if change == "removed":
        return (
            f"{target}: {field} was removed{by}; the operator wants {want}. With spec.drift.policy enforce the "
            f"operator re-applies it; otherwise restore it ({kubectl}) and change the ParityEnvironment instead"
        )
    return (
        f"{target}: {field} is {render_value(local, 80)} (changed{by}) but the operator wants {want}. "
        f"Change the ParityEnvironment instead of its children; with spec.drift.policy enforce the operator "
        f"re-applies {want}, otherwise undo it ({kubectl})"
    )


def _evaluate_object(desired: dict, live: dict, field_manager: str, ignored_managers: frozenset[str]) -> list[Finding]:
    kind, _namespace, name = _identity(live)
    secret = kind == "Secret"
    if secret:
        desired = _secret_with_data(desired)
    component = component_of_object(live, desired)
    found: dict[tuple, Finding] = {}

    def add(change: str, segments: tuple, local: Any, want: Any, manager: str | None) -> None:
        if secret and segments and segments[0] != Key("metadata"):
            local = None if local is None else constants.REDACTED
            want = None if want is None else constants.REDACTED
        field = render_path(segments)
        found[segments] = Finding(
            path=render_path((Key("live"), Key(kind)) + segments),
            component=component,
            level="live",
            change=change,
            local=local,
            baseline=want,
            remediation=_describe(change, kind, name, field, local, want, manager),
            kind=kind,
            name=name,
            manager=manager,
        )

    entries = _meta(live).get("managedFields")
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    # Oldest first, so that the latest manager of a field is the one reported.
    for entry in sorted(entries, key=lambda e: str(e.get("time") or "")):
        manager = str(entry.get("manager") or "")
        if manager == field_manager or manager in ignored_managers:
            continue
        if str(entry.get("operation") or "") not in COUNTED_OPERATIONS:
            continue
        if str(entry.get("subresource") or "") not in COUNTED_SUBRESOURCES:
            continue

        def emit(change: str, segments: tuple, local: Any, want: Any, _manager: str = manager) -> None:
            add(change, segments, local, want, _manager)

        _walk_owned(entry.get("fieldsV1"), (), desired, True, live, True, emit)

    def emit_removed(change: str, segments: tuple, local: Any, want: Any) -> None:
        if segments not in found:
            add(change, segments, local, want, None)

    _walk_removed(desired, live, (), emit_removed)
    return list(found.values())


def describe_missing(kind: str, name: str, namespace: str, environment: str | None) -> str:
    """The built-in remediation of a deleted child."""
    env = f"penv/{environment}" if environment else "the ParityEnvironment"
    where = f" -n {namespace}" if namespace else ""
    return (
        f"{kind}/{name} does not exist: it was deleted outside the operator. With spec.drift.policy enforce the "
        f"operator re-creates it; otherwise any change of the ParityEnvironment re-applies its children, e.g. "
        f'kubectl annotate {env}{where} resync="$(date +%s)" --overwrite'
    )


def missing_finding(want: dict) -> Finding:
    """The finding for a desired object that is not in the cluster (severity not assessed yet)."""
    kind, namespace, name = _identity(want)
    labels = _meta(want).get("labels")
    environment = labels.get(constants.LABEL_ENVIRONMENT) if isinstance(labels, dict) else None
    return Finding(
        path=render_path((Key("live"), Key(kind))),
        component=component_of_object(want),
        level="live",
        change="missing",
        baseline=f"{kind}/{name}",
        remediation=describe_missing(kind, name, namespace, environment),
        kind=kind,
        name=name,
    )


class _LiveIndex:
    """Live objects by kind, namespace and name (by kind and name for a desired object without
    a namespace)."""

    def __init__(self, live: Iterable[dict] | None) -> None:
        self.by_identity: dict[tuple[str, str, str], dict] = {}
        self.by_kind_name: dict[tuple[str, str], dict] = {}
        for obj in live or ():
            if isinstance(obj, dict):
                identity = _identity(obj)
                self.by_identity[identity] = obj
                self.by_kind_name.setdefault((identity[0], identity[2]), obj)

    def counterpart(self, want: dict) -> dict | None:
        kind, namespace, name = _identity(want)
        return self.by_identity.get((kind, namespace, name)) if namespace else self.by_kind_name.get((kind, name))


def missing_objects(desired: Iterable[dict] | None, live: Iterable[dict] | None) -> list[tuple[str, str]]:
    """(kind, name) of every desired object with no live counterpart, in desired order."""
    index = _LiveIndex(live)
    return [(_identity(w)[0], _identity(w)[2]) for w in desired or ()
            if isinstance(w, dict) and index.counterpart(w) is None]


def present_objects(desired: Iterable[dict] | None, live: Iterable[dict] | None) -> list[dict]:
    """The desired objects that have a live counterpart."""
    index = _LiveIndex(live)
    return [w for w in desired or () if isinstance(w, dict) and index.counterpart(w) is not None]


class _ObjectFindings:
    """The findings of one live object against one desired object, remembered by what they
    are a function of: the live object's uid and resourceVersion (its exact stored state), the
    desired object's hash annotation, the field manager and the ignored managers. A sync
    re-evaluates every child though usually one changed, and the walk is most of its CPU.
    Bounded, least recently used first out; shared by the sync threads."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple, tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(desired: dict, live: dict, field_manager: str, ignored: frozenset[str]) -> tuple | None:
        meta = _meta(live)
        digest = ((desired.get("metadata") or {}).get("annotations") or {}).get(constants.ANNOTATION_DESIRED_HASH)
        uid, version = meta.get("uid"), meta.get("resourceVersion")
        if not (digest and uid and version):
            return None  # not from the API server, or no hash: evaluated every time
        return (uid, version, digest, field_manager, ignored)

    def get(self, key: tuple) -> tuple[Finding, ...] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, findings: list[Finding]) -> None:
        with self._lock:
            self._entries[key] = tuple(findings)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


# About 12 to 26 children an environment: enough for 1,000 environments' children; an entry is
# a key and (nearly always) no findings.
OBJECT_FINDINGS = _ObjectFindings(size=32768)


def _object_findings(desired: dict, live: dict, field_manager: str, ignored: frozenset[str]) -> list[Finding]:
    key = OBJECT_FINDINGS.key(desired, live, field_manager, ignored)
    if key is not None:
        remembered = OBJECT_FINDINGS.get(key)
        if remembered is not None:
            return list(remembered)
    findings = _evaluate_object(desired, live, field_manager, ignored)
    if key is not None:
        OBJECT_FINDINGS.put(key, findings)
    return findings


def evaluate_live(
    desired: list[dict],
    live: list[dict],
    field_manager: str = constants.FIELD_MANAGER,
    *,
    baseline: BaselineSpec | None = None,
    baseline_name: str = "",
    ignored_managers: Iterable[str] = DEFAULT_IGNORED_MANAGERS,
) -> list[Finding]:
    """Findings for live objects changed outside the operator (see the module docstring)."""
    ignored = frozenset(ignored_managers)
    index = _LiveIndex(live)
    findings: list[Finding] = []
    missing: list[Finding] = []
    for want in desired or ():
        if not isinstance(want, dict):
            continue
        current = index.counterpart(want)
        if current is None:
            missing.append(missing_finding(want))
            continue
        findings.extend(_object_findings(want, current, field_manager, ignored))
    assessed = assess_all(findings, baseline, baseline_name)
    assessed += [assess(f, baseline, baseline_name, default="critical" if f.kind in MISSING_CRITICAL_KINDS else None)
                 for f in missing]
    return assessed

"""The one place for the API group, kinds, labels, annotation keys and other names.

Everything that another module, a manifest or a test refers to by string lives here.
"""

GROUP = "parity.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

ENVIRONMENT_KIND = "ParityEnvironment"
ENVIRONMENT_PLURAL = "parityenvironments"
ENVIRONMENT_SHORT_NAME = "penv"
BASELINE_KIND = "ParityBaseline"
BASELINE_PLURAL = "paritybaselines"
BASELINE_SHORT_NAME = "pbl"
NOTIFIER_KIND = "ParityNotifier"
NOTIFIER_PLURAL = "paritynotifiers"
NOTIFIER_SHORT_NAME = "pnot"
CATEGORY = "parity"

# Server-side apply: every write of ours uses this one field manager.
FIELD_MANAGER = "parity-operator"

# kopf bookkeeping: our own prefix and finalizer, chosen on day one and never changed,
# because renaming them would orphan the state stored on existing objects.
ANNOTATION_PREFIX = "parity.dev"
# On every child: a digest of its desired manifest (kube/apply.py); what a sync compares, not the object.
ANNOTATION_DESIRED_HASH = f"{ANNOTATION_PREFIX}/desired-hash"
FINALIZER = "parity.dev/finalizer"

# Standard labels carried by every child object.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_VERSION = "app.kubernetes.io/version"
PART_OF = "parity"
MANAGED_BY = "parity-operator"
# Pointer from a child to the ParityEnvironment that owns it (the owner reference is the
# authority; this label makes children selectable and indexable).
LABEL_ENVIRONMENT = "parity.dev/environment"

# The ClusterRole shipped in manifests/operator/patroni-rbac.yaml that every environment's
# Patroni pods are bound to (RoleBinding per environment). The operator may bind it, by name,
# and holds none of its permissions itself.
PATRONI_CLUSTER_ROLE = "parity-patroni"

# Components, in the order they are brought up.
COMPONENT_ETCD = "etcd"
COMPONENT_POSTGRES = "postgres"
COMPONENT_REDIS = "redis"
COMPONENT_SENTINEL = "sentinel"
COMPONENT_OBSERVABILITY = "observability"
COMPONENTS = (COMPONENT_ETCD, COMPONENT_POSTGRES, COMPONENT_REDIS, COMPONENT_OBSERVABILITY)

# Severities, lowest first. Their order matters: comparisons use SEVERITY_RANK.
SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

DRIFT_LEVELS = ("declared", "live", "runtime")
# missing: a child object the operator applies is not in the cluster (live level only).
DRIFT_CHANGES = ("added", "removed", "modified", "missing")

PHASES = ("Pending", "Provisioning", "Ready", "Degraded", "Failed")

CONDITION_READY = "Ready"
CONDITION_RECONCILING = "Reconciling"
CONDITION_STALLED = "Stalled"
CONDITION_DRIFTED = "Drifted"
COMPONENT_CONDITIONS = {
    COMPONENT_ETCD: "EtcdReady",
    COMPONENT_POSTGRES: "PostgresReady",
    COMPONENT_REDIS: "RedisReady",
    COMPONENT_OBSERVABILITY: "ObservabilityReady",
}

# Events.
EVENT_DRIFT_DETECTED = "DriftDetected"
EVENT_DRIFT_RESOLVED = "DriftResolved"
EVENT_DRIFT_CORRECTED = "DriftCorrected"
# The verdict became unknown (no usable baseline, or a level failed).
EVENT_DRIFT_UNKNOWN = "DriftUnknown"

# At most this many findings are written into status; the rest are counted in `truncated`.
MAX_STATUS_FINDINGS = 50

# Shown instead of any value that comes from a Secret.
REDACTED = "<redacted>"

DEFAULT_METRICS_PORT = 8080
DEFAULT_HEALTH_PORT = 8081

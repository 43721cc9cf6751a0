"""Pure manifest builders: a ParityEnvironment spec in, its child Kubernetes objects out.

No I/O here. The reconciler calls `check_combinations`, then `build_children`, and applies the
result in order through kube/apply.
"""

from parity.render.checks import check_combinations, check_environment_name
from parity.render.common import build_labels, build_metadata, owner_reference, selector_labels
from parity.render.environment import APPLY_ORDER, build_children, child_key
from parity.render.etcd import etcd_endpoints
from parity.render.postgres import (
    PRIMARY_ROLE,
    REPLICA_ROLE,
    ROLE_LABEL,
    build_patroni_config,
    build_postgres_secret,
    generate_passwords,
    patroni_endpoints,
)

__all__ = [
    "APPLY_ORDER",
    "PRIMARY_ROLE",
    "REPLICA_ROLE",
    "ROLE_LABEL",
    "build_children",
    "build_labels",
    "build_metadata",
    "build_patroni_config",
    "build_postgres_secret",
    "check_combinations",
    "check_environment_name",
    "child_key",
    "etcd_endpoints",
    "generate_passwords",
    "owner_reference",
    "patroni_endpoints",
    "selector_labels",
]

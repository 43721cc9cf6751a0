"""What metadata.name may be. A ParityEnvironment's name prefixes every child's name, so it is
bounded by the children's limits; the CRD enforces these rules with CEL at the top level of its
schema (messages shared with `parity validate`, which calls the functions below)."""

from __future__ import annotations

import re

from parity.api.models import DNS_SUBDOMAIN_PATTERN

# The longest child StatefulSet names are `<env>-postgres` / `<env>-sentinel` (9 extra
# characters); a StatefulSet name may have at most 52 characters because its pods carry a
# controller-revision-hash label made of the name and a hash, and label values stop at 63.
MAX_STATEFULSET_NAME = 52
MAX_ENVIRONMENT_NAME = MAX_STATEFULSET_NAME - len("-sentinel")
# Service names (`<env>-postgres-primary`, ...) are DNS-1035 labels: a letter first, no dots.
ENVIRONMENT_NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
ENVIRONMENT_NAME_LENGTH_MESSAGE = (
    f"metadata.name may have at most {MAX_ENVIRONMENT_NAME} characters, because child StatefulSets "
    f"such as <name>-sentinel must stay within {MAX_STATEFULSET_NAME}"
)
ENVIRONMENT_NAME_FORM_MESSAGE = (
    "metadata.name must start with a lowercase letter and contain only lowercase letters, digits and '-', "
    "because it is the prefix of Service names"
)
# (CEL rule, message) pairs of the ParityEnvironment CRD's top level.
ENVIRONMENT_NAME_RULES = (
    (f"self.metadata.name.size() <= {MAX_ENVIRONMENT_NAME}", ENVIRONMENT_NAME_LENGTH_MESSAGE),
    (f"self.metadata.name.matches('{ENVIRONMENT_NAME_PATTERN}')", ENVIRONMENT_NAME_FORM_MESSAGE),
)
MAX_BASELINE_NAME = 253
BASELINE_NAME_MESSAGE = (
    f"metadata.name must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most "
    f"{MAX_BASELINE_NAME} characters), as the API server requires of a cluster-scoped name"
)


def environment_name_problems(name: str) -> list[str]:
    """One line per rule the name breaks, `metadata.name: <message>; got '<name>'`."""
    problems = []
    if len(name) > MAX_ENVIRONMENT_NAME:
        problems.append(f"metadata.name: {ENVIRONMENT_NAME_LENGTH_MESSAGE}; '{name}' has {len(name)}, "
                        "rename the environment")
    if not re.fullmatch(ENVIRONMENT_NAME_PATTERN, name):
        problems.append(f"metadata.name: {ENVIRONMENT_NAME_FORM_MESSAGE}; got '{name}', rename the environment")
    return problems


def baseline_name_problems(name: str) -> list[str]:
    if len(name) <= MAX_BASELINE_NAME and re.fullmatch(DNS_SUBDOMAIN_PATTERN, name):
        return []
    return [f"metadata.name: {BASELINE_NAME_MESSAGE}; got '{name}'"]

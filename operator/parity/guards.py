"""Refusals for reasons outside the spec, which only the user can clear: the credentials
Secret is lost, or a child's name is taken by someone else's object. Pure.

The PostgreSQL credentials Secret is generated once, never re-generated for existing data.
Passwords are baked into the database when it is bootstrapped. If the Secret disappears
later (deleted by hand, lost in a namespace restore) while the data is still there, new
passwords would not match the ones inside the database: the operator must not invent them.
It stops (Stalled) and says how to recover instead; the caller gathers the evidence
(kube/children.postgres_data_evidence).

While refused, nothing is applied, and the sync that refused was the one that should have
applied (a create or a spec change). The user clears the cause without touching the spec, so
the next sync of any trigger (a child event, the timer) applies: `resumes_after_refusal`.
"""

from __future__ import annotations

from parity import constants

REASON_CREDENTIALS_LOST = "CredentialsLost"
REASON_NAME_CONFLICT = "ChildNameConflict"


REFUSALS_OUTSIDE_THE_SPEC = (REASON_CREDENTIALS_LOST, REASON_NAME_CONFLICT)


def resumes_after_refusal(previous_status: dict) -> bool:
    """Whether the last sync was refused for a reason the user clears outside the spec."""
    for cond in previous_status.get("conditions") or []:
        if cond.get("type") == constants.CONDITION_STALLED:
            return cond.get("status") == "True" and cond.get("reason") in REFUSALS_OUTSIDE_THE_SPEC
    return False


def lost_credentials_message(namespace: str, env_name: str, secret_name: str, evidence: list[str]) -> str | None:
    """Why passwords must not be generated now, with the remediation; None on a first start
    (no evidence of existing data), when generating them is right."""
    if not evidence:
        return None
    return (
        f"Secret {namespace}/{secret_name} with the PostgreSQL passwords is missing, but PostgreSQL already has data "
        f"({'; '.join(evidence)}): new passwords would not match the ones in the database, so none are generated. "
        f"Restore the Secret from a backup (kubectl -n {namespace} apply --server-side "
        f"--field-manager={constants.FIELD_MANAGER} -f <backup of {secret_name}>; the operator takes a Secret of that "
        f"name as its own when it carries its labels and that field manager, or an owner reference to this "
        f"environment), or, to start "
        f"over with an empty database, delete the environment and its volumes "
        f"(kubectl -n {namespace} delete {constants.ENVIRONMENT_SHORT_NAME} {env_name} && "
        f"kubectl -n {namespace} delete pvc -l {constants.LABEL_INSTANCE}={env_name},{constants.LABEL_PART_OF}={constants.PART_OF}) and create it again"
    )


def name_conflict_message(conflicts: list[str]) -> str:
    """Status message for children whose names are taken by objects that are not ours."""
    return ("; ".join(conflicts) + ". The operator does not overwrite objects it did not create: rename or delete "
            "them (or move the environment to another name or namespace); nothing is applied until then")

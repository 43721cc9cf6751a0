"""A notifier's targets with their URLs, read from Secrets. `resolve_targets` is pure; the problems
it returns name the target, the Secret and the key, never the URL or any Secret value."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Mapping

from parity.api.notifier import NotifierSpec
from parity.notify.delivery import check_url
from parity.notify.dispatcher import Target

SECRET_NOT_FOUND, KEY_NOT_FOUND, INVALID_URL, NO_TARGETS = "SecretNotFound", "KeyNotFound", "InvalidURL", "NoTargets"


def resolve_targets(spec: NotifierSpec, secrets: Mapping[str, Mapping[str, Any] | None]
                    ) -> tuple[list[Target], list[tuple[str, str]]]:
    """(usable targets, [(reason, message)]) from the spec and the Secrets' `data` by name (None:
    the Secret does not exist)."""
    targets: list[Target] = []
    problems: list[tuple[str, str]] = []
    if not spec.targets:
        problems.append((NO_TARGETS, "spec.targets is empty: nothing is sent"))
    for target in spec.targets:
        ref = target.secret_ref
        where = f"target {target.name}: Secret {ref.name}"
        data = secrets.get(ref.name)
        if data is None:
            problems.append((SECRET_NOT_FOUND, f"{where} not found"))
            continue
        raw = data.get(ref.key)
        if raw is None:
            problems.append((KEY_NOT_FOUND, f"{where} has no key {ref.key!r}"))
            continue
        try:
            url = base64.b64decode(raw, validate=True).decode().strip()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            problems.append((INVALID_URL, f"{where} key {ref.key!r} is not valid base64 text"))
            continue
        why = check_url(url)
        if why:
            problems.append((INVALID_URL, f"{where} key {ref.key!r}: {why}"))
            continue
        targets.append(Target(target.name, target.type, url, target.min_severity))
    return targets, problems


def read_targets(get: Callable[[str], dict | None], spec: NotifierSpec
                 ) -> tuple[list[Target], list[tuple[str, str]]]:
    """`get(secret_name)` returns the Secret object or None. Blocking (a kube client call)."""
    secrets = {}
    for name in {t.secret_ref.name for t in spec.targets}:
        secret = get(name)
        secrets[name] = None if secret is None else (secret.get("data") or {})
    return resolve_targets(spec, secrets)

"""The liveness endpoint says which process answers (parity.instance): dev loops check it."""

from __future__ import annotations

import kopf

from parity import instance


@kopf.on.probe(id=instance.PROBE_ID)
def report_instance(**_) -> dict:
    return instance.identity()

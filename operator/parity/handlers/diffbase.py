"""kopf's diff base (what it compares to tell a spec change from any other event), built without
deep-copying what it throws away.

kopf builds the "essence" of every object on every watch event of every kind it handles, ours
and our children's alike: it deep-copies the whole body, then deletes `metadata` and `status`
and picks labels and annotations back in (kopf/_cogs/configs/diffbase.py, DiffBaseStorage.build).
The copy of `status` and `metadata` (managedFields above all) is thrown away at once. For an
environment that is our whole drift report, on every status write; for a StatefulSet its status
and managedFields, on every pod that becomes ready. In a py-spy profile of the operator while
1,000 environments converged, that deep copy was 5.5 % of all samples, about a tenth of the
operator's CPU.

The essence is the same: the body is handed to kopf's own build with `status` left out and
`metadata` cut to what that build reads (labels, annotations, and the kind and owners that the
annotation keys are formed from); kopf then copies only that. A handler that asks for extra
fields (`field=`, which may point into status) gets kopf's build unchanged. A unit test holds
the two builds equal on real bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf
from kopf._cogs.structs import bodies

# What DiffBaseStorage.build and the annotation-key convention read from metadata.
_METADATA_READ = ("labels", "annotations", "ownerReferences")


class LeanAnnotationsDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    def build(self, *, body: bodies.Body, extra_fields: Iterable[Any] | None = None) -> bodies.BodyEssence:
        if extra_fields:
            return super().build(body=body, extra_fields=extra_fields)
        metadata = body.get("metadata") or {}
        lean = {key: value for key, value in body.items() if key not in ("status", "metadata")}
        lean["metadata"] = {key: metadata[key] for key in _METADATA_READ if key in metadata}
        return super().build(body=bodies.Body(lean), extra_fields=extra_fields)

"""Import built images into containerd, only those it lacks or holds at another digest.

`ctr images import` reads the OCI archives `parity images build` writes: each archive's
`org.opencontainers.image.ref.name` is the full reference (skopeo wrote it), which ctr keeps as
the image name. The digest containerd lists is the archive's manifest digest, so comparing
the two tells whether an import is needed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable, Iterable

from parity.images import plan
from parity.images.build import BuiltImage


class ImageImportError(RuntimeError):
    """ctr failed or containerd holds something else than what was imported."""


def _ctr(ctr_binary: str | Path, address: str, namespace: str, *args: str, timeout: float = 600) -> str:
    argv = [str(ctr_binary), "--address", address, "--namespace", namespace, *args]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ImageImportError(f"ctr not found at {ctr_binary}") from None
    except subprocess.TimeoutExpired:
        raise ImageImportError(f"{' '.join(argv[:7])} did not finish within {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise ImageImportError(f"{' '.join(argv[:7])} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def list_images(ctr_binary: str | Path, address: str, namespace: str = "k8s.io") -> dict[str, str]:
    """reference -> digest of every image containerd holds in the namespace."""
    return plan.parse_ctr_images(_ctr(ctr_binary, address, namespace, "images", "ls"))


def import_images(ctr_binary: str | Path, address: str, archives: Iterable[BuiltImage], namespace: str = "k8s.io",
                  *, progress: Callable[[str], None] = lambda _msg: None) -> list[plan.ImportStep]:
    """Import what is missing or changed; returns the plan it carried out.

    Raises ImageImportError when ctr fails or containerd afterwards lists another digest.
    """
    images = list(archives)
    steps = plan.plan_imports([(i.reference, str(i.archive), i.digest) for i in images],
                              list_images(ctr_binary, address, namespace))
    for step in steps:
        if step.action == "present":
            progress(f"{step.reference} present ({step.digest[:19]})")
            continue
        progress(f"{step.reference} importing ({step.reason}) ...")
        _ctr(ctr_binary, address, namespace, "images", "import", step.archive)
    after = list_images(ctr_binary, address, namespace)
    wrong = [f"{s.reference}: expected {s.digest[:19]}, containerd lists {after.get(s.reference, 'nothing')}"
             for s in steps if after.get(s.reference) != s.digest]
    if wrong:
        raise ImageImportError("after import: " + "; ".join(wrong))
    return steps

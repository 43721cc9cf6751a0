"""The image catalogue of the locally built images: which reference serves which version.

The operator reads it (PARITY_IMAGE_CATALOG, see render/images.py) to pick default images on
the real node; `parity images catalog --write` writes it from the recipes, so the two cannot
disagree.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from parity.images import recipes
from parity.images.build import images_cache

# Recipe name -> (catalogue section, key): versioned components by version, observability parts by name.
_SECTIONS = {
    "etcd": "etcd",
    "postgres-patroni": "postgres",
    "redis": "redis",
    "prometheus": "observability",
    "postgres-exporter": "observability",
    "redis-exporter": "observability",
}


def local_catalog() -> dict:
    """Plain data in load_catalog's format, from the recipes."""
    data: dict = {"name": "local", "etcd": {}, "postgres": {}, "redis": {}, "observability": {}}
    for recipe in recipes.RECIPES:
        section = _SECTIONS.get(recipe.name)
        if section is None:
            continue  # the sandbox image is the node's, not a workload's
        key = recipe.name if section == "observability" else recipe.version
        data[section][key] = recipe.reference
    return data


def default_catalog_path() -> Path:
    return images_cache() / "catalog.yaml"


def write_catalog(path: Path | None = None) -> Path:
    path = path or default_catalog_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by `parity images catalog --write` from the image recipes.\n"
    path.write_text(text + yaml.safe_dump(local_catalog(), sort_keys=True))
    return path


def import_built(ctr: Path, address: str, progress=lambda _m: None) -> None:
    """Import every built image into a containerd (what is missing or changed only).
    Raises ImageImportError naming what is not built."""
    from parity.images import build, containerd

    entries = build.lookup(list(recipes.RECIPES))
    missing = [e.recipe.name for e in entries if e.built is None]
    if missing:
        raise containerd.ImageImportError(
            f"local images not built: {', '.join(missing)} (run `parity images build`, or `make deps`)")
    containerd.import_images(ctr, address, [e.built for e in entries], progress=progress)


def missing_images() -> list[str]:
    from parity.images import build

    return [e.recipe.name for e in build.lookup(list(recipes.RECIPES)) if e.built is None]

"""Local OCI images built from Debian and PyPI packages, imported into the node's containerd.

recipes.py  what each image holds (data), local_image_refs() for the local sample
plan.py     pure: cache keys, what to rebuild, what to import, apt sources parsing
build.py    debootstrap / chroot apt-get / pip / umoci / skopeo: the builds themselves
containerd.py  import into containerd with ctr, only what is missing or changed
"""

from parity.images.recipes import RECIPES, UNAVAILABLE, Recipe, local_image_refs

__all__ = ["RECIPES", "UNAVAILABLE", "Recipe", "local_image_refs"]

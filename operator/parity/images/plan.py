"""Pure parts of building and importing: cache keys, what to rebuild, what to import.

Everything here takes plain data and returns plain data, so it is unit-tested without root,
debootstrap or containerd.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Mapping

from parity.images.recipes import BUILDER_VERSION, Recipe

# The base layer of a suite: debootstrap --variant=minbase and nothing else. Changing what the
# base holds changes every key that includes it.
BASE_VARIANT = "minbase"
# Bump when the way a base is made changes (debootstrap flags, its clean-up). Separate from
# BUILDER_VERSION, which covers the image layers: a change there does not redo debootstrap.
BASE_BUILDER_VERSION = "2"


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def base_key(suite: str, *, builder_version: str = BASE_BUILDER_VERSION) -> str:
    """Key of a suite's base layer. The mirror is not in it: any mirror serves the same archive."""
    return _digest({"builder": builder_version, "suite": suite, "variant": BASE_VARIANT})


def image_key(
    recipe: Recipe, *, input_digests: Mapping[str, str], base: str | None, builder_version: str = BUILDER_VERSION
) -> str:
    """Key of one image: its recipe, the digests of the host files it copies in, its base's key.

    `input_digests` maps each logical input the recipe names (recipe.files values) to the
    sha256 of the host file; a missing one is an error, not a silent "same as before".
    """
    missing = sorted(set(recipe.files.values()) - set(input_digests))
    if missing:
        raise KeyError(f"{recipe.name}: no digest for input(s) {', '.join(missing)}")
    inputs = {name: input_digests[name] for name in sorted(set(recipe.files.values()))}
    return _digest({"builder": builder_version, "recipe": recipe.as_data(), "inputs": inputs, "base": base})


def short(key: str) -> str:
    return key[:12]


@dataclass(frozen=True)
class BuildStep:
    name: str
    key: str
    action: str  # "cached" | "build"
    reason: str


def plan_builds(keys: Mapping[str, str], built: Iterable[str], *, rebuild: Iterable[str] = ()) -> list[BuildStep]:
    """For each image (in the order of `keys`): reuse the archive cached under its key, or build.

    `built` holds the keys whose archives exist in the cache; `rebuild` names images to build
    even so (`--rebuild`).
    """
    have, forced = set(built), set(rebuild)
    steps = []
    for name, key in keys.items():
        if name in forced:
            steps.append(BuildStep(name, key, "build", "rebuild requested"))
        elif key in have:
            steps.append(BuildStep(name, key, "cached", f"archive {short(key)} in the cache"))
        else:
            steps.append(BuildStep(name, key, "build", f"no archive for key {short(key)}"))
    return steps


@dataclass(frozen=True)
class ImportStep:
    reference: str
    archive: str
    digest: str
    action: str  # "present" | "import"
    reason: str


def plan_imports(wanted: Iterable[tuple[str, str, str]], present: Mapping[str, str]) -> list[ImportStep]:
    """`wanted`: (reference, archive path, manifest digest); `present`: reference -> digest in containerd.

    Import only what containerd lacks or holds at another digest (an image rebuilt since).
    """
    steps = []
    for reference, archive, digest in wanted:
        current = present.get(reference)
        if current == digest:
            steps.append(ImportStep(reference, archive, digest, "present", "same digest in containerd"))
        elif current is None:
            steps.append(ImportStep(reference, archive, digest, "import", "not in containerd"))
        else:
            steps.append(ImportStep(reference, archive, digest, "import", f"containerd has {current[:19]}"))
    return steps


def parse_ctr_images(output: str) -> dict[str, str]:
    """`ctr images ls` output -> reference -> digest (the manifest or index digest it names)."""
    images: dict[str, str] = {}
    lines = output.splitlines()
    for line in lines[1:] if lines and lines[0].startswith("REF") else lines:
        fields = line.split()
        if len(fields) >= 3 and fields[2].startswith("sha256:"):
            images[fields[0]] = fields[2]
    return images


def parse_apt_mirrors(sources_files: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """Mirror URLs and their suites from apt sources: deb822 `.sources` and one-line `.list` text.

    Keys are file names (the format is chosen by the suffix), values their text. Only `deb`
    entries count; the order is the files' order.
    """
    found: list[tuple[str, list[str]]] = []
    for name, text in sources_files.items():
        if name.endswith(".sources"):
            for stanza in text.split("\n\n"):
                fields: dict[str, str] = {}
                for raw in stanza.splitlines():
                    if raw.startswith("#") or ":" not in raw or raw[:1].isspace():
                        continue
                    key, _, value = raw.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "deb").split() or fields.get("enabled", "yes").lower() == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    found.append((uri, fields.get("suites", "").split()))
        else:
            for raw in text.splitlines():
                words = raw.split("#", 1)[0].split()
                if not words or words[0] != "deb":
                    continue
                words = words[1:]
                if words and words[0].startswith("["):
                    while words and not words[0].endswith("]"):
                        words = words[1:]
                    words = words[1:]
                if len(words) >= 2:
                    found.append((words[0], [words[1]]))
    return found


def debian_mirror(mirrors: list[tuple[str, list[str]]]) -> str | None:
    """The mirror serving Debian's main archive (not -security, not a third-party repository).

    One naming a Debian codename wins over one naming only an alias such as `stable`, which
    third-party repositories use too.
    """
    candidates = [(uri, {s.split("-")[0] for s in suites}) for uri, suites in mirrors if "security" not in uri]
    for names in (DEBIAN_CODENAMES, DEBIAN_ALIASES):
        for uri, suites in candidates:
            if suites & names:
                return uri
    return None


def security_mirror(mirrors: list[tuple[str, list[str]]]) -> str | None:
    """The mirror serving Debian's security updates (`<codename>-security`), if the host uses one."""
    for uri, suites in mirrors:
        if any(s.endswith("-security") and s.split("-")[0] in DEBIAN_CODENAMES for s in suites):
            return uri
    return None


def apt_sources(suite: str, mirror: str, security: str | None) -> str:
    """The image's apt sources: the release, its stable updates and, when known, its security updates."""
    lines = [f"deb {mirror} {suite} main", f"deb {mirror} {suite}-updates main"]
    if security:
        lines.append(f"deb {security} {suite}-security main")
    return "\n".join(lines) + "\n"


DEBIAN_CODENAMES = {"bullseye", "bookworm", "trixie", "forky", "duke", "sid"}
DEBIAN_ALIASES = {"oldstable", "stable", "testing", "unstable"}

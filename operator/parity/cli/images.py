"""`parity images build|import|list`: local OCI images from Debian/PyPI packages (see docs/images.md)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from parity.cli.errors import CliError
import yaml

from parity.images import build, catalog, containerd, recipes


def register(subparsers) -> None:
    parser = subparsers.add_parser("images", help="build local OCI images from Debian/PyPI packages and import them")
    commands = parser.add_subparsers(dest="images_command", metavar="ACTION")
    commands.required = True

    b = commands.add_parser("build", help="build every image (or --only some); cached by content")
    b.add_argument("--only", nargs="+", metavar="NAME", default=[], help="build only these images")
    b.add_argument("--rebuild", nargs="+", metavar="NAME", default=[],
                   help="build these even when cached (e.g. to pick up Debian security updates)")
    b.set_defaults(func=images_build)

    i = commands.add_parser("import", help="import built images into containerd (only missing or changed ones)")
    i.add_argument("--address", required=True, help="containerd socket")
    i.add_argument("--ctr", default=None, help="ctr binary (default: ctr on PATH)")
    i.add_argument("--namespace", default="k8s.io", help="containerd namespace (default: k8s.io, the CRI's)")
    i.add_argument("--only", nargs="+", metavar="NAME", default=[], help="import only these images")
    i.set_defaults(func=images_import)

    cat = commands.add_parser("catalog", help="print (or --write) the image catalogue the operator reads "
                                               "(PARITY_IMAGE_CATALOG) for the local images")
    cat.add_argument("--write", nargs="?", const="", default=None, metavar="PATH",
                     help="write it (default: in the images cache) and print its path")
    cat.set_defaults(func=images_catalog)

    ls = commands.add_parser("list", help="show each image: reference, version, cache key, size, built?")
    ls.add_argument("--json", action="store_true", help="print JSON (with digests and archive paths)")
    ls.set_defaults(func=images_list)


def _select(names: list[str]) -> list[recipes.Recipe]:
    try:
        return recipes.select(names)
    except KeyError as err:
        raise CliError(err.args[0]) from None


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def images_build(args) -> int:
    selected = _select(args.only)
    _select(args.rebuild)
    started = time.monotonic()
    try:
        built = build.build_all(selected, rebuild=tuple(args.rebuild), progress=_progress)
    except build.BuildError as err:
        raise CliError(f"images build failed: {err}") from None
    for image in built:
        print(f"{image.reference}\t{image.digest}\t{image.archive}")
    _progress(f"{len(built)} image(s) ready in {time.monotonic() - started:.0f}s")
    return 0


def images_import(args) -> int:
    ctr = args.ctr or shutil.which("ctr")
    if not ctr or not Path(ctr).is_file():
        raise CliError("no ctr binary: pass --ctr PATH (the node's bin dir has one)")
    try:
        images = build.cached_images(_select(args.only))
    except build.BuildError as err:
        raise CliError(str(err)) from None
    try:
        containerd.import_images(ctr, args.address, images, namespace=args.namespace, progress=_progress)
    except containerd.ImageImportError as err:
        raise CliError(str(err)) from None
    return 0


def images_catalog(args) -> int:
    if args.write is None:
        print(yaml.safe_dump(catalog.local_catalog(), sort_keys=True), end="")
        return 0
    print(catalog.write_catalog(Path(args.write) if args.write else None))
    return 0


def _size(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 10e6 else f"{size / 1e6:.1f} MB"


def images_list(args) -> int:
    rows = build.status(list(recipes.RECIPES))
    if args.json:
        print(json.dumps({"images": rows, "unavailable": recipes.UNAVAILABLE}, indent=2))
        return 0
    header = ("NAME", "REFERENCE", "VERSION", "SUITE", "KEY", "SIZE", "BUILT")
    table = [header] + [(r["name"], r["reference"], r["version"], r["suite"], r["key"],
                         _size(r["size"]) if r["size"] else "-", "yes" if r["built"] else "no") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for part, why in recipes.UNAVAILABLE.items():
        print(f"(no local image for {part}: {why})")
    return 0

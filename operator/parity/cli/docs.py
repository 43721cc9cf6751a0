"""`parity docs crd-reference`: the Markdown reference of the CRDs, generated from their schemas."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.cli.main import EXIT_OK, CliError
from parity.crdref import render_crd_reference
from parity.crds import REPO_ROOT, build_crds

DEFAULT_REFERENCE = REPO_ROOT / "docs" / "crd-reference.md"


def register(subparsers) -> None:
    docs = subparsers.add_parser("docs", help="generate documentation")
    docs_commands = docs.add_subparsers(dest="docs_command", metavar="DOCUMENT")
    docs_commands.required = True
    reference = docs_commands.add_parser(
        "crd-reference",
        help="Markdown reference of the CRDs (printed unless --write or --check)",
        description="Generate the Markdown reference of the parity.dev CRDs.",
    )
    reference.add_argument("--output", type=Path, default=DEFAULT_REFERENCE,
                           help=f"file for --write/--check (default: {DEFAULT_REFERENCE})")
    action = reference.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="write the reference to --output")
    action.add_argument("--check", action="store_true", help="exit 1 when --output differs from the generated text")
    reference.set_defaults(func=run_crd_reference)


def run_crd_reference(args: argparse.Namespace) -> int:
    text = render_crd_reference(build_crds())
    path: Path = args.output
    if args.check:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as err:
            raise CliError(f"{path}: cannot read ({err.strerror}); generate it with "
                           "`parity docs crd-reference --write`") from None
        if current != text:
            raise CliError(f"{path}: stale, it differs from the CRD schemas; regenerate it with "
                           "`parity docs crd-reference --write`")
        print(f"{path}: up to date")
        return EXIT_OK
    if args.write:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as err:
            raise CliError(f"{path}: cannot write ({err.strerror})") from None
        print(f"wrote {path}")
        return EXIT_OK
    sys.stdout.write(text)
    return EXIT_OK

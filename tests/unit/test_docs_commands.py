"""The commands the docs and `make up`'s closing message show exist: every `parity ...` line in
docs/quickstart.md and docs/troubleshooting.md (shell blocks) and in tools/up.sh's hints parses
with the CLI's parser (logs options are also checked the way `parity logs` checks them), and
every `make TARGET` names a target of the Makefile."""

import re
import shlex

import pytest
from support import REPO_ROOT

from parity.cli import logs as logs_cli
from parity.cli.main import build_parser

DOCS = ("docs/quickstart.md", "docs/troubleshooting.md")
SEPARATORS = {"|", "||", "&&", ";", ">", ">>", "2>&1"}


def shell_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    return lines


def doc_commands(path: str) -> list[str]:
    text = (REPO_ROOT / path).read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in shell_lines(block)]


def up_hints() -> list[str]:
    text = (REPO_ROOT / "tools/up.sh").read_text()
    return text.split("cat <<NEXT", 1)[1].split("\nNEXT", 1)[0].splitlines()


def commands(line: str) -> list[list[str]]:
    """The simple commands of a line, each as words, variables assignments and sudo dropped."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    out, current = [], []
    for word in words:
        if word in SEPARATORS or word.startswith(">"):
            out.append(current)
            current = [] if word != ">" else ["<redirect>"]
            continue
        current.append(word)
    out.append(current)
    result = []
    for words in out:
        while words and (re.fullmatch(r"[A-Z_]+=.*", words[0]) or words[0] == "sudo"):
            words = words[1:]
        if words and words[0] != "<redirect>":
            result.append(words)
    return result


ALL_LINES = [(p, line) for p in DOCS for line in doc_commands(p)] + [("tools/up.sh", line) for line in up_hints()]
PARITY_COMMANDS = [(where, words) for where, line in ALL_LINES for words in commands(line)
                   if words[0] in ("parity", ".venv/bin/parity", "$P")]
MAKE_COMMANDS = [(where, words) for where, line in ALL_LINES for words in commands(line) if words[0] == "make"]


def test_the_docs_show_the_new_commands():
    shown = {" ".join(w[:2]) for _, w in PARITY_COMMANDS}
    assert any(s.endswith(" logs") for s in shown)
    targets = {w[1] for _, w in MAKE_COMMANDS if len(w) > 1}
    assert {"diff-staging", "validate-parity", "aggregate-logs", "observability-down"} <= targets
    assert len([1 for where, w in PARITY_COMMANDS if where == "docs/troubleshooting.md" and w[1] == "logs"]) >= 8


@pytest.mark.parametrize("where, words", PARITY_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_parity_command_parses(where, words):
    parser = build_parser()
    try:
        args = parser.parse_args(words[1:])
    except SystemExit as exit_:
        pytest.fail(f"{where}: `{' '.join(words)}` does not parse (exit {exit_.code})")
    if args.command == "logs":
        logs_cli.parse_options(args)  # raises CliError on a bad component, regex, duration, ...
    if args.command == "diff":
        assert args.output in ("table", "json", "yaml", "junit", "html", "sarif", "markdown"), words


@pytest.mark.parametrize("where, words", MAKE_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_make_target_exists(where, words):
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    assert targets, words
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), f"{where}: make {target}"

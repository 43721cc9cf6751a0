"""Processes by pid, through signals and /proc: liveness, children, signalling a group.

Shared by the local control plane, the drill's LocalProcessKiller and the runtime test harness
(whose reaper runs these in a detached interpreter), so all of them agree on what "gone" means.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int | str) -> list[str]:
    # The command name in parentheses may itself hold spaces and ")": split after the last ")".
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def pid_alive(pid: int, *, if_unreadable: bool = True) -> bool:
    """Whether `pid` exists and is not a zombie (a zombie still answers signal 0).

    `if_unreadable` is the answer when the process answered signal 0 but its /proc entry could
    not be read (it vanished in between, or /proc is hidden): callers that wait for a process to
    go keep waiting by default; callers that only reap take it as gone.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return if_unreadable


def children_of(parent: int) -> list[int]:
    """Direct children of `parent`; they need listing before it dies, or they are re-parented."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat_fields(entry.name)[1]) == parent:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            pass
    return found


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by `pid`, else (not a group leader, or not ours) the process alone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

"""Restarting one process of the local control plane, for the fault tests (tests/integration/
test_operator_faults.py) and benchmarks: the API server (every watch stream is cut, and its watch
cache starts again at the newest revision, so a client resuming from an older one gets 410 Gone)
or etcd (the API server loses its store for a while).

The process comes back with the arguments it was started with (recorded in the state
directory's args.json by ControlPlane._spawn), optionally with some flags overridden.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# The processes whose restart the control plane can wait for, and how it knows they are back.
RESTARTABLE = ("etcd", "kube-apiserver")


def flag_name(arg: str) -> str:
    """`--min-request-timeout=5` -> `--min-request-timeout`; a bare flag is its own name."""
    return arg.split("=", 1)[0]


def flag_value(args: Sequence[str], flag: str) -> str | None:
    """The value of the last `flag=VALUE` in args (the one a Go flag parser keeps), else None."""
    value = None
    for arg in args:
        name, sep, rest = arg.partition("=")
        if name == flag and sep:
            value = rest
    return value


def override_args(args: Sequence[str], overrides: Iterable[str]) -> list[str]:
    """args with every flag named in overrides replaced by the override (in place of its first
    occurrence; later duplicates dropped); flags not in args are appended in the given order."""
    by_name = {flag_name(o): o for o in overrides}  # the last override of a flag wins
    result: list[str] = []
    placed: set[str] = set()
    for arg in args:
        name = flag_name(arg)
        if name in by_name:
            if name not in placed:
                result.append(by_name[name])
                placed.add(name)
            continue
        result.append(arg)
    result.extend(o for name, o in by_name.items() if name not in placed)
    return result


def health_url(name: str, args: Sequence[str]) -> str:
    """Where the restarted process says it is healthy, from its own arguments."""
    if name == "etcd":
        client = flag_value(args, "--advertise-client-urls") or flag_value(args, "--listen-client-urls")
        if not client:
            raise ValueError("etcd arguments name no client URL")
        return client.split(",")[0].rstrip("/") + "/health"
    if name == "kube-apiserver":
        port = flag_value(args, "--secure-port")
        if not port:
            raise ValueError("kube-apiserver arguments name no --secure-port")
        return f"https://127.0.0.1:{port}/readyz"
    raise ValueError(f"cannot restart {name!r}: only {', '.join(RESTARTABLE)}")

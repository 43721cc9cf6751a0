"""Running `parity` against the cluster `make up` left running (.parity/cluster), for the benches
that measure the real node."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".parity" / "cluster"


def parity_json(*args: str, timeout: float = 900) -> dict:
    """`parity ARGS -o json` against make up's cluster; {"error": ...} when it printed no JSON.
    PARITY_STATE_DIR lets --kill process and `parity chaos` find that node's containerd."""
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "parity"), *args, "-o", "json"], capture_output=True, text=True,
        timeout=timeout,
        env={**os.environ, "KUBECONFIG": str(STATE / "kubeconfig"), "PARITY_STATE_DIR": str(STATE),
             "PARITY_CLUSTER_DNS": os.environ.get("PARITY_CLUSTER_DNS", "10.96.0.10")})
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": (proc.stderr or proc.stdout).strip()[-300:], "passed": False}

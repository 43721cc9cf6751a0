"""What the operator process loads at start: the heavy client libraries stay out until used.

Each is measured in RSS (docs/architecture.md): the official kubernetes package (not a
dependency, but kopf imports it whenever it is installed), and the PostgreSQL and Redis
drivers, which only the runtime level (probes, actuation) needs.
"""

import json
import subprocess
import sys

from support import REPO_ROOT


def loaded_after(statement: str) -> dict[str, bool]:
    code = (f"import sys\n{statement}\nimport json\n"
            "print(json.dumps({m: m in sys.modules for m in ('kubernetes', 'psycopg', 'redis', 'parity.actuation', "
            "'parity.runtime')}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_registering_the_handlers_loads_no_service_driver_and_no_kubernetes_package():
    assert loaded_after("import parity.handlers") == {
        "kubernetes": False, "psycopg": False, "redis": False, "parity.actuation": False, "parity.runtime": False}


def test_the_runtime_level_is_what_loads_the_drivers():
    # Why handlers/common.py imports these inside refresh_runtime: they pull the drivers in.
    loaded = loaded_after("import parity.actuation, parity.runtime")
    assert loaded["psycopg"] and loaded["redis"]

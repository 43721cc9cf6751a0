#!/usr/bin/env python3
"""Patroni callback (on_start, on_role_change, on_stop): keeps this pod's role label equal to
the role Patroni reports, so the primary and replicas Services select the right members.

Called by Patroni as `<script> <action> <role> <scope>`. Talks to the API server with the pod's
own ServiceAccount token; the RoleBinding lets it PATCH only this environment's pods.
Only the standard library: it runs under any image's python3.
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

ROLE_LABEL = os.environ.get("PARITY_ROLE_LABEL", "parity.dev/role")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# Patroni < 3 says "master"; a standby cluster's leader is its primary for our Services.
ROLES = {"master": "primary", "primary": "primary", "standby_leader": "primary", "replica": "replica"}


def main(argv):
    if len(argv) < 3:
        print("usage: patroni-role-callback <action> <role> <scope>", file=sys.stderr)
        return 2
    action, role = argv[1], argv[2]
    value = None if action == "on_stop" else ROLES.get(role)
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    namespace = os.environ.get("POD_NAMESPACE") or open(f"{SA_DIR}/namespace").read().strip()
    pod = os.environ.get("POD_NAME") or os.uname().nodename
    with open(f"{SA_DIR}/token") as f:
        token = f.read().strip()
    body = json.dumps({"metadata": {"labels": {ROLE_LABEL: value}}}).encode()
    url = f"https://{host}:{port}/api/v1/namespaces/{namespace}/pods/{pod}"
    context = ssl.create_default_context(cafile=f"{SA_DIR}/ca.crt")
    delay = 0.5
    for attempt in range(6):
        request = urllib.request.Request(url, data=body, method="PATCH", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"})
        try:
            with urllib.request.urlopen(request, timeout=5, context=context):
                print(f"{action}: {pod} {ROLE_LABEL}={value}")
                return 0
        except urllib.error.HTTPError as err:
            if err.code < 500 and err.code != 429:
                print(f"{action}: labelling {pod} refused: HTTP {err.code}", file=sys.stderr)
                return 1
            reason = f"HTTP {err.code}"
        except OSError as err:
            reason = str(err)
        print(f"{action}: labelling {pod} failed ({reason}), attempt {attempt + 1}", file=sys.stderr)
        time.sleep(delay)
        delay = min(delay * 2, 5)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

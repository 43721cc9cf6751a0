"""kopf's watches log in with the credentials the operator's own client uses (kube/credentials.py).

Without this, kopf would pick a login of its own (it tries the official client, then a kubeconfig
reader without exec plugins, token files or relative paths), and the two halves of one process
could talk to different clusters or as different users.
"""

from __future__ import annotations

import kopf

from parity.kube.credentials import CredentialsError, load_access, run_exec_plugin


@kopf.on.login()
def login(**_) -> kopf.ConnectionInfo:
    try:
        access = load_access()
        token, cert, key, expires = access.token, access.client_cert_pem, access.client_key_pem, None
        if access.token_file:
            # Read at every login: kopf logs in again when the API server refuses a token.
            with open(access.token_file, encoding="utf-8") as handle:
                token = handle.read().strip() or token
        if access.exec_plugin is not None:
            credential = run_exec_plugin(access.exec_plugin)
            token = credential.token or token
            cert, key = credential.client_cert_pem or cert, credential.client_key_pem or key
            expires = credential.expires  # kopf logs in again when it passes
    except (CredentialsError, OSError) as err:
        raise kopf.LoginError(f"cannot load Kubernetes credentials: {err}") from None
    if access.tls_server_name:
        # aiohttp, under kopf, has no per-connection server name to verify against.
        raise kopf.LoginError(f"{access.source}: tls-server-name is not supported by the operator's watches; "
                              "use a server address the certificate names")
    return kopf.ConnectionInfo(
        server=access.server,
        ca_data=access.ca_pem,
        insecure=access.insecure or None,
        certificate_data=cert,
        private_key_data=key,
        token=token,
        username=access.username,
        password=access.password,
        default_namespace=access.namespace,
        expiration=expires,
    )

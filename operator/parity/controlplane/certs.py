"""Certificates and keys for the local control plane, made with the openssl command line.

Like envtest: one CA signs the API server's serving certificate and an admin client
certificate in group system:masters; a separate RSA key pair signs service-account tokens.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertPaths:
    ca_crt: Path
    ca_key: Path
    serving_crt: Path
    serving_key: Path
    admin_crt: Path
    admin_key: Path
    sa_key: Path
    sa_pub: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(cert_dir: Path) -> CertPaths:
    """Create (once) every certificate and key the control plane needs under cert_dir."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    paths = CertPaths(
        ca_crt=cert_dir / "ca.crt",
        ca_key=cert_dir / "ca.key",
        serving_crt=cert_dir / "apiserver.crt",
        serving_key=cert_dir / "apiserver.key",
        admin_crt=cert_dir / "admin.crt",
        admin_key=cert_dir / "admin.key",
        sa_key=cert_dir / "sa.key",
        sa_pub=cert_dir / "sa.pub",
    )
    if all(p.exists() for p in vars(paths).values()):
        return paths
    days = "3650"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", days, "-subj", "/CN=parity-local-ca", cwd=cert_dir)
    (cert_dir / "serving.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        "extendedKeyUsage=serverAuth\n"
    )
    (cert_dir / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject, ext in (
        ("apiserver", "/CN=kube-apiserver", "serving.ext"),
        ("admin", "/O=system:masters/CN=parity-admin", "client.ext"),
    ):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subject, cwd=cert_dir)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", days, "-extfile", ext, cwd=cert_dir)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=cert_dir)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=cert_dir)
    return paths

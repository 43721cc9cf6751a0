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


def make_certs(cert_dir: Path, *, extra_ips: tuple[str, ...] = ()) -> CertPaths:
    """Create (once) every certificate and key the control plane needs under cert_dir.

    `extra_ips` are further addresses the API server is reached at (a real node's pods reach
    it at the node's address); the serving certificate is re-issued when they change."""
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
    ips = ("127.0.0.1", "10.96.0.1", *extra_ips)
    serving_ext = (
        "subjectAltName=" + ",".join(f"IP:{ip}" for ip in ips) + ",DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        "extendedKeyUsage=serverAuth\n" + LEAF_EXTENSIONS
    )
    ext_file = cert_dir / "serving.ext"
    if all(p.exists() for p in vars(paths).values()) and ext_file.exists() and ext_file.read_text() == serving_ext:
        return paths
    if not (paths.ca_crt.exists() and paths.ca_key.exists()):
        # Explicit CA extensions: strict verifiers (Python 3.13's default, inside the pods that
        # call the API server) refuse a CA without keyUsage.
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", DAYS, "-subj", "/CN=parity-local-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-addext", "subjectKeyIdentifier=hash", cwd=cert_dir)
    ext_file.write_text(serving_ext)
    _sign(cert_dir, "apiserver", "/CN=kube-apiserver", "serving.ext")
    if not paths.admin_crt.exists():
        make_client_cert(cert_dir, "admin", "/O=system:masters/CN=parity-admin")
    if not paths.sa_key.exists():
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=cert_dir)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=cert_dir)
    return paths


DAYS = "3650"
# What RFC 5280 (and strict verifiers) expect of a leaf certificate besides its usage.
LEAF_EXTENSIONS = ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")


def _sign(cert_dir: Path, name: str, subject: str, ext: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=cert_dir)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", DAYS, "-extfile", ext, cwd=cert_dir)


def make_client_cert(cert_dir: Path, name: str, subject: str) -> tuple[Path, Path]:
    """A client certificate signed by the cluster CA (made by make_certs), once; returns (crt, key).
    The subject's CN is the user and each O a group, e.g. /O=system:nodes/CN=system:node:vm."""
    crt, key = cert_dir / f"{name}.crt", cert_dir / f"{name}.key"
    if not (crt.exists() and key.exists()):
        (cert_dir / "client.ext").write_text("extendedKeyUsage=clientAuth\n" + LEAF_EXTENSIONS)
        _sign(cert_dir, name, subject, "client.ext")
    return crt, key

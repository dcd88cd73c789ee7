"""A throwaway CA and server certificate for HAProxy's TLS listener, made at `up` time."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from devcluster.paths import REPO_ROOT

_CERT_SCRIPT = REPO_ROOT / "scripts" / "make-selfsigned-cert.sh"


@dataclass(frozen=True)
class LocalTls:
    directory: Path

    @property
    def ca_pem(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def haproxy_pem(self) -> Path:
        """Certificate, chain and key in one file: what HAProxy's `crt` wants."""
        return self.directory / "haproxy.pem"


def ensure_local_tls(directory: Path, common_name: str = "127.0.0.1") -> LocalTls:
    tls = LocalTls(directory)
    if tls.ca_pem.exists() and tls.haproxy_pem.exists():
        return tls
    subprocess.run(
        ["bash", str(_CERT_SCRIPT), str(directory), common_name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return tls

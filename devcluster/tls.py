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


def _valid_for_another_day(certificate: Path) -> bool:
    # The script's certificates last 30 days; a run directory kept longer must not start
    # HAProxy with an expired one (the emulator would then refuse every webhook delivery).
    result = subprocess.run(
        ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(certificate)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def ensure_local_tls(directory: Path, common_name: str = "127.0.0.1") -> LocalTls:
    """Reuse the certificates in `directory` while they are valid; otherwise make new ones."""
    tls = LocalTls(directory)
    server_pem = directory / "server.pem"
    if (
        tls.ca_pem.exists()
        and tls.haproxy_pem.exists()
        and server_pem.exists()
        and _valid_for_another_day(server_pem)
    ):
        return tls
    subprocess.run(
        ["bash", str(_CERT_SCRIPT), str(directory), common_name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return tls

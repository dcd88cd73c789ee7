"""The local CA and HAProxy certificate are reused while valid and replaced when about to expire."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

from devcluster.tls import ensure_local_tls


def test_certificates_are_made_once_and_verify(tmp_path: Path) -> None:
    tls = ensure_local_tls(tmp_path / "tls")
    context = ssl.create_default_context(cafile=str(tls.ca_pem))
    assert context.get_ca_certs()
    first_ca = tls.ca_pem.read_bytes()
    again = ensure_local_tls(tmp_path / "tls")
    assert again.ca_pem.read_bytes() == first_ca
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tls.ca_pem), str(tmp_path / "tls" / "server.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr


def test_an_expiring_certificate_is_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    directory.mkdir()
    # A certificate valid for less than the one-day margin stands in for an old run directory.
    subprocess.run(
        ["bash", "scripts/make-selfsigned-cert.sh", str(directory), "127.0.0.1"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "CERT_DAYS": "1"},
        capture_output=True,
        check=True,
    )
    old_ca = (directory / "ca.pem").read_bytes()
    tls = ensure_local_tls(directory)
    assert tls.ca_pem.read_bytes() != old_ca
    still_valid = subprocess.run(
        ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(directory / "server.pem")],
        capture_output=True,
        check=False,
    )
    assert still_valid.returncode == 0

"""scripts/make-selfsigned-cert.sh makes a CA-signed server certificate usable by HAProxy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MAKE_CERT = REPO_ROOT / "scripts" / "make-selfsigned-cert.sh"


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(
    ("common_name", "expected_names"),
    [
        ("localhost", ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"]),
        ("127.0.0.1", ["IP Address:127.0.0.1", "DNS:localhost", "IP Address:0:0:0:0:0:0:0:1"]),
        (
            "bot.example.org",
            [
                "DNS:bot.example.org",
                "DNS:localhost",
                "IP Address:127.0.0.1",
                "IP Address:0:0:0:0:0:0:0:1",
            ],
        ),
    ],
)
def test_certificate_is_signed_by_the_ca_with_each_name_once(
    tmp_path: Path, common_name: str, expected_names: list[str]
) -> None:
    subprocess.run([str(MAKE_CERT), str(tmp_path), common_name], check=True, capture_output=True)

    verify = _openssl("verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "server.pem"))
    assert verify.strip().endswith(": OK")
    san = _openssl("x509", "-in", str(tmp_path / "server.pem"), "-noout", "-ext", "subjectAltName")
    names = [n.strip() for n in san.splitlines()[1].split(",")]
    assert names == expected_names
    subject = _openssl("x509", "-in", str(tmp_path / "server.pem"), "-noout", "-subject")
    assert common_name in subject


def test_haproxy_bundle_holds_certificate_chain_and_matching_key(tmp_path: Path) -> None:
    subprocess.run([str(MAKE_CERT), str(tmp_path)], check=True, capture_output=True)
    bundle = (tmp_path / "haproxy.pem").read_text()
    assert bundle.count("BEGIN CERTIFICATE") == 2
    assert bundle.count("PRIVATE KEY-----") == 2  # one BEGIN, one END
    cert_key = _openssl("x509", "-in", str(tmp_path / "server.pem"), "-noout", "-pubkey")
    key_pub = _openssl("pkey", "-in", str(tmp_path / "server.key"), "-pubout")
    assert cert_key == key_pub
    for secret in ("ca.key", "server.key", "haproxy.pem"):
        assert (tmp_path / secret).stat().st_mode & 0o077 == 0, f"{secret} must be private"


def test_usage_error_without_an_output_directory() -> None:
    result = subprocess.run([str(MAKE_CERT)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage:" in result.stderr

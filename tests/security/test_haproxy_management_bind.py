"""HAProxy's stats page and Prometheus exporter listen on the management address only.

Left unset, STATS_BIND and METRICS_BIND are ``${MGMT_BIND_ADDR}:8404`` and ``:8405``, and
MGMT_BIND_ADDR is 127.0.0.1 (haproxy/haproxy.cfg, also in the generated haproxy.compose.cfg;
the compose file sets both binds itself inside the container and publishes them on the host's
MGMT_BIND_ADDR). The run uses another loopback address, 127.0.0.3, so that the fixed ports
cannot clash with anything listening on 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from devcluster.ports import free_ports
from devcluster.process import ManagedProcess

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [ROOT / "haproxy" / "haproxy.cfg", ROOT / "haproxy" / "haproxy.compose.cfg"]
MGMT = "127.0.0.3"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_the_defaults_bind_the_management_address(config: Path) -> None:
    text = config.read_text(encoding="utf-8")
    assert 'presetenv MGMT_BIND_ADDR "127.0.0.1"' in text
    assert 'presetenv STATS_BIND "${MGMT_BIND_ADDR}:8404"' in text
    assert 'presetenv METRICS_BIND "${MGMT_BIND_ADDR}:8405"' in text
    # Nothing else binds a management listener.
    assert re.findall(r"^\s*bind (\S+)", text, re.MULTILINE) == [
        '"${HTTP_BIND}"',
        '"${HTTPS_BIND}"',
        '"${STATS_BIND}"',
        '"${METRICS_BIND}"',
    ]


def test_unset_binds_listen_on_mgmt_bind_addr_only(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.fail("haproxy is not installed (apt-get install haproxy)")
    subprocess.run(
        [str(ROOT / "scripts" / "make-selfsigned-cert.sh"), str(tmp_path), "localhost"],
        check=True,
        capture_output=True,
    )
    https, http, bot = free_ports(3)
    env = {
        "BOT1_ADDR": f"127.0.0.1:{bot}",
        "BOT2_ADDR": f"127.0.0.1:{bot}",
        "BOT3_ADDR": f"127.0.0.1:{bot}",
        "TLS_CERT_PEM": str(tmp_path / "haproxy.pem"),
        "WEBHOOK_PATH": "/telegram/webhook",
        "WEBHOOK_SECRET_TOKEN": "management-bind-test-secret",
        "STATS_PASSWORD": "management-bind-test-password",
        "HTTPS_BIND": f"127.0.0.1:{https}",
        "HTTP_BIND": f"127.0.0.1:{http}",
        "MGMT_BIND_ADDR": MGMT,
    }
    process = ManagedProcess(
        "haproxy-mgmt", [haproxy, "-db", "-f", str(CONFIGS[0])], log_dir=tmp_path, env=env
    ).start()
    try:
        process.wait_ready(port=8405, host=MGMT)
        assert httpx.get(f"http://{MGMT}:8405/metrics").status_code == 200
        stats = httpx.get(f"http://{MGMT}:8404/", auth=("admin", env["STATS_PASSWORD"]))
        assert stats.status_code == 200
        for other in ("127.0.0.1", "127.0.0.2"):  # not 0.0.0.0: no other address answers
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{other}:8405/metrics", timeout=2)
    finally:
        process.stop()

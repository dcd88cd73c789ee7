"""deploy/k8s/files/: the compose deployment's scripts and configs, current, and working.

HAProxy's k8s variant passes ``haproxy -c`` with the resolvers section and the TLS files laid out
as the Secret volume mounts them; the Redis init Job's wrapper forms a real six-node cluster of
redis-server processes once and leaves it alone the second time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.k8s import sync
from tests.deploy.test_redis_configs import PASSWORD, Node, nodes  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[3]


def test_the_files_are_current() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in sync.expected().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"stale: {stale}; run .venv/bin/python -m tests.deploy.k8s.sync"


def test_a_change_to_the_servers_block_is_noticed() -> None:
    changed = sync.haproxy_compose.SOURCE.read_text(encoding="utf-8").replace(
        '    server bot3 "${BOT3_ADDR}"\n', ""
    )
    with pytest.raises(ValueError, match="server bot1"):
        sync.render_haproxy(changed)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fok.pem (the certificate) and fok.pem.key, as the fok-tls Secret's volume mounts them."""
    directory = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [str(ROOT / "scripts" / "make-selfsigned-cert.sh"), str(directory), "localhost"],
        capture_output=True,
        check=True,
    )
    mounted = directory / "mounted"
    mounted.mkdir()
    shutil.copy(directory / "server.pem", mounted / "fok.pem")
    shutil.copy(directory / "server.key", mounted / "fok.pem.key")
    return mounted / "fok.pem"


def haproxy_check(tls: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    """haproxy -c with the environment the haproxy Deployment gives the container."""
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy is missing: run scripts/install.sh"
    env = {
        "PATH": os.environ["PATH"],
        "POD_NAMESPACE": "fok",
        "HTTPS_BIND": ":8443",
        "HTTP_BIND": ":8080",
        "STATS_BIND": ":8404",
        "METRICS_BIND": ":8405",
        "TLS_CERT_PEM": str(tls),
        "WEBHOOK_PATH": "/telegram/webhook",
        "WEBHOOK_MAX_BODY_BYTES": "1048576",
        "TELEGRAM_SOURCE_CHECK": "off",
        "WEBHOOK_SECRET_TOKEN": "throwaway-webhook-secret-0123456789",
        "STATS_PASSWORD": "throwaway-stats-0123456789",
        **overrides,
    }
    env = {k: v for k, v in env.items() if v != "<unset>"}
    return subprocess.run(
        [haproxy, "-dW", "-c", "-f", str(sync.HAPROXY_CFG)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_haproxy_accepts_the_k8s_edge(tls: Path) -> None:
    text = sync.HAPROXY_CFG.read_text(encoding="utf-8")
    assert "resolvers cluster\n    parse-resolv-conf\n" in text
    assert f"server-template bot 1-{sync.BOT_SLOTS} " in text
    result = haproxy_check(tls)
    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_refuses_to_start_without_its_namespace(tls: Path) -> None:
    result = haproxy_check(tls, POD_NAMESPACE="<unset>")
    assert result.returncode != 0
    assert "POD_NAMESPACE must be set" in result.stderr


def test_haproxy_refuses_a_certificate_without_its_key(tls: Path, tmp_path: Path) -> None:
    shutil.copy(tls, tmp_path / "fok.pem")
    result = haproxy_check(tls, TLS_CERT_PEM=str(tmp_path / "fok.pem"))
    assert result.returncode != 0


def k8s_init(names: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(sync.FILES / "init-cluster-k8s.sh")],
        env={
            "PATH": os.environ["PATH"],
            "REDIS_PASSWORD": PASSWORD,
            "REDIS_CLUSTER_NAMES": " ".join(names),
            "REDIS_INIT_TIMEOUT_SECONDS": "60",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_redis_init_job_forms_the_cluster_from_names_once(
    nodes: Callable[..., Node],  # noqa: F811
) -> None:
    # As in the StatefulSet: each node announces its (pod) address; the Job knows only names.
    cluster = [
        nodes("redis.conf", REDIS_ANNOUNCE_IP="127.0.0.1", REDIS_MAXMEMORY="64mb") for _ in range(6)
    ]
    names = [f"localhost:{node.port}" for node in cluster]
    first = k8s_init(names)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (
        "creating the cluster: " + " ".join(f"127.0.0.1:{n.port}" for n in cluster) in first.stdout
    )
    ids = {node.client.execute_command("CLUSTER MYID") for node in cluster}

    second = k8s_init(names)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already form a cluster" in second.stdout
    assert {node.client.execute_command("CLUSTER MYID") for node in cluster} == ids
    assert cluster[0].client.execute_command("CLUSTER INFO")["cluster_state"] == "ok"


def test_the_redis_init_job_gives_up_on_a_node_that_never_answers() -> None:
    result = subprocess.run(
        ["sh", str(sync.FILES / "init-cluster-k8s.sh")],
        env={
            "PATH": os.environ["PATH"],
            "REDIS_PASSWORD": PASSWORD,
            "REDIS_CLUSTER_NAMES": "localhost:1",
            "REDIS_INIT_TIMEOUT_SECONDS": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "localhost:1 gave no announced address" in result.stderr


def test_the_wrapper_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: run scripts/install.sh"
    result = subprocess.run(
        [shellcheck, str(sync.FILES / "init-cluster-k8s.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout

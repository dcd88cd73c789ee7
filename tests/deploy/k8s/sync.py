"""deploy/k8s/files/: what the Kubernetes ConfigMaps carry, kept identical to the compose files.

kustomize reads files only below the kustomization, so the scripts and configs the compose
deployment uses (mongo/, redis-cluster/) are copied here byte for byte, and haproxy.cfg is the
tested haproxy/haproxy.cfg with only the bot servers changed: found through the cluster's DNS
(``server-template`` + ``resolvers``), so scaling the bots needs no configuration change.
tests/deploy/k8s/test_files.py fails when a copy is stale. Regenerate after changing a source:

    .venv/bin/python -m tests.deploy.k8s.sync
"""

from __future__ import annotations

from pathlib import Path

from tests.deploy import haproxy_compose

ROOT = Path(__file__).resolve().parents[3]
FILES = ROOT / "deploy" / "k8s" / "files"
COPIES = {
    "init-replica-set.js": ROOT / "mongo" / "init-replica-set.js",
    "mongod-entrypoint.sh": ROOT / "mongo" / "mongod-entrypoint.sh",
    "redis.conf": ROOT / "redis-cluster" / "redis.conf",
    "broker.conf": ROOT / "redis-cluster" / "broker.conf",
    "render-config.sh": ROOT / "redis-cluster" / "render-config.sh",
    "init-cluster.sh": ROOT / "redis-cluster" / "init-cluster.sh",
}
HAPROXY_CFG = FILES / "haproxy.cfg"
# How many bot pods HAProxy can address; the bots' HPA maxReplicas stays at or below it.
BOT_SLOTS = 20

HEADER = """\
# GENERATED from haproxy/haproxy.cfg by `python -m tests.deploy.k8s.sync`; edit haproxy.cfg.
# The edge for deploy/k8s: identical to haproxy.cfg except that the bots are every ready pod of
# the headless Service "bot", found through the cluster's DNS (server-template + resolvers).
"""
SERVER_TEMPLATE = f"""\
    # Every ready pod behind the headless Service "bot" on port 8000, up to {BOT_SLOTS} (the bots'
    # HPA maxReplicas); slots without an address stay in maintenance. Pods that come or go
    # (scaling, rollouts) are seen within seconds, with no change here.
    server-template bot 1-{BOT_SLOTS} "bot.${{POD_NAMESPACE}}.svc.${{CLUSTER_DOMAIN}}:8000" resolvers cluster init-addr none resolve-prefer ipv4
"""
RESOLVERS = """\
# The cluster's DNS (the pod's /etc/resolv.conf names it); a headless Service answers with one
# A record per ready pod.
resolvers cluster
    parse-resolv-conf
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 5s
    hold obsolete 10s

"""
NAMESPACE_DEFAULTS = """\
    presetenv LOG_LEVEL "info"
"""
K8S_DEFAULTS = """\
    presetenv LOG_LEVEL "info"
    # The bots' DNS name: the pod's namespace (downward API) and the cluster's domain.
    presetenv CLUSTER_DOMAIN "cluster.local"
.if !defined(POD_NAMESPACE) || streq("${POD_NAMESPACE}","")
    .alert "POD_NAMESPACE must be set (the downward API's metadata.namespace)"
.endif
"""


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"haproxy.cfg no longer contains exactly one {old.splitlines()[0]!r}")
    return text.replace(old, new)


def render_haproxy(source: str) -> str:
    lines = source.splitlines(keepends=True)
    header_end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    text = HEADER + "".join(lines[header_end:])
    text = _replace_once(text, haproxy_compose.REQUIRED_ADDRS, "")
    text = _replace_once(text, NAMESPACE_DEFAULTS, K8S_DEFAULTS)
    text = _replace_once(text, haproxy_compose.SERVERS, SERVER_TEMPLATE)
    return _replace_once(
        text, haproxy_compose.BACKEND, "\n" + RESOLVERS.rstrip("\n") + haproxy_compose.BACKEND
    )


def expected() -> dict[Path, str]:
    """Every file this module owns under deploy/k8s/files/, with the content it must have."""
    files = {FILES / name: source.read_text(encoding="utf-8") for name, source in COPIES.items()}
    source = haproxy_compose.SOURCE.read_text(encoding="utf-8")
    files[HAPROXY_CFG] = render_haproxy(source)
    return files


def main() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    for path, text in expected().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

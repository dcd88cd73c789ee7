"""haproxy/haproxy.compose.cfg is haproxy/haproxy.cfg with only the bot servers changed.

In docker-compose.enterprise.yml the bots are one scalable service, so HAProxy finds them through
Docker's DNS (``server-template`` + ``resolvers``) instead of three fixed addresses; everything
else (TLS, the webhook gate, chat pinning, health checks, stats, exporter) is the tested
haproxy.cfg, byte for byte. Regenerate after changing haproxy.cfg:

    .venv/bin/python -m tests.deploy.haproxy_compose
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "haproxy" / "haproxy.cfg"
TARGET = ROOT / "haproxy" / "haproxy.compose.cfg"
# How many replicas of the "bot" service HAProxy can address (docker compose --scale bot=N).
BOT_SLOTS = 10

HEADER = """\
# GENERATED from haproxy/haproxy.cfg by `python -m tests.deploy.haproxy_compose`; edit haproxy.cfg.
# The edge for docker-compose.enterprise.yml: identical to haproxy.cfg except that the bots are
# every replica of the compose service "bot", found through Docker's DNS (server-template).
"""
REQUIRED_ADDRS = """\
.if !defined(BOT1_ADDR) || !defined(BOT2_ADDR) || !defined(BOT3_ADDR)
    .alert "BOT1_ADDR, BOT2_ADDR and BOT3_ADDR must be set (host:port of each bot instance)"
.endif
"""
SERVERS = """\
    server bot1 "${BOT1_ADDR}"
    server bot2 "${BOT2_ADDR}"
    server bot3 "${BOT3_ADDR}"
"""
SERVER_TEMPLATE = f"""\
    # Every replica of the compose service "bot" on port 8000 (WEB_BIND), up to {BOT_SLOTS}; slots
    # without an address stay in maintenance. A replica that comes or goes is seen within seconds.
    server-template bot 1-{BOT_SLOTS} bot:8000 resolvers docker init-addr none
"""
BACKEND = "\nbackend bots\n"
RESOLVERS = """\
# Docker's embedded DNS (the container's /etc/resolv.conf): bot replicas come and go.
resolvers docker
    parse-resolv-conf
    accepted_payload_size 8192
    timeout resolve 1s
    timeout retry 1s
    hold valid 5s
    hold obsolete 10s

"""


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"haproxy.cfg no longer contains exactly one {old.splitlines()[0]!r}")
    return text.replace(old, new)


def render(source: str) -> str:
    lines = source.splitlines(keepends=True)
    header_end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    text = HEADER + "".join(lines[header_end:])
    text = _replace_once(text, REQUIRED_ADDRS, "")
    text = _replace_once(text, SERVERS, SERVER_TEMPLATE)
    return _replace_once(text, BACKEND, "\n" + RESOLVERS.rstrip("\n") + BACKEND)


def main() -> None:
    TARGET.write_text(render(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

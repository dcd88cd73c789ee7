"""Behaviour of haproxy/haproxy.cfg, observed through the real haproxy binary."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from devcluster.ports import free_ports
from tests.haproxy.edge_harness import (
    BACKEND_NAMES,
    HAPROXY_CFG,
    SECRET_TOKEN,
    STATS_PASSWORD,
    WEBHOOK_PATH,
    EchoBackend,
    Edge,
    haproxy_env,
    post_update,
    update_for_chat,
    webhook_headers,
)


def _backend_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["backend"])


def test_config_check_passes_without_warnings(
    backends: list[EchoBackend], cert_dir: Path, tmp_path: Path
) -> None:
    env = haproxy_env(backends, cert_dir, free_ports(4), tmp_path / "s.sock")
    result = subprocess.run(
        [shutil.which("haproxy") or "haproxy", "-dW", "-c", "-f", str(HAPROXY_CFG)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["WEBHOOK_SECRET_TOKEN", "STATS_PASSWORD", "BOT2_ADDR"])
def test_config_check_refuses_a_missing_required_variable(
    backends: list[EchoBackend], cert_dir: Path, tmp_path: Path, missing: str
) -> None:
    env = haproxy_env(backends, cert_dir, free_ports(4), tmp_path / "s.sock")
    del env[missing]
    result = subprocess.run(
        [shutil.which("haproxy") or "haproxy", "-c", "-f", str(HAPROXY_CFG)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert missing in result.stdout + result.stderr


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET_TOKEN + "x", SECRET_TOKEN.upper()])
def test_wrong_or_missing_secret_is_refused_before_any_backend(
    edge: Edge, backends: list[EchoBackend], secret: str | None
) -> None:
    with edge.client() as client:
        response = client.post(
            edge.webhook_url,
            content=json.dumps(update_for_chat(42)),
            headers=webhook_headers(secret),
        )
    assert response.status_code == 403
    assert all(b.webhook_hits() == [] for b in backends)


def test_duplicated_secret_header_is_refused(edge: Edge, backends: list[EchoBackend]) -> None:
    headers = [
        ("Content-Type", "application/json"),
        ("X-Telegram-Bot-Api-Secret-Token", SECRET_TOKEN),
        ("X-Telegram-Bot-Api-Secret-Token", "other"),
    ]
    with edge.client() as client:
        response = client.post(
            edge.webhook_url, content=json.dumps(update_for_chat(42)), headers=headers
        )
    assert response.status_code == 403
    assert all(b.webhook_hits() == [] for b in backends)


def test_right_secret_reaches_a_backend_with_forwarding_headers(
    edge: Edge, backends: list[EchoBackend]
) -> None:
    with edge.client() as client:
        response = post_update(client, edge, update_for_chat(42))
    name = _backend_of(response)
    hits = next(b for b in backends if b.name == name).webhook_hits()
    assert len(hits) == 1
    assert json.loads(hits[0].body) == update_for_chat(42)
    assert hits[0].headers["x-forwarded-proto"] == "https"
    assert hits[0].headers["x-forwarded-for"] == "127.0.0.1"
    assert hits[0].headers["x-telegram-bot-api-secret-token"] == SECRET_TOKEN


def _body_of_exact_size(size: int) -> bytes:
    base = update_for_chat(42) | {"padding": ""}
    padding = size - len(json.dumps(base).encode())
    body = json.dumps(base | {"padding": "x" * padding}).encode()
    assert len(body) == size
    return body


def test_oversize_body_is_refused_with_413(edge: Edge, backends: list[EchoBackend]) -> None:
    limit = 1024 * 1024  # the default WEBHOOK_MAX_BODY_BYTES
    with edge.client() as client:
        too_big = client.post(
            edge.webhook_url, content=_body_of_exact_size(limit + 1), headers=webhook_headers()
        )
        at_limit = client.post(
            edge.webhook_url, content=_body_of_exact_size(limit), headers=webhook_headers()
        )
    assert too_big.status_code == 413
    assert at_limit.status_code == 200
    assert [len(hit.body) for b in backends for hit in b.webhook_hits()] == [limit]


def test_chunked_body_without_length_is_refused_with_411(
    edge: Edge, backends: list[EchoBackend]
) -> None:
    body = json.dumps(update_for_chat(42)).encode()
    with edge.client() as client:
        response = client.post(
            edge.webhook_url, content=iter([body[:10], body[10:]]), headers=webhook_headers()
        )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 411
    assert all(b.webhook_hits() == [] for b in backends)


@pytest.mark.parametrize(
    "path", ["/", "/metrics", "/health", "/health/detailed", "/ready", "/live", WEBHOOK_PATH + "x"]
)
def test_only_the_webhook_path_is_public(
    edge: Edge, backends: list[EchoBackend], path: str
) -> None:
    url = f"https://localhost:{edge.https_port}{path}"
    with edge.client() as client:
        get = client.get(url)
        post = client.post(url, content=b"{}", headers=webhook_headers())
    assert get.status_code == 404
    assert post.status_code == 404
    assert all(b.all_non_health_hits() == [] for b in backends)


def test_get_on_the_webhook_path_is_not_allowed(edge: Edge, backends: list[EchoBackend]) -> None:
    with edge.client() as client:
        response = client.get(edge.webhook_url, headers=webhook_headers())
    assert response.status_code == 405
    assert all(b.all_non_health_hits() == [] for b in backends)


def test_plain_http_redirects_to_https(edge: Edge, backends: list[EchoBackend]) -> None:
    url = f"http://localhost:{edge.http_port}{WEBHOOK_PATH}"
    response = httpx.post(url, content=b"{}", headers=webhook_headers(), follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://localhost:")
    assert response.headers["Location"].endswith(WEBHOOK_PATH)
    assert all(b.all_non_health_hits() == [] for b in backends)


def test_same_chat_always_lands_on_the_same_backend(edge: Edge) -> None:
    with edge.client() as client:
        for chat_id in (42, -100_123_456_789, 987_654_321):
            seen = set()
            for update_id, kind in enumerate(
                ["message", "callback_query", "edited_message"] * 5, start=1
            ):
                seen.add(
                    _backend_of(
                        post_update(client, edge, update_for_chat(chat_id, update_id, kind))
                    )
                )
            assert len(seen) == 1, f"chat {chat_id} spread over {seen}"


def test_many_chats_spread_over_all_backends(edge: Edge) -> None:
    with edge.client() as client:
        placement = Counter(
            _backend_of(post_update(client, edge, update_for_chat(chat_id)))
            for chat_id in range(1_000_001, 1_000_151)
        )
    assert set(placement) == set(BACKEND_NAMES)
    # consistent hashing is not perfectly even, but no instance should be starved
    assert min(placement.values()) >= 150 // 3 // 3, placement


def test_update_without_a_chat_is_still_served(edge: Edge) -> None:
    with edge.client() as client:
        response = client.post(
            edge.webhook_url,
            content=json.dumps({"update_id": 7, "poll": {"id": "1", "question": "?"}}),
            headers=webhook_headers(),
        )
    assert response.status_code == 200


def test_unready_backend_is_taken_out_and_its_chats_move(
    edge: Edge, backends: list[EchoBackend]
) -> None:
    chats = range(2_000_001, 2_000_091)
    with edge.client() as client:
        before = {c: _backend_of(post_update(client, edge, update_for_chat(c))) for c in chats}
        victim = backends[0]
        victim.ready = False
        edge.wait_for_states({victim.name: "DOWN"})
        hits_when_down = len(victim.webhook_hits())
        after = {c: _backend_of(post_update(client, edge, update_for_chat(c))) for c in chats}

        assert victim.name not in after.values()
        assert len(victim.webhook_hits()) == hits_when_down
        moved = {c for c in chats if before[c] != after[c]}
        assert moved == {c for c in chats if before[c] == victim.name}, (
            "only the failed instance's chats may move (hash-type consistent)"
        )

        victim.ready = True
        edge.wait_for_states({victim.name: "UP"})
        back = {c: _backend_of(post_update(client, edge, update_for_chat(c))) for c in chats}
    assert back == before


def test_requests_to_a_crashed_backend_are_retried_on_another(
    start_edge: Callable[..., Edge], backends: list[EchoBackend]
) -> None:
    # Health checks far apart, so HAProxy still believes the crashed backend is up and only the
    # retry (retry-on conn-failure empty-response, option redispatch) can save the request.
    edge = start_edge(CHECK_INTERVAL="60s")
    chats = range(3_000_001, 3_000_061)
    with edge.client() as client:
        before = {c: _backend_of(post_update(client, edge, update_for_chat(c))) for c in chats}
        victim = backends[0]
        victim_chats = [c for c in chats if before[c] == victim.name]
        assert victim_chats, "no chat hashed to the victim; widen the range"
        victim.crash()
        for chat_id in victim_chats:
            answered_by = _backend_of(post_update(client, edge, update_for_chat(chat_id)))
            assert answered_by != victim.name
    assert edge.server_states()[victim.name].startswith("UP"), "the retry, not a check, saved it"


def test_stats_page_requires_the_password(edge: Edge) -> None:
    url = f"http://127.0.0.1:{edge.stats_port}/;csv"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("admin", "wrong")).status_code == 401
    assert httpx.get(url, auth=("root", STATS_PASSWORD)).status_code == 401
    ok = httpx.get(url, auth=("admin", STATS_PASSWORD))
    assert ok.status_code == 200
    assert "bots,bot1" in ok.text


def test_prometheus_exporter_serves_haproxy_metrics(edge: Edge) -> None:
    response = httpx.get(f"http://127.0.0.1:{edge.metrics_port}/metrics")
    assert response.status_code == 200
    assert 'haproxy_backend_active_servers{proxy="bots"} 3' in response.text
    assert "haproxy_server_status" in response.text
    other = httpx.get(f"http://127.0.0.1:{edge.metrics_port}/")
    assert other.status_code == 404


def test_telegram_source_check_refuses_other_sources(
    start_edge: Callable[..., Edge], backends: list[EchoBackend]
) -> None:
    edge = start_edge(TELEGRAM_SOURCE_CHECK="on")
    with edge.client() as client:
        response = post_update(client, edge, update_for_chat(42))
    assert response.status_code == 403
    assert all(b.webhook_hits() == [] for b in backends)


def test_large_consecutive_chat_ids_are_hashed_exactly(edge: Edge) -> None:
    """Real ids exceed 32 bits; read as doubles they would share one key (7000000001 -> 7e+09)."""
    with edge.client() as client:
        placement = Counter(
            _backend_of(post_update(client, edge, update_for_chat(chat_id)))
            for chat_id in range(7_000_000_001, 7_000_000_061)
        )
    assert set(placement) == set(BACKEND_NAMES), placement

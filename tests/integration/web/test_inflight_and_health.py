"""The per-process in-flight bound, readiness and the detailed health page."""

from __future__ import annotations

import asyncio
import time

import pytest

from devcluster.ports import free_port
from tests.integration.web.conftest import WebHarness, WebOptions, private_message_update


@pytest.mark.parametrize("web", [WebOptions(max_inflight=2)], indirect=True)
async def test_a_full_process_sends_the_update_back_with_503_quickly(web: WebHarness) -> None:
    users = [await web.client.create_user(f"Гость {n}") for n in range(3)]
    for user in users:
        await web.client.send_text(user["id"], "/start")  # opens the chat (no webhook set)
    holders = [
        asyncio.create_task(web.post(private_message_update(2000 + n, users[n], "/slow")))
        for n in range(2)
    ]
    await web.controls.wait_entered(2)

    started = time.monotonic()
    refused = await web.post(private_message_update(2002, users[2], "привет"))
    waited = time.monotonic() - started
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    # Waits its admission window (0.5 s), then gives the update back instead of queueing it.
    assert 0.45 <= waited < 2.0
    assert await web.metric("fok_inflight_updates") == 2

    web.controls.gate.set()
    assert [(await task).status_code for task in holders] == [200, 200]
    # The refused update was never claimed, so Telegram's retry is processed normally.
    assert (await web.post(private_message_update(2002, users[2], "привет"))).status_code == 200
    assert sorted(web.controls.handled_update_ids) == [2000, 2001, 2002]
    assert await web.metric("fok_inflight_updates") == 0


async def test_live_ready_and_detailed_health_report_every_dependency(web: WebHarness) -> None:
    assert (await web.http.get(f"{web.base_url}/live")).status_code == 200
    ready = await web.http.get(f"{web.base_url}/ready")
    assert (ready.status_code, ready.text) == (200, "ready")

    detailed = await web.http.get(f"{web.base_url}/health/detailed")
    assert detailed.status_code == 200
    body = detailed.json()
    assert body["status"] == "ok"
    assert body["instance"] == "web-test"
    assert body["draining"] is False
    assert body["inflight_updates"] == 0
    assert isinstance(body["version"], str)
    assert body["version"]
    by_name = {dependency["name"]: dependency for dependency in body["dependencies"]}
    assert set(by_name) == {"mongodb", "redis_cluster", "broker"}
    for dependency in by_name.values():
        assert dependency["ok"] is True, dependency
        assert dependency["error"] is None
        assert 0 <= dependency["latency_ms"] < 2000
    assert by_name["redis_cluster"]["version"].startswith("7.")
    assert by_name["broker"]["version"].startswith("7.")
    assert await web.metric("fok_dependency_up", dependency="broker") == 1


@pytest.mark.parametrize(
    "web", [WebOptions(broker_url=f"redis://127.0.0.1:{free_port()}/0")], indirect=True
)
async def test_an_unreachable_broker_shows_on_the_detailed_page_but_the_instance_stays_ready(
    web: WebHarness,
) -> None:
    """No update waits for the broker: its outage must not take every instance out of HAProxy."""
    ready = await web.http.get(f"{web.base_url}/ready")
    assert (ready.status_code, ready.text) == (200, "ready")
    detailed = await web.http.get(f"{web.base_url}/health/detailed")
    assert detailed.status_code == 503
    body = detailed.json()
    assert body["status"] == "degraded"
    by_name = {dependency["name"]: dependency for dependency in body["dependencies"]}
    assert by_name["broker"]["ok"] is False
    assert by_name["broker"]["error"]
    assert by_name["mongodb"]["ok"] is True
    assert by_name["redis_cluster"]["ok"] is True
    assert await web.metric("fok_dependency_up", dependency="broker") == 0
    # Liveness is about this process only: a restart would not bring the broker back.
    assert (await web.http.get(f"{web.base_url}/live")).status_code == 200

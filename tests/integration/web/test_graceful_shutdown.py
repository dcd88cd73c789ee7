"""Shutdown (what uvicorn does on SIGTERM): stop accepting, finish in-flight updates, then close
the clients; the update in flight is answered 200 and marked done, never handed back."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from bot.infra.redis.keys import sender_update_dedup
from tests.integration.web.conftest import WebHarness, private_message_update


async def test_shutdown_finishes_the_update_in_flight_then_closes_clients(web: WebHarness) -> None:
    user = await web.client.create_user("Ольга")
    await web.client.send_text(user["id"], "/start")  # opens the chat (no webhook set)
    update = private_message_update(4001, user, "/slow")
    in_flight = asyncio.create_task(web.post(update))
    await web.controls.wait_entered(1)

    shutting_down = asyncio.create_task(web.served.shutdown())
    await asyncio.sleep(0.3)
    assert not shutting_down.done(), "the server stopped with an update still in flight"
    with pytest.raises(httpx.ConnectError):  # new connections are refused from now on
        async with httpx.AsyncClient(timeout=2.0) as fresh:
            await fresh.get(f"{web.base_url}/live")

    web.controls.gate.set()
    response = await in_flight
    await shutting_down
    assert response.status_code == 200
    assert web.controls.handled_update_ids == [4001]
    assert [m["text"] for m in await web.client.bot_messages(user["id"])] == ["slow done"]
    assert web.runtime.closed
    # The update was finished before the clients closed: its mark (under its sender's tag, with
    # their flood key) says done, not processing.
    dedup_state = await _dedup_state_of(web, user["id"], 4001)
    assert dedup_state == "done"


async def _dedup_state_of(web: WebHarness, sender_id: int, update_id: int) -> str | None:
    client = await connect_redis_cluster(web.settings.redis.cluster_nodes, max_connections=4)
    try:
        value = await client.get(sender_update_dedup(sender_id, update_id))
        return None if value is None else str(value)
    finally:
        await close_redis_cluster(client)

"""Hostile or broken webhook calls through HAProxy (and straight at an instance) change nothing;
the HAProxy stats page refuses a wrong password; metrics merge the workers of an instance."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import MAX_BODY_BYTES, SECRET_HEADER, BotStack, StackOptions, metric_sum

pytestmark = pytest.mark.e2e

THREE_BEHIND_HAPROXY = StackOptions(instances=3, haproxy=True)


def message_update(update_id: int, user: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": {"id": user["id"], "is_bot": False, "first_name": user["first_name"]},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def wait_for_metric_at_least(
    stack: BotStack, index: int, expected: float, name: str, within_s: float = 60.0, **labels: str
) -> None:
    """Poll instance ``index``'s merged /metrics until ``name{labels}`` reaches ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while (value := metric_sum(await stack.metrics(index), name, **labels)) < expected:
        if loop.time() >= deadline:
            raise AssertionError(
                f"{name}{labels} stayed at {value} (< {expected}) for {within_s:.0f}s"
            )
        await asyncio.sleep(0.1)


async def processed_updates(stack: BotStack) -> float:
    total = 0.0
    for index in range(len(stack.instances)):
        samples = await stack.metrics(index)
        total += metric_sum(samples, "fok_updates_total") - metric_sum(
            samples, "fok_updates_total", handler="unsupported"
        )
    return total


@pytest.mark.parametrize("bot_stack", [THREE_BEHIND_HAPROXY], indirect=True)
async def test_bad_calls_get_their_documented_answer_and_change_nothing(
    bot_stack: BotStack,
) -> None:
    edge = bot_stack.edge
    assert edge is not None
    user = await bot_stack.client.create_user("Пётр")
    good = json.dumps(message_update(900_001, user, "/start")).encode()
    headers = {"Content-Type": "application/json", SECRET_HEADER: bot_stack.secret}
    wrong = {**headers, SECRET_HEADER: bot_stack.secret[::-1]}
    missing = {"Content-Type": "application/json"}
    oversize = json.dumps(
        {**message_update(900_002, user, "/start"), "pad": "x" * MAX_BODY_BYTES}
    ).encode()

    async with httpx.AsyncClient(verify=edge.tls_context(), timeout=10.0) as https:
        url = edge.webhook_url
        answers = {
            "missing secret": (await https.post(url, content=good, headers=missing)).status_code,
            "wrong secret": (await https.post(url, content=good, headers=wrong)).status_code,
            "oversize": (await https.post(url, content=oversize, headers=headers)).status_code,
            "malformed": (await https.post(url, content=b"{oops", headers=headers)).status_code,
            "not an object": (await https.post(url, content=b"[]", headers=headers)).status_code,
            "unknown type": (
                await https.post(
                    url,
                    content=json.dumps({"update_id": 900_003, "future": {"x": 1}}).encode(),
                    headers=headers,
                )
            ).status_code,
            "metrics not public": (
                await https.get(url.replace("/telegram/webhook", "/metrics"))
            ).status_code,
        }
    assert answers == {
        "missing secret": 403,  # HAProxy answers for the app; the app says 401 (below)
        "wrong secret": 403,
        "oversize": 413,
        "malformed": 200,  # logged and dropped: Telegram would retry a 4xx for hours
        "not an object": 200,
        "unknown type": 200,
        "metrics not public": 404,
    }

    # The app checks again (defence in depth) when reached without HAProxy.
    async with httpx.AsyncClient(timeout=10.0) as http:
        direct = bot_stack.instance_webhook_url(0)
        assert (await http.post(direct, content=good, headers=missing)).status_code == 401
        assert (await http.post(direct, content=good, headers=wrong)).status_code == 403
        assert (await http.post(direct, content=oversize, headers=headers)).status_code == 413

    assert await processed_updates(bot_stack) == 0
    assert await bot_stack.client.bot_messages(user["id"]) == []
    db = bot_stack.mongo()
    assert await db["users"].count_documents({}) == 0
    assert await db["audit_log"].count_documents({}) == 0

    # And the refused update, sent properly, is processed normally: nothing was half-claimed.
    await bot_stack.client.send_text(user["id"], "/start")
    await bot_stack.client.wait_idle(timeout=20)
    assert await processed_updates(bot_stack) == 1
    assert await db["users"].count_documents({}) == 1


@pytest.mark.parametrize("bot_stack", [THREE_BEHIND_HAPROXY], indirect=True)
async def test_stats_page_refuses_a_wrong_password(bot_stack: BotStack) -> None:
    edge = bot_stack.edge
    assert edge is not None
    async with httpx.AsyncClient(timeout=10.0) as http:
        anonymous = await http.get(edge.stats_url)
        wrong = await http.get(edge.stats_url, auth=(edge.stats_user, "not-the-password"))
        right = await http.get(edge.stats_url, auth=(edge.stats_user, edge.stats_password))
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "bot1" in right.text
    assert "bot3" in right.text


@pytest.mark.parametrize("bot_stack", [StackOptions(instances=1, workers=2)], indirect=True)
async def test_metrics_merge_every_worker_of_an_instance(bot_stack: BotStack) -> None:
    client = bot_stack.client
    workers = bot_stack.options.workers
    # An instance is ready once its first worker answers /ready; each worker calls getMe once
    # when it starts, so the merged count reaching `workers` means every worker is up.
    await wait_for_metric_at_least(
        bot_stack, 0, workers, "fok_telegram_api_calls_total", method="getMe", result="ok"
    )
    users = [await client.create_user(f"Гость{n}") for n in range(12)]
    for user in users:
        await client.send_text(user["id"], "/start")
    await client.wait_idle(timeout=60)

    samples = await bot_stack.metrics(0)
    # Two uvicorn workers share the port; whichever answers the scrape reports both.
    assert metric_sum(samples, "fok_updates_total", type="message") == len(users)
    assert metric_sum(samples, "fok_webhook_requests_total", code="200") == len(users)
    assert metric_sum(samples, "fok_update_dedup_total", result="new") == len(users)
    assert metric_sum(samples, "fok_telegram_api_calls_total", method="sendMessage") >= len(users)
    getme = metric_sum(samples, "fok_telegram_api_calls_total", method="getMe", result="ok")
    assert getme == workers  # one per worker: both workers' counters are in the merge
    assert metric_sum(samples, "fok_inflight_updates") == 0
    assert metric_sum(samples, "fok_handler_duration_seconds_count") >= len(users)
    assert metric_sum(samples, "fok_instance_info", instance="bot1") == 1
    assert metric_sum(samples, "fok_dependency_up", dependency="mongodb") in (0, 1)
    # Bounded labels: no user id ever appears in the exposition.
    async with httpx.AsyncClient(timeout=10.0) as http:
        text = (await http.get(f"{bot_stack.instances[0].base_url}/metrics")).text
    assert all(str(user["id"]) not in text for user in users)

"""The runtime's Bot goes through the cluster-wide limited request: 403 marks the user
unreachable in MongoDB, and every Bot API call is counted by method and result."""

from __future__ import annotations

from tests.integration.web.conftest import WebHarness, private_message_update


async def test_a_blocked_recipient_is_marked_unreachable_and_the_update_still_succeeds(
    web: WebHarness,
) -> None:
    staff = await web.client.create_user("Оператор")
    target = await web.client.create_user("Получатель")
    for person in (staff, target):
        await web.client.send_text(person["id"], "/start")  # opens the chats (no webhook set)
    users = web.runtime.services.users
    await users.touch(target["id"], "ru")
    await web.client.block_bot(target["id"])
    forbidden_before = await web.metric(
        "fok_telegram_api_calls_total", method="sendMessage", result="403"
    )

    response = await web.post(private_message_update(3001, staff, f"/notify {target['id']}"))

    assert response.status_code == 200  # a blocked user is not a reason for Telegram to retry
    assert web.controls.handled_update_ids == [3001]
    stored = await users.get(target["id"])
    assert stored is not None
    assert stored.unreachable is True
    forbidden_after = await web.metric(
        "fok_telegram_api_calls_total", method="sendMessage", result="403"
    )
    assert forbidden_after - forbidden_before == 1
    assert await web.client.bot_messages(target["id"]) == []

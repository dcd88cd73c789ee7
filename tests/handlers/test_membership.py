"""Unreachable is not forever: a person who blocks the bot is marked unreachable, one who
unblocks it (or writes again) is reachable, and the bot says nothing back to a ``my_chat_member``
update."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.handlers.harness import BotHarness, JsonDict, Person

BOT = {"id": 123456, "is_bot": True, "first_name": "FOK Bot (emulated)"}


def membership(person: Person, old: str, new: str) -> JsonDict:
    """Telegram's update when the person blocks (``kicked``) or unblocks (``member``) the bot."""
    return {
        "my_chat_member": {
            "chat": {"id": person.id, "type": "private", "first_name": person.user["first_name"]},
            "from": person.user,
            "date": 1_800_000_000,
            "old_chat_member": {"status": old, "user": BOT, **_until(old)},
            "new_chat_member": {"status": new, "user": BOT, **_until(new)},
        }
    }


def _until(status: str) -> dict[str, Any]:
    return {"until_date": 0} if status == "kicked" else {}


async def unreachable(harness: BotHarness, person: Person) -> bool:
    user = await harness.storage.users.get(person.id)
    assert user is not None
    return user.unreachable


async def test_blocking_and_unblocking_the_bot_flip_the_mark_and_get_no_reply(
    harness: BotHarness,
) -> None:
    anna = await harness.resident("Анна")
    assert await harness.feed(membership(anna, "member", "kicked")) == []
    assert await unreachable(harness, anna)
    assert await harness.feed(membership(anna, "kicked", "member")) == []
    assert not await unreachable(harness, anna)


async def test_a_blocked_or_throttled_person_is_still_recorded_and_not_written_to(
    make_harness: Any,
) -> None:
    harness: BotHarness = await make_harness(flood_limit=1)
    vera = await harness.resident("Вера")
    stored = await harness.storage.users.get(vera.id)
    assert stored is not None
    await harness.storage.users.save(replace(stored, blocked=True))  # blocked by staff
    await vera.say("/menu")  # refused: and the flood budget of one is used up
    with harness.burst():
        assert await harness.feed(membership(vera, "member", "kicked")) == []
    assert await unreachable(harness, vera)


async def test_someone_the_bot_never_knew_is_not_recorded(harness: BotHarness) -> None:
    stranger = harness.person("Незнакомец")
    assert await harness.feed(membership(stranger, "member", "kicked")) == []
    assert await harness.storage.users.get(stranger.id) is None


async def test_any_update_clears_the_mark_and_a_reachable_persons_updates_write_none(
    harness: BotHarness,
) -> None:
    boris = await harness.resident("Борис")
    writes: list[tuple[int, bool]] = []
    real = harness.storage.users.set_unreachable

    async def counted(telegram_id: int, value: bool) -> None:
        writes.append((telegram_id, value))
        await real(telegram_id, value)

    harness.storage.users.set_unreachable = counted  # type: ignore[method-assign]
    await boris.say("/menu")
    await boris.say("/help")
    assert writes == []  # nothing to clear: no write per update
    await harness.feed(membership(boris, "member", "kicked"))
    assert writes == [(boris.id, True)]
    await harness.feed(membership(boris, "member", "kicked"))  # told twice: written once
    assert writes == [(boris.id, True)]
    # Telegram sends the unblock first, but any message proves they can be reached again.
    await boris.say("/menu")
    assert not await unreachable(harness, boris)
    assert writes == [(boris.id, True), (boris.id, False)]

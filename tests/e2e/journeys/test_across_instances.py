"""One user's consecutive updates alternate between two bot processes; the journey still works.

Each process has its own PTB application and its own MongoDB and Redis clients: dialog state is
read from Redis Cluster on every update and nothing is kept in process memory (design §4 rule 1).
"""

from __future__ import annotations

import itertools

import pytest

from tests.e2e.conftest import BotStack, StackOptions, metric_sum
from tests.e2e.journeys.conftest import Person, assert_rendering_clean, new_person, text_of

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


class Alternating:
    """Routes the webhook to instance 0, 1, 0, 1, ... before each of the user's steps."""

    def __init__(self, stack: BotStack) -> None:
        self._stack = stack
        self._next = itertools.cycle(range(len(stack.instances)))
        self.steps: list[int] = []

    async def step(self) -> None:
        index = next(self._next)
        self.steps.append(index)
        await self._stack.route_to(index)


@pytest.mark.parametrize("bot_stack", [StackOptions(instances=2)], indirect=True)
async def test_registration_application_and_booking_across_two_processes(
    bot_stack: BotStack,
) -> None:
    client = bot_stack.client
    route = Alternating(bot_stack)
    anna: Person = await new_person(client, "Анна")

    async def say(text: str):  # type: ignore[no-untyped-def]
        await route.step()
        return await anna.say(text)

    async def press(message, label: str):  # type: ignore[no-untyped-def]
        await route.step()
        return await anna.press(message, label)

    async def contact():  # type: ignore[no-untyped-def]
        await route.step()
        return await anna.share_contact()

    # Registration: the name step is written by one process and read by the other.
    assert "как к вам обращаться" in text_of(await say("/start"))
    assert "Поделитесь номером" in text_of(await say("Анна"))
    consent = await contact()
    menu = await press(consent, "Согласен")
    assert "Регистрация завершена" in text_of(menu)

    # Application with a comment typed as a separate message (dialog state across processes).
    card = await press(await press(await press(menu, "Каталог"), "Автозаводский"), "Олимп")
    ask_comment = await press(await press(card, "Подать заявку"), "Фитнес")
    assert "комментарий" in text_of(ask_comment)
    submitted = await say("Можно по вечерам")
    assert "Заявка подана" in text_of(submitted)

    # Booking: the first upcoming session of the complex.
    day = await press(await say("/menu"), "Каталог")
    day = await press(day, "Автозаводский")
    day = await press(day, "Олимп")
    day = await press(day, "Расписание")
    while not any(
        b["callback_data"].startswith("1|ss|v|")
        for row in day["reply_markup"]["inline_keyboard"]
        for b in row
    ):
        day = await press(day, "➡️")
    session_label = next(
        b["text"]
        for row in day["reply_markup"]["inline_keyboard"]
        for b in row
        if b["callback_data"].startswith("1|ss|v|")
    )
    session_card = await press(day, session_label)
    booked = await press(session_card, "Записаться")
    assert "Вы записаны" in text_of(booked)

    db = bot_stack.mongo()
    application = await db.applications.find_one({"user_id": anna.id})
    assert application["status"] == "pending"
    assert application["comment"] == "Можно по вечерам"
    assert await db.bookings.count_documents({"user_id": anna.id, "status": "active"}) == 1
    user = await db.users.find_one({"_id": anna.id})
    assert user["registered_at"] is not None

    # Both processes really took part.
    assert set(route.steps) == {0, 1}
    for index in range(2):
        served = metric_sum(
            await bot_stack.metrics(index), "fok_webhook_requests_total", code="200"
        )
        assert served > 3, (index, served)
    await assert_rendering_clean(client)

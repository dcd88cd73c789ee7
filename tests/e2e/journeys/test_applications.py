"""Applications: phone on the spot, comment, double taps, my applications, cancel, staff
changes reaching the user, and a stale cancel button refused."""

from __future__ import annotations

import pytest

from bot.domain.applications import ApplicationStatus
from tests.e2e.conftest import BotStack
from tests.e2e.journeys.conftest import (
    BackOffice,
    assert_rendering_clean,
    button_data,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

COMPLEX = "fok-avtozavodsky-1"  # ФОК «Олимп»: swimming, volleyball, fitness, yoga


async def open_card(person, menu):  # type: ignore[no-untyped-def]
    districts = await person.press(menu, "Каталог")
    district = await person.press(districts, "Автозаводский")
    return await person.press(district, "Олимп")


async def test_apply_with_phone_added_on_the_spot_then_cancel(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    anna = await new_person(client)
    menu = await anna.register("Анна", phone=False)
    card = await open_card(anna, menu)
    assert "ул. Лескова, 12" in text_of(card)

    sports = await anna.press(card, "Подать заявку")
    assert "Выберите вид спорта" in text_of(sports)
    need_phone = await anna.press(sports, "Плавание")
    assert "нужен номер телефона" in text_of(need_phone)
    ask_comment = await anna.share_contact()
    assert "Номер сохранён" in text_of(ask_comment)
    assert "комментарий" in text_of(ask_comment)

    submitted = await anna.say("Вечером после 18:00 <удобно> & рядом")
    assert "Заявка подана" in text_of(submitted)
    db = bot_stack.mongo()
    stored = [a async for a in db.applications.find({"user_id": anna.id})]
    assert len(stored) == 1
    assert stored[0]["comment"] == "Вечером после 18:00 <удобно> & рядом"

    # Applying again for the same sport: told, not duplicated.
    card = await open_card(anna, await anna.say("/menu"))
    sports = await anna.press(card, "Подать заявку")
    ask_comment = await anna.press(sports, "Плавание")
    again = await anna.press(ask_comment, "Без комментария")
    assert "уже есть активная заявка" in text_of(again)
    assert await db.applications.count_documents({"user_id": anna.id}) == 1

    mine = await anna.press(again, "Мои заявки")
    assert "Всего: 1" in text_of(mine)
    card = await anna.press(mine, "Олимп")
    assert "На рассмотрении" in text_of(card)
    assert "&" in text_of(card)
    assert "<удобно>" in text_of(card)
    confirm = await anna.press(card, "Отменить заявку")
    assert "нельзя отменить" in text_of(confirm)
    kept = await anna.press(confirm, "Нет, оставить")
    assert "На рассмотрении" in text_of(kept)
    confirm = await anna.press(kept, "Отменить заявку")
    cancelled = await anna.press(confirm, "Да, отменить")
    assert "отменена" in text_of(cancelled)
    stored_after = await db.applications.find_one({"user_id": anna.id})
    assert stored_after["status"] == "cancelled"
    await assert_rendering_clean(client)


async def test_double_tap_creates_one_application(bot_stack: BotStack) -> None:
    client = bot_stack.client
    boris = await new_person(client, "Борис")
    menu = await boris.register("Борис")
    card = await open_card(boris, menu)
    sports = await boris.press(card, "Подать заявку")
    ask_comment = await boris.press(sports, "Волейбол")
    go = button_data(ask_comment, "Без комментария")
    # Two taps before the first is answered (Telegram delivers them one after the other).
    await client.press_button(boris.id, ask_comment["message_id"], go)
    await client.press_button(boris.id, ask_comment["message_id"], go)
    await client.wait_idle(20)
    db = bot_stack.mongo()
    assert await db.applications.count_documents({"user_id": boris.id}) == 1
    await assert_rendering_clean(client)


async def test_staff_status_change_reaches_the_user_and_stale_cancel_is_refused(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    vera = await new_person(client, "Вера")
    menu = await vera.register("Вера")
    card = await open_card(vera, menu)
    sports = await vera.press(card, "Подать заявку")
    ask_comment = await vera.press(sports, "Йога")
    await vera.press(ask_comment, "Без комментария")
    mine = await vera.press(await vera.last(), "Мои заявки")
    app_card = await vera.press(mine, "Олимп")
    confirm = await vera.press(app_card, "Отменить заявку")  # drawn while pending

    staff = await new_person(client, "Сотрудник")
    await back_office.make_staff(staff.id)
    db = bot_stack.mongo()
    stored = await db.applications.find_one({"user_id": vera.id})
    await back_office.services.applications.staff_transition(
        staff.id,
        stored["_id"],
        ApplicationStatus.ACCEPTED,
        expected_status=ApplicationStatus.PENDING,
        comment="Ждём вас в понедельник <в 18:00>",
    )
    await back_office.deliver_notices(expected=1)
    notice = await vera.last()
    assert "обновлена" in text_of(notice)
    assert "принята" in text_of(notice)
    assert "<в 18:00>" in text_of(notice)

    # The confirmation was drawn for "pending": pressing it now changes nothing.
    await vera.press(confirm, "Да, отменить")
    assert "изменилось" in await vera.alert()
    after = await db.applications.find_one({"_id": stored["_id"]})
    assert after["status"] == "accepted"

    opened = await vera.press(notice, "Открыть заявку")
    assert "Принята" in text_of(opened)
    assert "Ждём вас в понедельник" in text_of(opened)
    await assert_rendering_clean(client)

"""The staff side end to end, through the emulator against real bot processes: a resident
applies, the manager responsible for the complex receives the notice (the workers' delivery),
accepts it from the notice with a comment, and the resident is told; the database holds the
numbered application, its history, the audit entry and the delivered notices."""

from __future__ import annotations

import pytest

from bot.domain.users import Role
from tests.e2e.conftest import BotStack
from tests.e2e.journeys.conftest import (
    BackOffice,
    assert_rendering_clean,
    buttons_of,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

COMPLEX = "fok-avtozavodsky-1"  # ФОК «Олимп»
OTHER_COMPLEX = "fok-kanavinsky-1"


async def test_a_manager_accepts_a_new_application_from_the_notice_and_the_resident_is_told(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    olga = await new_person(client, "Ольга", phone="+79160000001")
    oleg = await new_person(client, "Олег", phone="+79160000002")
    for person, complex_code in ((olga, COMPLEX), (oleg, OTHER_COMPLEX)):
        await person.register(person.user["first_name"])
        await back_office.services.users.set_role(
            None, person.id, Role.MANAGER, frozenset({complex_code})
        )
    panel = await olga.say("/admin")
    assert "Панель администратора" in text_of(panel)
    assert "ФОК: ФОК «Олимп»" in text_of(panel)

    anna = await new_person(client, "Анна")
    menu = await anna.register("Анна")
    assert "🛠 Управление" not in str(buttons_of(menu))  # residents see no staff entry
    refused = await anna.say("/admin")
    assert text_of(refused) == "❌ У вас нет прав для выполнения этого действия."
    districts = await anna.press(menu, "Каталог")
    card = await anna.press(await anna.press(districts, "Автозаводский"), "Олимп")
    ask_comment = await anna.press(await anna.press(card, "Подать заявку"), "Плавание")
    submitted = await anna.press(ask_comment, "Без комментария")
    assert "Заявка подана" in text_of(submitted)

    await back_office.deliver_notices(expected=1)
    notice = await olga.last()
    assert text_of(notice).startswith("🆕 Новая заявка № 1")
    assert "👤 Анна" in text_of(notice)
    assert [label for label, _ in buttons_of(notice)] == [
        "✅ Принять",
        "🚫 Отклонить",
        "📋 Открыть заявку",
    ]
    assert "Новая заявка" not in text_of(await oleg.last())  # not his complex

    asked = await olga.press(notice, "Принять")
    assert "Напишите комментарий" in text_of(asked)
    accepted = await olga.say("Ждём вас в понедельник в 18:00")
    assert text_of(accepted).startswith("✅ Заявка принята!")
    assert "Ольга: ⏳ На рассмотрении → ✅ Принята" in text_of(accepted)

    await back_office.deliver_notices(expected=1)
    told = await anna.last()
    assert "Заявка №1 обновлена" in text_of(told)
    assert "Ждём вас в понедельник в 18:00" in text_of(told)

    db = bot_stack.mongo()
    (stored,) = [a async for a in db.applications.find({"user_id": anna.id})]
    assert (stored["number"], stored["status"], stored["version"]) == (1, "accepted", 2)
    assert [(h["from"], h["to"], h["actor_id"], h["comment"]) for h in stored["history"]] == [
        (None, "pending", anna.id, None),
        ("pending", "accepted", olga.id, "Ждём вас в понедельник в 18:00"),
    ]
    (entry,) = [e async for e in db.audit_log.find({"target_id": stored["_id"]})]
    assert (entry["actor_id"], entry["action"]) == (olga.id, "application.accepted")
    assert entry["details"]["before"] == {"status": "pending"}
    assert entry["details"]["after"] == {"status": "accepted"}
    notices = {
        (d["kind"], d["user_id"]): d["status"]
        async for d in db.outbox.find({"payload.application_id": stored["_id"]})
    }
    assert notices == {
        ("staff_new_application", olga.id): "sent",
        ("application_status", anna.id): "sent",
    }
    assert (await db.counters.find_one({"_id": "applications"}) or {}).get("seq") == 1
    await assert_rendering_clean(client)

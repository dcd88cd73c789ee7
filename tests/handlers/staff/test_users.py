"""Staff users: find by name, phone or id; the card with applications, bookings and no-shows;
block and unblock with a reason (the person told once, through the outbox); roles and a
manager's complexes by super admins; every change audited before → after."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.bookings import Attendance, BookingStatus
from bot.domain.paging import PageRequest
from bot.domain.users import Role
from bot.services.ports.repositories import AuditQuery
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person
from tests.handlers.staff.conftest import make_staff

B = BookingStatus


async def find(staff: Person, query: str) -> list[str]:
    prompt = await staff.press(await staff.say("/admin"), "Пользователи")
    assert prompt.text == t("ru", "staff.users.ask").replace("<b>", "").replace("</b>", "")
    reply = await staff.say(query)
    assert reply.screen is not None
    return [label for label in reply.screen.labels if " · " in label]


async def test_people_are_found_by_name_phone_or_id(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна Петрова", phone="+79161112233")
    await harness.resident("Анатолий", phone="+79035550011")
    assert await find(ivan, "АН") == [  # any part, any case
        f"👑 Иван · +79161234567 · {ivan.id}",
        f"Анна Петрова · +79161112233 · {anna.id}",
        f"Анатолий · +79035550011 · {anna.id + 1}",
    ]
    assert await find(ivan, "+7 916 111-22-33") == [f"Анна Петрова · +79161112233 · {anna.id}"]
    assert await find(ivan, str(anna.id)) == [f"Анна Петрова · +79161112233 · {anna.id}"]
    assert await find(ivan, "Иван") == [f"👑 Иван · +79161234567 · {ivan.id}"]
    await ivan.press(await ivan.say("/admin"), "Пользователи")
    nobody = await ivan.say("Зинаида")
    assert nobody.text == "👥 По запросу «Зинаида» никого нет. Попробуйте иначе:"


async def test_the_card_shows_applications_bookings_and_no_shows(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    await harness.services.applications.submit(anna.id, OLIMP, "yoga")
    harness.clock.advance(timedelta(minutes=1))
    await harness.services.applications.submit(anna.id, VODNIK, "swimming")
    for index in range(4):
        session = await harness.add_session(title=f"Занятие {index}")
        outcome = await harness.services.bookings.book(anna.id, session.id)
        assert outcome.booking.status is B.ACTIVE
        if index < 3:
            attendance = Attendance.ATTENDED if index == 0 else Attendance.NO_SHOW
            await harness.storage.bookings.mark_attendance(
                outcome.booking.id, attendance, ivan.id, harness.clock.now()
            )

    await find(ivan, "Анна")
    card = await ivan.press(ivan.last, "Анна")
    text = card.text
    assert f"👤 Анна\n🆔 {anna.id}\n📱 +79161234567\n🌐 Язык: ru" in text
    assert "🎖 Роль: нет (житель)\n✅ Доступ открыт" in text
    assert "📋 Заявки: 2\n• № 2 — ФОК «Водник»: ⏳ На рассмотрении\n• № 1 — ФОК «Олимп»" in text
    assert "🗓 Записи: 4 (активных: 4), посещено: 1, неявок: 2" in text
    assert card.screen is not None
    assert card.screen.labels == [
        "⏳ № 2",
        "⏳ № 1",
        "⛔ Заблокировать",
        "🔍 Новый поиск",
        "🔙 В панель",
    ]
    application = await ivan.press(card, "№ 1")
    assert "📋 Заявка № 1" in application.text


async def test_block_and_unblock_with_a_reason_the_person_told_once(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    card = await ivan.press_data(await ivan.say("/admin"), f"1|su|v|{anna.id}")
    ask = await ivan.press(card, "Заблокировать")
    assert ask.text == "⛔ Заблокировать Анна?\n\n✍️ Напишите причину — пользователь её увидит:"
    assert (await harness.storage.users.get(anna.id)).blocked is False  # type: ignore[union-attr]
    done = await ivan.say("Спам <в чате>")
    assert done.text.startswith("⛔ Пользователь заблокирован.")
    assert "⛔ Заблокирован: Спам <в чате>" in done.text
    assert done.screen is not None
    assert done.screen.has_button("Разблокировать")
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert stored.blocked
    (entry,) = harness.storage.audit.all()
    assert (entry.actor_id, entry.action, entry.target_id) == (ivan.id, "user.block", str(anna.id))
    assert dict(entry.details) == {
        "before": {"blocked": False},
        "after": {"blocked": True},
        "reason": "Спам <в чате>",
    }

    (notice,) = [e for e in harness.storage.outbox.entries() if e.kind == "user_blocked"]
    assert notice.user_id == anna.id
    assert (await harness.deliver_notices()).sent == 1
    assert anna.last.text == (
        "⛔ Доступ к боту ограничен администрацией.\nПричина: Спам <в чате>\n\n"
        "Если это ошибка, обратитесь в ФОК."
    )
    assert (await harness.deliver_notices()).sent == 0  # once
    assert (await anna.say("/menu")).text == t("ru", "refuse.blocked")

    await ivan.press(done, "Разблокировать")
    unblocked = await ivan.say("Разобрались")
    assert unblocked.text.startswith("✅ Пользователь разблокирован.")
    assert "✅ Доступ открыт" in unblocked.text
    restored = await harness.storage.users.get(anna.id)
    assert restored is not None
    assert not restored.blocked
    assert [e.action for e in harness.storage.audit.all()] == ["user.block", "user.unblock"]
    assert "Добрый день, Анна!" in (await anna.say("/menu")).text
    assert (await harness.deliver_notices()).sent == 0  # unblocking sends nothing


async def test_a_reason_is_required_and_staff_cannot_block_themselves_or_a_super_admin(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    anna = await harness.resident("Анна")
    await ivan.press(
        await ivan.press_data(await ivan.say("/admin"), f"1|su|v|{anna.id}"), "Заблокировать"
    )
    blank = await ivan.say("  \n ")
    assert blank.text == t("ru", "staff.error.reason_missing")
    too_long = await ivan.say("x" * 201)
    assert too_long.text == t("ru", "staff.error.reason_too_long")
    cancelled = await ivan.say("Отмена")
    assert cancelled.text.startswith(t("ru", "apply.input_cancelled"))
    assert (await harness.storage.users.get(anna.id)).blocked is False  # type: ignore[union-attr]

    own = await ivan.press_data(await ivan.say("/admin"), f"1|su|v|{ivan.id}")
    assert own.screen is not None
    assert not own.screen.has_button("Заблокировать")
    forged = await ivan.press_data(own, f"1|su|b|{ivan.id}|1")
    assert forged.alert == t("ru", "staff.error.block_self")
    denied = await ivan.press_data(own, f"1|su|b|{sofia.id}|1")
    assert denied.alert == t("ru", "error.permission_denied")
    assert harness.storage.audit.all() == []


async def test_roles_and_a_manager_s_complexes_by_a_super_admin(harness: BotHarness) -> None:
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    petr = await harness.resident("Пётр")
    card = await sofia.press_data(await sofia.say("/admin"), f"1|su|v|{petr.id}")
    assert card.screen is not None
    assert card.screen.labels[-4:] == [
        "🎖 Роль",
        "📜 Журнал по пользователю",
        "🔍 Новый поиск",
        "🔙 В панель",
    ]
    roles = await sofia.press(card, "Роль")
    assert roles.text == "🎖 Какую роль дать Пётр? Сейчас: нет (житель)."
    manager = await sofia.press(roles, "Менеджер")
    assert manager.alert == "🎖 Роль сохранена."
    assert "🎖 Роль: менеджер\n🏢 ФОК: —" in manager.text
    complexes = await sofia.press(manager, "ФОК менеджера")
    assert "Назначено: 0" in complexes.text
    assert complexes.screen is not None
    assert complexes.screen.labels[0] == "▫️ ФОК «Олимп»"
    assigned = await sofia.press(complexes, "ФОК «Олимп»")
    assert "Назначено: 1" in assigned.text
    assert assigned.screen is not None
    assert assigned.screen.labels[0] == "✅ ФОК «Олимп»"
    twice = await sofia.press_data(assigned, complexes.screen.data("ФОК «Олимп»"))  # old button
    assert "Назначено: 1" in twice.text
    stored = await harness.storage.users.get(petr.id)
    assert stored is not None
    assert (stored.role, stored.managed_complexes) == (Role.MANAGER, frozenset({OLIMP}))

    # The new manager now gets the panel and Олимп's applications.
    panel = await petr.say("/admin")
    assert "Роль: менеджер" in panel.text
    assert "ФОК: ФОК «Олимп»" in panel.text

    back = await sofia.press(assigned, "К пользователю")
    revoked = await sofia.press(await sofia.press(back, "Роль"), "Снять роль")
    assert "🎖 Роль: нет (житель)" in revoked.text
    stored = await harness.storage.users.get(petr.id)
    assert stored is not None
    assert (stored.role, stored.managed_complexes) == (None, frozenset())
    assert (await petr.say("/admin")).text == t("ru", "error.permission_denied")

    entries = (
        await harness.storage.audit.search(AuditQuery(target_id=str(petr.id)), PageRequest())
    ).items
    changes = [(e.details["before"], e.details["after"]) for e in entries]  # one moment
    assert len(changes) == 3
    for change in (
        ({"role": None, "complexes": []}, {"role": "manager", "complexes": []}),
        ({"role": "manager", "complexes": []}, {"role": "manager", "complexes": [OLIMP]}),
        ({"role": "manager", "complexes": [OLIMP]}, {"role": None, "complexes": []}),
    ):
        assert change in changes
    assert {e.actor_id for e in entries} == {sofia.id}

    # A super admin cannot take the role from themselves.
    own = await sofia.press_data(revoked, f"1|su|sr|{sofia.id}|ad")
    assert own.alert == t("ru", "staff.error.role_self")

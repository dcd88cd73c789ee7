"""The audit log (super admins): the latest staff actions newest first, who/when/what/object and
before → after, filtered by staff member and object, in pages; nobody else may read it."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.applications import ApplicationStatus
from bot.domain.users import Role
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, BotHarness
from tests.handlers.staff.conftest import make_staff

S = ApplicationStatus


async def test_the_log_shows_each_change_and_filters_by_staff_member_and_object(
    harness: BotHarness,
) -> None:
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    application = (await harness.services.applications.submit(anna.id, OLIMP, "yoga")).application
    await harness.services.applications.staff_transition(
        olga.id, application.id, S.ACCEPTED, comment="ждём"
    )
    harness.clock.advance(timedelta(minutes=5))
    await harness.services.users.set_blocked(ivan.id, anna.id, True, "спам")
    harness.clock.advance(timedelta(minutes=5))
    await harness.services.users.set_role(None, anna.id, Role.ADMIN)  # the operator CLI

    panel = await sofia.say("/admin")
    assert panel.screen is not None
    labels = panel.screen.labels  # other staff screens add their own entries in between
    mine = [
        label for label in labels if label in ("📋 Заявки", "👥 Пользователи", "📜 Журнал действий")
    ]
    assert mine == ["📋 Заявки", "👥 Пользователи", "📜 Журнал действий"]
    assert labels[-1] == "🏠 Главное меню"
    log = await sofia.press(panel, "Журнал действий")
    assert "Записей: 3, сначала новые." in log.text
    lines = log.text.split("\n\n")[1:]
    assert lines[0] == (
        "пн, 23.11 12:10 · оператор (admin_tools)\n🎖 роль · пользователь "
        f"Анна ({anna.id})\n   роль: — → администратор"
    )
    assert lines[1] == (
        f"пн, 23.11 12:05 · Иван ({ivan.id})\n⛔ блокировка · пользователь Анна ({anna.id})"
        "\n   заблокирован: нет → да\n   💬 спам"
    )
    assert lines[2] == (
        f"пн, 23.11 12:00 · Ольга ({olga.id})\n✅ заявка принята · заявка № 1"
        "\n   статус: На рассмотрении → Принята\n   💬 ждём"
    )

    pick = await sofia.press(log, "По сотруднику")
    assert pick.text == t("ru", "staff.audit.pick_staff")
    assert pick.screen is not None
    assert f"Ольга · менеджер · {olga.id}" in pick.screen.labels
    by_olga = await sofia.press(pick, "Ольга")
    assert f"👤 Сотрудник: Ольга ({olga.id})" in by_olga.text
    assert "Записей: 1" in by_olga.text
    assert "заявка принята" in by_olga.text
    by_operator = await sofia.press(
        await sofia.press(by_olga, "По сотруднику"), "оператор (admin_tools)"
    )
    assert "Записей: 1" in by_operator.text
    assert "🎖 роль" in by_operator.text

    kinds = await sofia.press(by_operator, "По объекту")
    users = await sofia.press(kinds, "Пользователи")
    assert "🗂 Объекты: пользователь" in users.text
    assert "Записей: 2" in users.text
    cleared = await sofia.press(users, "Сбросить фильтр")
    assert "Записей: 3" in cleared.text
    assert cleared.screen is not None
    assert not cleared.screen.has_button("Сбросить фильтр")

    # From a card: that one object.
    card = await sofia.press_data(cleared, f"1|sa|v|{application.id}")
    of_it = await sofia.press(card, "Журнал по заявке")
    assert f"🗂 Объект: заявка {application.id}" in of_it.text
    assert "Записей: 1" in of_it.text


async def test_the_log_is_paged_and_for_super_admins_only(harness: BotHarness) -> None:
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    anna = await harness.resident("Анна")
    for index in range(10):
        harness.clock.advance(timedelta(minutes=1))
        await harness.services.users.set_blocked(ivan.id, anna.id, index % 2 == 0, f"раз {index}")
    log = await sofia.press_data(await sofia.say("/admin"), "1|sl|l|-|-|-|0")
    assert "Записей: 10" in log.text
    assert log.text.count("· Иван") == 8
    assert "💬 раз 9" in log.text
    second = await sofia.press(log, "➡️")
    assert second.text.count("· Иван") == 2
    assert "💬 раз 0" in second.text

    for person in (ivan, olga, anna):
        menu = await person.say("/menu")
        for data in ("1|sl|l|-|-|-|0", "1|sl|f", "1|sl|o", f"1|sl|l|{ivan.id}|u|{anna.id}|0"):
            refused = await person.press_data(menu, data)
            assert refused.alert == t("ru", "error.permission_denied")
    panel = await ivan.say("/admin")
    assert panel.screen is not None
    assert not panel.screen.has_button("Журнал действий")

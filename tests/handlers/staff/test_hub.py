"""The staff panel: /admin and «🛠 Управление» for staff only, what each role sees in it."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.users import Role
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, BotHarness
from tests.handlers.staff.conftest import make_staff

DENIED = "❌ У вас нет прав для выполнения этого действия."


async def test_a_resident_typing_admin_is_refused_and_sees_no_staff_entry(
    harness: BotHarness,
) -> None:
    anna = await harness.resident("Анна")
    refused = await anna.say("/admin")
    assert refused.text == DENIED == t("ru", "error.permission_denied")
    assert refused.methods == ["sendMessage"]
    menu = await anna.say("/menu")
    assert menu.screen is not None
    assert not menu.screen.has_button("Управление")
    assert len(menu.screen.buttons) == 7  # the resident's menu is unchanged
    # A forged press of the panel's button is refused the same way, as an alert.
    forged = await anna.press_data(menu, "1|sf|h")
    assert forged.alert == DENIED
    assert forged.is_alert


async def test_a_manager_opens_the_panel_from_the_menu_and_by_command(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    menu = await olga.say("/menu")
    assert menu.screen is not None
    assert menu.screen.labels[-1] == "🛠 Управление"
    panel = await olga.press(menu, "Управление")
    assert panel.methods == ["editMessageText", "answerCallbackQuery"]
    assert "👑 Панель администратора" in panel.text
    assert "Добро пожаловать, Ольга!" in panel.text
    assert "Роль: менеджер" in panel.text
    assert "ФОК: ФОК «Олимп»" in panel.text
    by_command = await olga.say("/admin")
    assert by_command.text == panel.text
    assert by_command.methods == ["sendMessage"]
    back = await olga.press(by_command, "Главное меню")
    assert "Добрый день, Ольга!" in back.text


async def test_a_manager_without_complexes_is_told_to_ask_for_them(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER)
    panel = await olga.say("/admin")
    assert "ФОК пока не назначены" in panel.text


async def test_admins_manage_every_complex(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN, language="en")
    panel = await ivan.say("/admin")
    assert "👑 <b>Admin panel</b>" in (panel.screen.html if panel.screen else "")
    assert "Role: admin" in panel.text
    assert "Complexes: all" in panel.text


async def test_a_blocked_staff_member_loses_the_panel(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.SUPER_ADMIN)
    stored = await harness.storage.users.get(olga.id)
    assert stored is not None
    await harness.storage.users.save(replace(stored, blocked=True))
    refused = await olga.say("/admin")
    assert refused.text == t("ru", "refuse.blocked")

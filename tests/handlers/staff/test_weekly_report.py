"""«📊 Еженедельный отчёт»: the screen, turning it off and on, last week's file now; the weekly run
as the ``fok.report_weekly`` task makes it (each staff member once, over their complexes)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from bot.domain.bookings import Attendance
from bot.domain.users import Role
from bot.services.reports import previous_week
from bot.telegram.actions import StaffReportAction
from bot.telegram.report_sender import TelegramWeeklyReportSender
from telegram_emulator.errors import ApiError
from tests.handlers.harness import NOW, OLIMP, VODNIK, BotHarness, Person
from tests.handlers.staff.conftest import make_staff

R = StaffReportAction


async def press(person: Person, data: str) -> Any:
    return await person.press_data(await person.say("/menu"), data)


async def last_week_activity(harness: BotHarness) -> tuple[Person, Person]:
    """An application at Олимп and one at Водник made last week; a session at Олимп last week
    with one arrival and one no-show."""
    anna, boris = await harness.resident("Анна <&>"), await harness.resident("Борис")
    last_week = NOW - timedelta(days=4)  # Thursday 19 November
    harness.clock.set(last_week)
    apps = harness.services.applications
    await apps.submit(anna.id, OLIMP, "yoga", comment="после 18:00")
    await apps.submit(boris.id, VODNIK, "swimming")
    session = await harness.add_session(starts_at=last_week + timedelta(hours=2))
    for person in (anna, boris):
        await harness.services.bookings.book(person.id, session.id)
    harness.clock.set(NOW)
    bookings = harness.storage.bookings
    staff = await make_staff(harness, "Старший", Role.ADMIN)
    for person, mark in ((anna, Attendance.ATTENDED), (boris, Attendance.NO_SHOW)):
        marked = await bookings.mark_attendance(
            f"{session.id}:{person.id}", mark, staff.id, harness.clock.now()
        )
        assert marked is not None
    return anna, boris


def workbook(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return {
        sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in book
    }


async def test_the_screen_says_when_and_turns_it_off_and_on(harness: BotHarness) -> None:
    manager = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    hub = await manager.say("/admin")
    screen = await manager.press(hub, "Еженедельный отчёт")
    assert "Каждый понедельник в 09:00 (Europe/Moscow)" in screen.text
    assert "ФОК: ФОК «Олимп»" in screen.text
    assert "Сейчас: 🔔 присылать" in screen.text
    off = await manager.press(screen, "Не присылать")
    assert "Сейчас: 🔕 не присылать" in off.text
    assert not await harness.storage.staff_preferences.weekly_report(manager.id)
    on = await manager.press(off, "Присылать")
    assert "🔔 присылать" in on.text
    actions = [(e.actor_id, e.action) for e in harness.storage.audit.all()]
    assert actions == [(manager.id, "report.weekly_off"), (manager.id, "report.weekly_on")]


async def test_last_weeks_report_now_is_the_workbook_over_the_managers_complexes(
    harness: BotHarness,
) -> None:
    await last_week_activity(harness)
    manager = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    reply = await press(manager, R.NOW.data())
    (call,) = reply.calls_of("sendDocument")
    filename, content = call.files["document"]
    assert filename == "weekly_report_20261116_20261122.xlsx"
    caption = str(call.params["caption"])
    assert "Еженедельный отчёт</b> · 16.11–22.11.2026" in caption
    assert "Новых заявок: 1 (" in caption
    assert "Пришли: 1 · ❌ Не пришли: 1" in caption
    sheets = workbook(content)
    summary, applications = sheets["Сводка"], sheets["Заявки"]
    assert summary[0][:3] == ("ФОК", "Район", "Новых заявок")
    assert [row[0] for row in summary[1:]] == ["ФОК «Олимп»", "Итого"]
    olimp = dict(zip(summary[0], summary[1], strict=True))
    assert (olimp["Новых заявок"], olimp["Занятий"], olimp["Записей"]) == (1, 1, 2)
    assert (olimp["Пришли"], olimp["Не пришли"]) == (1, 1)
    assert applications[0][:4] == ("ID заявки", "Дата подачи", "Имя заявителя", "Телефон")
    assert [row[2] for row in applications[1:]] == ["Анна <&>"]  # Водник's is not theirs
    assert applications[1][9] == "после 18:00"
    assert [e.action for e in harness.storage.audit.all()][-1] == "report.weekly_built"


def weekly(harness: BotHarness) -> Any:
    return harness.services.reports.send_weekly(TelegramWeeklyReportSender(harness.bot))


async def test_the_weekly_run_sends_each_staff_member_theirs_once(harness: BotHarness) -> None:
    await last_week_activity(harness)
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    olimp = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    quiet = await make_staff(harness, "Олег", Role.MANAGER, frozenset({VODNIK}))
    idle = await make_staff(harness, "Марина", Role.MANAGER)  # no complexes yet
    await harness.services.reports.set_enabled(quiet.id, False)
    run = await weekly(harness)
    assert run.week == previous_week(harness.clock.now(), "Europe/Moscow")
    # Иван and «Старший» (admins), Ольга; Олег turned it off; Марина has nothing to report on.
    assert (run.sent, run.off, run.nothing, run.failed, run.retry) == (3, 1, 1, 0, 0)

    def files(person: Person) -> list[dict[str, Any]]:
        return [m.raw for m in person.messages() if "document" in m.raw]

    (admin_file,) = files(admin)
    (olimp_file,) = files(olimp)
    assert files(quiet) == []
    assert files(idle) == []
    assert "ФОК: все ФОК" in admin_file["caption"]
    assert "Новых заявок: 2" in admin_file["caption"]
    assert "ФОК: ФОК «Олимп»" in olimp_file["caption"]
    assert "Новых заявок: 1" in olimp_file["caption"]

    again = await weekly(harness)  # a second beat, a retry: nothing twice
    assert (again.sent, again.already) == (0, 4)  # Марина's "nothing" was recorded too
    assert len(files(admin)) == 1


async def test_a_staff_member_who_blocked_the_bot_is_marked_and_not_retried(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    send_document = harness.api._methods["sendDocument"]

    def blocked(params: dict[str, Any], files: Any) -> Any:
        if int(params["chat_id"]) == admin.id:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return send_document(params, files)

    harness.api._methods["sendDocument"] = blocked
    run = await weekly(harness)
    assert (run.sent, run.unreachable) == (0, 1)
    stored = await harness.storage.users.get(admin.id)
    assert stored is not None
    assert stored.unreachable
    assert (await weekly(harness)).unreachable == 0  # not again, and not tried again


async def test_a_transient_failure_is_tried_again_by_the_next_run(harness: BotHarness) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    send_document = harness.api._methods["sendDocument"]
    failures = [1]

    def flaky(params: dict[str, Any], files: Any) -> Any:
        if failures:
            failures.pop()
            raise ApiError(502, "Bad Gateway")
        return send_document(params, files)

    harness.api._methods["sendDocument"] = flaky
    assert (await weekly(harness)).retry == 1
    assert (await weekly(harness)).sent == 1
    assert len([m for m in admin.messages() if "document" in m.raw]) == 1


async def test_the_english_speaking_staff_member_gets_english_words(harness: BotHarness) -> None:
    admin = await make_staff(harness, "John", Role.ADMIN, language="en")
    reply = await press(admin, R.NOW.data())
    (call,) = reply.calls_of("sendDocument")
    assert "Weekly report" in str(call.params["caption"])
    assert list(workbook(call.files["document"][1])) == ["Summary", "Applications"]

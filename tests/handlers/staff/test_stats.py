"""«📊 Статистика»: the figures of a period over the staff member's complexes (a manager: theirs
only), each complex counted in its own time zone, the period and complex pickers, the chart, and
every view audited."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.applications import ActorKind, ApplicationStatus, new_application
from bot.domain.bookings import Attendance, BookingStatus, booking_id
from bot.domain.ids import new_id
from bot.domain.users import Role
from bot.services.users import complex_reference
from bot.telegram.actions import StaffStatsAction
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person
from tests.handlers.staff.conftest import make_staff

S = ApplicationStatus
B = BookingStatus
DENIED = t("ru", "error.permission_denied")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def application_at(
    harness: BotHarness,
    user_id: int,
    complex_code: str,
    sport: str,
    at: datetime,
    status: S = S.PENDING,
) -> None:
    made = new_application(
        application_id=new_id(),
        user_id=user_id,
        complex_code=complex_code,
        sport_code=sport,
        at=at,
        comment=None,
        applicant_name=f"Житель {user_id}",
        applicant_phone="+79160000000",
    )
    if status is not S.PENDING:
        made = made.transition(status, actor_id=1, actor_kind=ActorKind.STAFF, at=at)
    await harness.storage.applications.insert(made)


async def booked(
    harness: BotHarness,
    session_id: str,
    user_id: int,
    status: B = B.ACTIVE,
    attendance: Attendance | None = None,
) -> None:
    bid = booking_id(session_id, user_id)
    now = harness.clock.now()
    assert await harness.storage.bookings.claim(bid, session_id, user_id, now)
    assert await harness.storage.bookings.move(bid, frozenset({B.RESERVING}), status, now)
    if attendance is not None:
        assert await harness.storage.bookings.mark_attendance(bid, attendance, 1, now)


async def open_stats(person: Person):  # type: ignore[no-untyped-def]
    panel = await person.say("/admin")
    return await person.press(panel, "Статистика")


async def test_a_manager_sees_the_figures_of_their_complex_only(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    now = harness.clock.now()
    residents = [await harness.resident(f"Житель {i}") for i in range(4)]
    a, b, c, d = (p.id for p in residents)
    # Applications: three at Олимп in the period (one accepted), one at Водник, one too old.
    await application_at(harness, a, OLIMP, "yoga", now - timedelta(days=2))
    await application_at(harness, b, OLIMP, "yoga", now - timedelta(days=3), S.REJECTED)
    await application_at(harness, c, OLIMP, "swimming", now - timedelta(days=1))
    await application_at(harness, d, VODNIK, "swimming", now - timedelta(days=1))
    await application_at(harness, d, OLIMP, "yoga", now - timedelta(days=40))
    # Sessions held at Олимп: 10 seats each; three booked, one came, one did not, one unmarked.
    past = await harness.add_session(starts_at=now - timedelta(days=1), capacity=10)
    await booked(harness, past.id, a, attendance=Attendance.ATTENDED)
    await booked(harness, past.id, b, attendance=Attendance.NO_SHOW)
    await booked(harness, past.id, c)
    await booked(harness, past.id, d, B.WAITLISTED)
    cancelled = await harness.add_session(starts_at=now - timedelta(days=2), capacity=10)
    assert await harness.storage.sessions.cancel(cancelled.id, "ремонт")
    other = await harness.add_session(complex_code=VODNIK, sport_code="swimming")
    await booked(harness, other.id, a)

    stats = await open_stats(olga)
    assert stats.methods == ["editMessageText", "answerCallbackQuery"]
    text = stats.text
    assert "📊 Статистика" in text
    assert "📅 25.10.2026 – 23.11.2026 (30 дн.)" in text
    assert "🏢 ФОК «Олимп»" in text
    assert "📋 Заявки: 3" in text  # Водник's and the 40-day-old one are not counted
    assert "⏳ На рассмотрении: 2" in text
    assert "🚫 Отклонена: 1" in text
    assert "🗓 Занятия: 1 (отменено ещё 1)" in text
    assert "🎫 Записи: 3 из 10 мест, заполняемость 30%" in text
    assert "⏳ В листе ожидания: 1" in text
    assert "пришли 1, не пришли 1, доля неявок 50% (не отмечено: 1)" in text
    assert "👥 Пользователи: новых 4, активных 4" in text
    assert "• ФОК «Олимп» — заявок 3, записей 3" in text
    assert "Водник" not in text
    assert "• Йога — заявок 2, записей 3" in text
    assert "• Плавание — заявок 1, записей 0" in text
    assert "Europe/Moscow" in text
    assert stats.screen is not None
    assert stats.screen.labels[:6] == [
        "Сегодня",
        "7 дней",
        "• 30 дней •",
        "90 дней",
        "Этот месяц",
        "Прошлый месяц",
    ]
    assert stats.screen.has_button("ФОК: мои")
    assert stats.screen.has_button("График")
    # The view is audited: who, what period, which complexes.
    (entry,) = [e for e in harness.storage.audit.all() if e.action == "stats.view"]
    assert entry.actor_id == olga.id
    assert entry.target_type == "report"
    assert entry.details["complexes"] == [OLIMP]
    assert entry.details["view"] == "text"


async def test_an_admin_sees_every_complex_and_narrows_the_period_and_the_scope(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    now = harness.clock.now()
    anna = await harness.resident("Анна")
    boris = await harness.resident("Борис")
    await application_at(harness, anna.id, OLIMP, "yoga", now - timedelta(days=10))
    await application_at(harness, boris.id, VODNIK, "swimming", now - timedelta(hours=1))
    await application_at(harness, anna.id, VODNIK, "swimming", now - timedelta(hours=2))

    stats = await open_stats(ivan)
    assert "🏢 все ФОК" in stats.text
    assert "📋 Заявки: 3" in stats.text
    # Most popular first: Водник (2) before Олимп (1).
    assert stats.text.index("ФОК «Водник» — заявок 2") < stats.text.index("ФОК «Олимп» — заявок 1")
    week = await ivan.press(stats, "7 дней")
    assert "📋 Заявки: 2" in week.text
    assert "📅 17.11.2026 – 23.11.2026 (7 дн.)" in week.text
    assert week.screen is not None
    assert week.screen.has_button("• 7 дней •")

    picker = await ivan.press(week, "ФОК: все")
    assert "По каким ФОК" in picker.text
    assert picker.screen is not None
    assert picker.screen.labels[0] == "🏢 Все ФОК"
    assert picker.screen.has_button("Закрыт")  # hidden complexes have a history too
    olimp = await ivan.press(picker, "ФОК «Олимп»", exact=True)
    assert "🏢 ФОК «Олимп»" in olimp.text
    assert "📋 Заявки: 0" in olimp.text  # its one application is 10 days old
    assert olimp.screen is not None
    assert olimp.screen.has_button("ФОК: ФОК «Олимп»")
    month = await ivan.press(olimp, "30 дней")
    assert "📋 Заявки: 1" in month.text
    assert "👥 Пользователи: новых 1, активных 1" in month.text  # among those active there


async def test_each_complex_is_counted_between_its_own_local_midnights(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    # Today is 23.11 in Moscow from 22.11 21:00 UTC (UTC+3).
    await application_at(
        harness, anna.id, OLIMP, "yoga", datetime(2026, 11, 22, 21, 30, tzinfo=UTC)
    )
    await application_at(
        harness, anna.id, VODNIK, "swimming", datetime(2026, 11, 22, 20, 30, tzinfo=UTC)
    )
    stats = await open_stats(ivan)
    today = await ivan.press(stats, "Сегодня")
    assert "📅 23.11.2026 – 23.11.2026 (1 дн.)" in today.text
    assert "📋 Заявки: 1" in today.text
    assert "ФОК «Олимп» — заявок 1" in today.text
    assert "Водник" not in today.text


async def test_without_attendance_marks_there_is_no_no_show_rate(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    anna = await harness.resident("Анна")
    coming = await harness.add_session()  # in two days: nothing to mark yet
    await booked(harness, coming.id, anna.id)
    stats = await open_stats(olga)
    assert "✅ Посещаемость: отметок пока нет" in stats.text
    assert "доля неявок" not in stats.text
    assert "не отмечено" not in stats.text


async def test_the_chart_is_a_png_of_the_same_figures_and_changes_with_them(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN, language="en")
    anna = await harness.resident("Анна")
    now = harness.clock.now()
    await application_at(harness, anna.id, OLIMP, "yoga", now - timedelta(days=1))
    stats = await open_stats_en(ivan)
    first = await ivan.press(stats, "Chart")
    assert first.methods == ["answerCallbackQuery", "sendPhoto"]
    (call,) = first.calls_of("sendPhoto")
    _, png = call.files["photo"]
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width == 1100
    assert 400 < height < 2000
    assert len(png) > 10_000
    assert call.params["caption"] == "📈 Statistics: 25.10.2026 – 23.11.2026, every complex"
    again = await ivan.press(stats, "Chart")
    (same,) = again.calls_of("sendPhoto")
    assert same.files["photo"][1] == png  # the same figures draw the same picture
    await application_at(harness, anna.id, VODNIK, "swimming", now - timedelta(days=1))
    changed = await ivan.press(stats, "Chart")
    (other,) = changed.calls_of("sendPhoto")
    assert other.files["photo"][1].startswith(PNG_SIGNATURE)
    assert other.files["photo"][1] != png
    views = [e.details["view"] for e in harness.storage.audit.all() if e.action == "stats.view"]
    assert views == ["text", "chart", "chart", "chart"]


async def open_stats_en(person: Person):  # type: ignore[no-untyped-def]
    panel = await person.say("/admin")
    return await person.press(panel, "Statistics")


async def test_a_manager_cannot_see_another_complex_nor_a_resident_any(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    menu = await olga.say("/menu")
    forged = await olga.press_data(menu, StaffStatsAction.VIEW.data("m", complex_reference(VODNIK)))
    assert forged.alert == DENIED
    picker = await olga.press_data(menu, StaffStatsAction.SCOPE.data("m"))
    assert picker.screen is not None
    assert picker.screen.labels == ["🏢 Все мои ФОК", "ФОК «Олимп»", "🔙 К статистике"]
    anna = await harness.resident("Анна")
    refused = await anna.press_data(await anna.say("/menu"), StaffStatsAction.VIEW.data("m", "-"))
    assert refused.alert == DENIED
    chart = await anna.press_data(await anna.say("/menu"), StaffStatsAction.CHART.data("m", "-"))
    assert chart.alert == DENIED
    assert not chart.calls_of("sendPhoto")
    assert [e for e in harness.storage.audit.all() if e.action == "stats.view"] == []
    outdated = await olga.press_data(menu, "1|sst|v|zz|-")
    assert outdated.alert == t("ru", "fallback.outdated")


async def test_a_blocked_or_unassigned_manager(harness: BotHarness) -> None:
    nina = await make_staff(harness, "Нина", Role.MANAGER)
    stats = await open_stats(nina)
    assert "🏢 ФОК не назначены — обратитесь к супер-администратору" in stats.text
    assert "📋 Заявки: 0" in stats.text
    stored = await harness.storage.users.get(nina.id)
    assert stored is not None
    await harness.storage.users.save(replace(stored, blocked=True))
    refused = await nina.press(stats, "7 дней")
    assert refused.alert == t("ru", "refuse.blocked")

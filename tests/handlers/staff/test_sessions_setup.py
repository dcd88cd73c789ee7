"""Staff set sessions up through the bot: a one-off session and a weekly slot, step by step,
every typed value checked with a message that says what to type, and what was entered so far
kept; residents see the result in the schedule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.domain.sessions import WeeklyTemplate
from bot.domain.users import Role
from bot.services.catalog_io import template_id
from tests.handlers.harness import OLIMP, BotHarness, Person, Reply
from tests.handlers.staff.conftest import make_staff


async def open_schedule(staff: Person) -> Reply:
    panel = await staff.say("/admin")
    complexes = await staff.press(panel, "Занятия")
    return await staff.press(complexes, "Олимп")


async def test_a_manager_sets_up_a_one_off_session_and_residents_see_it(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    panel = await olga.say("/admin")
    complexes = await olga.press(panel, "📅 Занятия")
    assert "Выберите ФОК (1)" in complexes.text
    assert complexes.screen is not None
    assert complexes.screen.labels == ["ФОК «Олимп»", "🔙 В панель"]  # her complex only
    schedule = await olga.press(complexes, "Олимп")
    assert "Занятий пока нет" in schedule.text

    sport = await olga.press(schedule, "Разовое занятие")
    assert "Разовое занятие</b> · ФОК «Олимп»" in (sport.screen.html if sport.screen else "")
    assert "Выберите вид спорта" in sport.text
    typed_early = await olga.say("йога")
    assert "нужно нажать кнопку" in typed_early.text
    day = await olga.press(typed_early, "Йога")
    assert "⚽ Вид спорта: Йога" in day.text
    assert "Введите дату занятия" in day.text

    bad_day = await olga.say("в среду")
    assert bad_day.text.startswith("❌ Не понял дату. Введите её как ДД.ММ")
    assert "⚽ Вид спорта: Йога" in bad_day.text  # what was chosen is kept
    assert "Введите дату занятия" in bad_day.text  # and the question asked again
    assert (await olga.say("31.02")).text.startswith("❌ Такой даты нет")
    assert (await olga.say("20.11.2026")).text.startswith("❌ Эта дата уже прошла")
    start = await olga.say("25.11")
    assert "📆 Дата: ср, 25.11.2026" in start.text

    assert (await olga.say("25:00")).text.startswith("❌ Не понял время")
    duration = await olga.say("10.00")
    assert "🕐 Начало: 10:00" in duration.text
    assert duration.screen is not None
    assert duration.screen.labels[:3] == ["45", "60", "90"]
    assert (await olga.say("13 часов")).text.startswith("❌ Введите длительность")
    assert (await olga.say("800")).text.startswith("❌ Длительность — от 1 минуты до 12 часов")
    capacity = await olga.press(duration, "90")
    assert "⏱ Длительность: 90 мин" in capacity.text
    assert (await olga.say("0")).text.startswith("❌ Мест может быть от 1 до 500")
    confirm = await olga.say("12")
    assert "👥 Мест: 12" in confirm.text
    assert "🌍 Время местное: Europe/Moscow" in confirm.text
    assert confirm.screen is not None
    assert confirm.screen.labels == ["✅ Создать", "❌ Отмена"]

    created = await olga.press(confirm, "Создать")
    assert created.text.startswith("✅ Занятие создано: ср, 25.11 10:00, Йога.")
    assert "ср, 25.11 10:00 Йога — 0/12" in created.text
    [session] = harness.storage.sessions.all()
    assert (session.complex_code, session.sport_code, session.capacity) == (OLIMP, "yoga", 12)
    assert session.starts_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    assert session.ends_at - session.starts_at == timedelta(minutes=90)
    [entry] = harness.storage.audit.all()
    assert (entry.actor_id, entry.action, entry.target_id) == (
        olga.id,
        "session.create",
        session.id,
    )
    assert entry.details["before"] is None
    assert entry.details["after"] == {
        "complex": OLIMP,
        "sport": "yoga",
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "capacity": 12,
        "booked": 0,
        "cancelled": False,
        "cancel_reason": None,
    }
    # The dialog is over: typed text is not taken as a capacity any more.
    assert "не понял" in (await olga.say("15")).text

    anna = await harness.resident("Анна")
    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    card = await anna.press(await anna.press(districts, "Автозаводский"), "Олимп")
    day_view = await anna.press(await anna.press(await anna.press(card, "Расписание"), "➡️"), "➡️")
    assert "10:00 Йога — мест: 12 из 12" in day_view.text


async def test_a_weekly_slot_makes_two_weeks_of_sessions_and_can_be_stopped(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    schedule = await open_schedule(ivan)
    weekday = await ivan.press(schedule, "Еженедельное")
    assert "Выберите вид спорта" in weekday.text
    weekday = await ivan.press(weekday, "Плавание")
    assert "В какой день недели" in weekday.text
    assert (await ivan.say("среда")).text.startswith("☝️ Здесь нужно нажать кнопку")
    start = await ivan.press(weekday, "ср")
    assert "📆 День недели: ср" in start.text
    await ivan.say("18:30")
    await ivan.say("1:00")
    confirm = await ivan.say("10")
    assert "🔁 Еженедельное занятие" in confirm.text
    saved = await ivan.press(confirm, "Создать")
    assert "✅ Еженедельный слот сохранён: ✅ ср 18:30 Плавание, 60 мин, мест: 10" in saved.text
    assert "Занятий создано на ближайшие две недели: 2" in saved.text
    starts = sorted(s.starts_at for s in harness.storage.sessions.all())
    assert starts == [
        datetime(2026, 11, 25, 15, 30, tzinfo=UTC),
        datetime(2026, 12, 2, 15, 30, tzinfo=UTC),
    ]
    expected_id = template_id(OLIMP, "swimming", 2, time(18, 30))
    [stored] = await harness.storage.sessions.list_templates(OLIMP)
    assert stored == WeeklyTemplate(expected_id, OLIMP, "swimming", 2, time(18, 30), 60, 10)

    slots = await ivan.press(saved, "Еженедельное расписание (1)")
    assert "✅ ср 18:30 Плавание, 60 мин, мест: 10" in slots.text
    stopped = await ivan.press(slots, "Остановить")
    assert "⏸ ср 18:30 Плавание" in stopped.text
    [paused] = await harness.storage.sessions.list_templates(OLIMP)
    assert paused.active is False
    assert len(harness.storage.sessions.all()) == 2  # the sessions made stay
    resumed = await ivan.press(stopped, "Возобновить")
    assert "✅ ср 18:30 Плавание" in resumed.text
    actions = [(e.action, e.details["after"]["active"]) for e in harness.storage.audit.all()]
    assert actions == [
        ("template.save", True),
        ("template.active", False),
        ("template.active", True),
    ]


async def test_a_draft_can_be_left_by_button_or_by_typing_cancel(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    schedule = await open_schedule(olga)
    sports = await olga.press(schedule, "Разовое занятие")
    assert sports.screen is not None
    swimming = sports.screen.data("Плавание")
    draft = await olga.press(sports, "Йога")
    left = await olga.press(draft, "❌ Отмена")
    assert "Занятий пока нет" in left.text
    # The draft is gone: an answer typed now is not taken, its buttons are outdated.
    assert "не понял" in (await olga.say("25.11")).text
    outdated = await olga.press_data(left, swimming)
    assert outdated.alert == "Эта кнопка устарела. Откройте раздел заново."

    again = await olga.press(await olga.press(left, "Разовое занятие"), "Плавание")
    assert "Введите дату" in again.text
    typed = await olga.say("Отмена")
    assert typed.text.startswith("Ввод отменён.")
    assert harness.storage.sessions.all() == []
    assert harness.storage.audit.all() == []


async def test_a_session_for_today_is_refused_once_its_time_has_passed(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    schedule = await open_schedule(olga)
    await olga.press(await olga.press(schedule, "Разовое занятие"), "Йога")
    await olga.say("23.11")  # today; it is 12:00 in Moscow
    past = await olga.say("11:30")
    assert past.text.startswith("❌ Это время сегодня уже прошло")
    assert "📆 Дата: пн, 23.11.2026" in past.text
    later = await olga.say("19:00")
    assert "🕐 Начало: 19:00" in later.text

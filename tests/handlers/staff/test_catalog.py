"""The catalog through the bot: a new complex set up step by step, every field edited with its
own check, a complex hidden (its coming sessions cancelled with notice, its history kept) and
shown again, districts and sports; managers edit only their complexes and create or hide
nothing."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.catalog import GeoPoint
from bot.domain.users import Role
from tests.handlers.harness import OLIMP, BotHarness, Person, Reply
from tests.handlers.staff.conftest import make_staff

B = BookingStatus


async def open_catalog(staff: Person) -> Reply:
    return await staff.press(await staff.say("/admin"), "🏢 Каталог")


async def open_complex(staff: Person, name: str = "Олимп") -> Reply:
    listed = await staff.press(await open_catalog(staff), "🏢 ФОК")
    while not (listed.screen and listed.screen.has_button(name)):
        listed = await staff.press(listed, "➡️")
    return await staff.press(listed, name)


async def test_an_admin_sets_up_a_new_complex_and_residents_find_it(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    catalog = await open_catalog(ivan)
    assert catalog.screen is not None
    assert catalog.screen.labels == [
        "🏢 ФОК",
        "➕ Новый ФОК",
        "📍 Районы",
        "⚽ Виды спорта",
        "🔙 В панель",
    ]
    name = await ivan.press(catalog, "Новый ФОК")
    assert "Введите название ФОК" in name.text
    assert (await ivan.say("Ж")).text.startswith("❌ Название — от 2 до 100 символов")
    district = await ivan.say("ФОК «Сормович» <новый>")
    assert "🏢 Название: ФОК «Сормович» <новый>" in district.text
    assert "Выберите район" in district.text
    assert (await ivan.say("Сормовский")).text.startswith("☝️ Здесь нужно нажать кнопку")
    address = await ivan.press(district, "Канавинский")
    assert "📍 Район: Канавинский" in address.text
    assert (await ivan.say("ул")).text.startswith("❌ Адрес — от 3 до 200 символов")
    sports = await ivan.say("ул. Коминтерна, 7")
    assert "🏠 Адрес: ул. Коминтерна, 7" in sports.text
    empty = await ivan.press(sports, "Создать ФОК")
    assert empty.alert == "❌ Нужен хотя бы один вид спорта."
    ticked = await ivan.press(await ivan.press(sports, "Бокс"), "Шахматы")
    assert ticked.screen is not None
    assert "✅ Бокс" in ticked.screen.labels
    unticked = await ivan.press(ticked, "✅ Шахматы")
    assert "⬜ Шахматы" in (unticked.screen.labels if unticked.screen else [])
    created = await ivan.press(unticked, "Создать ФОК")
    assert created.text.startswith("✅ ФОК создан и виден жителям.")
    assert "📍 Район: Канавинский" in created.text
    assert "⚽ Виды спорта: 🥊 Бокс" in created.text
    assert "🌍 Часовой пояс: Europe/Moscow" in created.text
    assert "❌ Отмена записи: не позднее чем за 3 ч" in created.text

    made = [
        c for c in await harness.storage.catalog.list_complexes() if "Сормович" in c.name.get("ru")
    ]
    [complex_] = made
    assert complex_.code.startswith("fok-")
    assert (complex_.district, complex_.sports, complex_.active) == (
        "kanavinsky",
        ("boxing",),
        True,
    )
    [entry] = harness.storage.audit.all()
    assert (entry.actor_id, entry.action, entry.target_id) == (
        ivan.id,
        "complex.create",
        complex_.code,
    )
    assert entry.details["before"] is None
    assert entry.details["after"]["address"] == {"ru": "ул. Коминтерна, 7"}

    anna = await harness.resident("Анна")
    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    district_list = await anna.press(districts, "Канавинский")
    assert district_list.screen is not None
    assert district_list.screen.has_button("Сормович")


async def test_every_field_is_checked_and_an_optional_one_can_be_cleared(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    card = await open_complex(olga)
    assert "📞 Телефон: +78312951204" in card.text
    assert card.screen is not None
    assert not card.screen.has_button("Скрыть")  # managers do not hide complexes

    cases = [
        (
            "Телефон",
            "позвоните",
            "❌ Не похоже на телефон",
            "+7 831 000-00-00",
            "📞 Телефон: +7 831 000-00-00",
        ),
        ("Email", "fok@", "❌ Не похоже на email", "olimp@nn.ru", "✉️ Email: olimp@nn.ru"),
        (
            "Сайт",
            "olimp.ru",
            "❌ Адрес сайта должен начинаться",
            "https://olimp.ru",
            "🌐 Сайт: https://olimp.ru",
        ),
        (
            "Координаты",
            "север",
            "❌ Введите координаты как",
            "56,25 43,86",
            "🗺 Координаты: 56.25000, 43.86000",
        ),
        (
            "Часовой пояс",
            "Moscow",
            "❌ Такого часового пояса нет",
            "Asia/Yekaterinburg",
            "🌍 Часовой пояс: Asia/Yekaterinburg",
        ),
        ("Окно отмены", "200", "❌ Введите число часов от 0 до 168", "4", "не позднее чем за 4 ч"),
        ("Удержание места", "0", "❌ Введите число минут от 1 до 1440", "45", "держится: 45 мин"),
        ("Режим работы", "-", None, None, "🕐 Режим работы: не указано"),
    ]
    for button, bad, refusal, good, shown in cases:
        asked = await olga.press(card, button)
        assert "Сейчас:" in asked.text, button
        after_bad = await olga.say(bad)
        if refusal is not None:
            assert after_bad.text.startswith(refusal), (button, after_bad.text)
            card = await olga.say(good or "")
        else:
            card = after_bad
        assert card.text.startswith("✅ Сохранено:"), (button, card.text)
        assert shown in card.text, (button, card.text)

    stored = await harness.storage.catalog.get_complex(OLIMP)
    assert stored is not None
    assert (stored.phone, stored.email, stored.website) == (
        "+7 831 000-00-00",
        "olimp@nn.ru",
        "https://olimp.ru",
    )
    assert stored.location == GeoPoint(56.25, 43.86)
    assert (stored.timezone, stored.cancellation_window_hours, stored.waitlist_hold_minutes) == (
        "Asia/Yekaterinburg",
        4,
        45,
    )
    assert stored.hours.values == {}
    updates = [e for e in harness.storage.audit.all() if e.action == "complex.update"]
    assert [e.details["field"] for e in updates] == [
        "phone",
        "email",
        "website",
        "location",
        "timezone",
        "window",
        "hold",
        "hours",
    ]
    assert updates[0].details["before"]["phone"] == "+78312951204"
    assert updates[0].details["after"]["phone"] == "+7 831 000-00-00"
    assert all(e.actor_id == olga.id for e in updates)

    # A shared location is taken as the coordinates.
    asked = await olga.press(card, "Координаты")
    shared = await olga.share_location(56.3, 44.0)
    assert "🗺 Координаты: 56.30000, 44.00000" in shared.text
    assert asked.screen is not None


async def test_district_and_sports_of_a_complex_are_chosen_with_buttons(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    card = await open_complex(olga)
    districts = await olga.press(card, "📍 Район")
    assert districts.screen is not None
    assert "✅ Автозаводский" in districts.screen.labels
    moved = await olga.press(districts, "Ленинский")
    assert "📍 Район: Ленинский" in moved.text
    sports = await olga.press(moved, "⚽ Виды спорта")
    assert sports.screen is not None
    assert "✅ Йога" in sports.screen.labels
    with_chess = await olga.press(sports, "⬜ Шахматы")
    assert "✅ Шахматы" in (with_chess.screen.labels if with_chess.screen else [])
    stored = await harness.storage.catalog.get_complex(OLIMP)
    assert stored is not None
    assert (stored.district, stored.sports) == (
        "leninsky",
        ("swimming", "yoga", "volleyball", "chess"),
    )
    for sport in ("Плавание", "Йога", "Волейбол"):
        with_chess = await olga.press(with_chess, f"✅ {sport}")
    last = await olga.press(with_chess, "✅ Шахматы")
    assert last.alert == "❌ Нужен хотя бы один вид спорта."
    stored = await harness.storage.catalog.get_complex(OLIMP)
    assert stored is not None
    assert stored.sports == ("chess",)


async def test_hiding_a_complex_closes_its_coming_sessions_with_notice_and_keeps_its_history(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(title="")
    past = await harness.add_session(starts_at=harness.clock.now() + timedelta(hours=1), title="")
    anna = await harness.resident("Анна")
    await harness.services.bookings.book(anna.id, session.id)
    await harness.services.bookings.book(anna.id, past.id)
    harness.clock.advance(timedelta(hours=2))  # the second one is over
    ivan = await make_staff(harness, "Иван", Role.ADMIN)

    card = await open_complex(ivan)
    asked = await ivan.press(card, "🙈 Скрыть")
    assert "Занятий впереди: 1 — они будут отменены" in asked.text
    confirm = await ivan.say("Капитальный ремонт")
    assert "Будет отменено занятий: 1." in confirm.text
    hidden = await ivan.press(confirm, "Да, скрыть")
    assert hidden.text.startswith("✅ ФОК скрыт. Отменено занятий: 1;")
    assert "🙈 скрыт от жителей" in hidden.text
    assert hidden.screen is not None
    assert hidden.screen.has_button("Показать жителям")

    closed = await harness.storage.bookings.get(booking_id(session.id, anna.id))
    kept = await harness.storage.bookings.get(booking_id(past.id, anna.id))
    assert closed is not None
    assert kept is not None
    assert (closed.status, kept.status) == (B.CANCELLED, B.ACTIVE)  # history stays as it was
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert (stored.cancelled, stored.cancel_reason) == (True, "Капитальный ремонт")

    await harness.deliver_notices()
    [notice] = anna.messages()
    assert notice.text.startswith("❌ Занятие отменено")
    assert "ФОК «Олимп»" in notice.text
    assert "Причина: Капитальный ремонт" in notice.text

    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    listed = await anna.press(districts, "Автозаводский")
    assert listed.screen is not None
    assert not listed.screen.has_button("Олимп")
    actions = [e.action for e in harness.storage.audit.all()]
    assert actions == ["complex.hide", "session.cancel"]

    shown = await ivan.press(hidden, "Показать жителям")
    assert shown.text.startswith("✅ ФОК снова виден жителям.")
    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    listed = await anna.press(districts, "Автозаводский")
    assert listed.screen is not None
    assert listed.screen.has_button("Олимп")


async def test_districts_and_sports_are_added_renamed_and_hidden_unless_in_use(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    districts = await ivan.press(await open_catalog(ivan), "📍 Районы")
    assert districts.screen is not None
    assert "Автозаводский (10)" in districts.screen.labels
    assert "🙈 Закрытый (0)" in districts.screen.labels
    await ivan.press(districts, "Новый район")
    assert (await ivan.say("С")).text.startswith("❌ Название — от 2 до 100 символов")
    created = await ivan.say("Сормовский")
    assert "📍 Сормовский" in created.text
    assert "Открытых ФОК: 0" in created.text
    await ivan.press(created, "Переименовать")
    renamed = await ivan.say("Сормовский район")
    assert "📍 Сормовский район" in renamed.text
    hidden = await ivan.press(renamed, "Скрыть")
    assert "🙈 скрыт от жителей" in hidden.text

    districts = await ivan.press(await open_catalog(ivan), "📍 Районы")
    in_use = await ivan.press(await ivan.press(districts, "Автозаводский"), "Скрыть")
    assert in_use.alert == (
        "❌ Нельзя скрыть: используется в открытых ФОК (10). Сначала измените их."
    )
    automobile = await harness.storage.catalog.get_district("avtozavodsky")
    assert automobile is not None
    assert automobile.active

    sports = await ivan.press(await open_catalog(ivan), "⚽ Виды спорта")
    await ivan.press(sports, "Новый вид спорта")
    sport = await ivan.say("Скалолазание")
    assert "⚽ Скалолазание" in sport.text
    await ivan.press(sport, "Значок")
    assert (await ivan.say("ab")).text.startswith("❌ Значок — один эмодзи")
    with_icon = await ivan.say("🧗")
    assert "Значок: 🧗" in with_icon.text
    yoga = await ivan.press(await ivan.press(await open_catalog(ivan), "⚽ Виды спорта"), "Йога")
    refused = await ivan.press(yoga, "Скрыть")
    assert refused.alert is not None
    assert refused.alert.startswith("❌ Нельзя скрыть: используется в открытых ФОК (")
    actions = [e.action for e in harness.storage.audit.all()]
    assert actions == [
        "district.create",
        "district.update",
        "district.hide",
        "sport.create",
        "sport.update",
    ]

    anna = await harness.resident("Анна")
    resident_districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    assert resident_districts.screen is not None
    assert not resident_districts.screen.has_button("Сормовский")


async def test_managers_create_and_hide_nothing_and_edit_only_their_complexes(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    catalog = await open_catalog(olga)
    assert catalog.screen is not None
    assert catalog.screen.labels == ["🏢 ФОК", "🔙 В панель"]
    listed = await olga.press(catalog, "🏢 ФОК")
    assert listed.screen is not None
    assert listed.screen.labels[:1] == ["ФОК «Олимп»"]
    assert "ФОК «Водник»" not in listed.screen.labels
    denied = "❌ У вас нет прав для выполнения этого действия."
    for data in ("1|sca|n", "1|sca|d", "1|sca|k", "1|sca|x|fok-olimp", "1|sca|v|fok-vodnik"):
        refused = await olga.press_data(listed, data)
        assert refused.alert == denied, data
    assert harness.storage.audit.all() == []

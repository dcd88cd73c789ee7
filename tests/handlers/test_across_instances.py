"""Consecutive updates of one person alternate between two bot instances: nothing a journey
needs is kept in process memory (dialog state, search picks, the flood notice are shared)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.bookings import BookingStatus, booking_id
from tests.handlers.conftest import MakeHarness
from tests.handlers.harness import OLIMP, OWN_PHONE


async def test_registration_application_and_booking_across_two_instances(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(instances=2)
    session = await harness.add_session(
        starts_at=datetime(2026, 11, 25, 7, 0, tzinfo=UTC), capacity=2, title="Йога вместе"
    )
    anna = harness.person("Анна")
    await anna.say("/start")  # instance 1
    await anna.say("Анна")  # instance 2 knows the dialog is at the name step
    consent = await anna.share_contact()  # instance 1: the phone step
    menu = await anna.press(consent, "Согласен")
    assert "Регистрация завершена" in menu.text

    districts = await anna.press(menu, "Каталог ФОК")
    card = await anna.press(await anna.press(districts, "Автозаводский"), "Олимп")
    await anna.press(await anna.press(card, "Подать заявку"), "Йога")
    submitted = await anna.say("Утром <до 10>")  # the comment step, read by the other instance
    assert "Заявка подана" in submitted.text
    (application,) = harness.storage.applications.all()
    assert (application.complex_code, application.comment) == (OLIMP, "Утром <до 10>")
    assert application.applicant_phone == OWN_PHONE

    search = await anna.press(await anna.say("/menu"), "По видам спорта")
    search = await anna.press(search, "Бокс")
    search = await anna.press(search, "Шахматы")  # picks kept across instances
    assert search.screen is not None
    assert {"✅ 🥊 Бокс", "✅ ♟ Шахматы"} <= set(search.screen.labels)

    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    card = await anna.press(await anna.press(districts, "Автозаводский"), "Олимп")
    day = await anna.press(card, "Расписание")
    day = await anna.press(await anna.press(day, "➡️"), "➡️")
    booked = await anna.press(await anna.press(day, "Йога вместе"), "Записаться")
    assert "Вы записаны" in booked.text
    stored = await harness.storage.bookings.get(booking_id(session.id, anna.id))
    assert stored is not None
    assert stored.status is BookingStatus.ACTIVE
    assert min(harness.handled_by) >= 8  # both instances did a fair share

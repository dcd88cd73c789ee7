"""Domain rules that do not need storage: names, sessions, bookings, reminders, paging, geo."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.bookings import booking_id, can_cancel, cancellation_deadline
from bot.domain.catalog import Complex, GeoPoint, nearest
from bot.domain.errors import ValidationFailed
from bot.domain.i18n import LocalizedText, pick_language
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.reminders import ReminderKind, plan_reminders
from bot.domain.sessions import WeeklyTemplate, local_day_bounds
from bot.domain.users import Role, User, validate_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Анна  ", "Анна"), ("Иван   Петров", "Иван Петров"), ("<b>Ян</b>", "<b>Ян</b>")],
)
def test_valid_names_are_normalised(raw: str, expected: str) -> None:
    assert validate_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("А", "too_short"),
        ("  ", "too_short"),
        ("x" * 65, "too_long"),
        ("/menu", "command"),
        ("Ann\u0000a", "characters"),
        ("Ann\u202ea", "characters"),
    ],
)
def test_invalid_names_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        validate_name(raw)
    assert error.value.reason == reason


def test_manager_scope_and_erasure() -> None:
    manager = User(telegram_id=5, name="M", role=Role.MANAGER, managed_complexes=frozenset({"a"}))
    assert manager.can_manage_complex("a")
    assert not manager.can_manage_complex("b")
    assert User(telegram_id=6, role=Role.ADMIN).can_manage_complex("b")
    assert not User(telegram_id=7).can_manage_complex("a")
    erased = User(telegram_id=8, name="N", phone="+7", registered_at=datetime.now(UTC)).erased(
        datetime.now(UTC)
    )
    assert (erased.name, erased.phone, erased.is_registered) == (None, None, False)


def test_language_choice() -> None:
    assert pick_language("en-US") == "en"
    assert pick_language("ru") == "ru"
    assert pick_language("de") == "ru"
    assert pick_language(None) == "ru"
    assert LocalizedText({"ru": "Плавание"}).get("en") == "Плавание"


def test_template_occurrences_are_local_and_deterministic() -> None:
    template = WeeklyTemplate(
        id="t1",
        complex_code="c",
        sport_code="s",
        weekday=0,
        start=time(18, 0),
        duration_minutes=90,
        capacity=10,
    )
    week = template.occurrences(date(2026, 11, 23), 14, "Europe/Moscow")  # 23 Nov 2026 is a Monday
    assert [s.starts_at for s in week] == [
        datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
    ]
    assert week[0].ends_at - week[0].starts_at == timedelta(minutes=90)
    assert [s.id for s in week] == [
        s.id for s in template.occurrences(date(2026, 11, 23), 14, "Europe/Moscow")
    ]
    assert len({s.id for s in week}) == 2


@pytest.mark.parametrize(
    "bad", [{"weekday": 7}, {"capacity": 0}, {"duration_minutes": 0}, {"capacity": 501}]
)
def test_template_shape_is_validated(bad: dict[str, int]) -> None:
    fields = {
        "id": "t",
        "complex_code": "c",
        "sport_code": "s",
        "weekday": 1,
        "start": time(9),
        "duration_minutes": 60,
        "capacity": 5,
    } | bad
    with pytest.raises(ValidationFailed):
        WeeklyTemplate(**fields)  # type: ignore[arg-type]


def test_local_day_bounds_follow_the_time_zone() -> None:
    start, end = local_day_bounds(date(2026, 11, 23), "Europe/Moscow")
    assert start == datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_cancellation_window() -> None:
    starts = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert cancellation_deadline(starts, 3) == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert can_cancel(starts - timedelta(hours=3, seconds=1), starts, 3)
    assert not can_cancel(starts - timedelta(hours=3), starts, 3)
    assert booking_id("s1", 42) == "s1:42"


def test_reminders_only_in_the_future() -> None:
    starts = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    far = plan_reminders(
        booking_id="b", user_id=1, session_id="s", starts_at=starts, now=starts - timedelta(days=2)
    )
    assert [r.kind for r in far] == [ReminderKind.DAY_BEFORE, ReminderKind.HOURS_BEFORE]
    assert far[0].due_at == starts - timedelta(hours=24)
    near = plan_reminders(
        booking_id="b", user_id=1, session_id="s", starts_at=starts, now=starts - timedelta(hours=5)
    )
    assert [r.kind for r in near] == [ReminderKind.HOURS_BEFORE]
    assert (
        plan_reminders(
            booking_id="b",
            user_id=1,
            session_id="s",
            starts_at=starts,
            now=starts - timedelta(hours=1),
        )
        == []
    )


def test_paging() -> None:
    page: Page[int] = Page(items=[1, 2], page=1, size=2, total=5)
    assert (page.pages, page.has_previous, page.has_next) == (3, True, True)
    assert not Page(items=[5], page=2, size=2, total=5).has_next
    assert clamp_page(PageRequest(page=9, size=2), 5).page == 2
    assert clamp_page(PageRequest(page=3, size=2), 0).page == 0
    with pytest.raises(ValueError, match="page must be"):
        PageRequest(page=-1)


def test_nearest_orders_by_distance() -> None:
    def make(code: str, lat: float, lon: float) -> Complex:
        return Complex(
            code=code,
            name=LocalizedText({"ru": code}),
            district="d",
            address=LocalizedText({"ru": "a"}),
            sports=("s",),
            location=GeoPoint(lat, lon),
        )

    kremlin = GeoPoint(56.3287, 44.0020)
    found = nearest(
        [make("far", 56.24, 43.86), make("near", 56.33, 44.00), make("mid", 56.30, 43.98)],
        kremlin,
        2,
    )
    assert [n.complex.code for n in found] == ["near", "mid"]
    assert found[0].distance_km < 1 < found[1].distance_km < 5

"""Small builders for the contract tests: explicit values, nothing random."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.domain.applications import ActorKind, Application, ApplicationStatus, new_application
from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.reminders import Reminder, ReminderKind, reminder_id
from bot.domain.sessions import Session, WeeklyTemplate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# A moment with microseconds: BSON keeps milliseconds, so this comes back as .123000.
PRECISE = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)
PRECISE_STORED = datetime(2026, 11, 23, 9, 0, 0, 123000, tzinfo=UTC)


def text(ru: str, en: str | None = None) -> LocalizedText:
    return LocalizedText({"ru": ru, "en": en or ru})


def district(code: str, *, sort_order: int = 0, active: bool = True) -> District:
    return District(code, text(f"Район {code}", f"District {code}"), sort_order, active)


def sport(code: str, *, active: bool = True) -> Sport:
    return Sport(code, text(f"Спорт {code}"), "🏅", active)


def complex_(
    code: str,
    *,
    district: str = "d1",
    sports: tuple[str, ...] = ("swim",),
    sort_order: int = 0,
    featured: bool = False,
    active: bool = True,
) -> Complex:
    return Complex(
        code=code,
        name=text(f"ФОК {code}", f"Complex {code}"),
        district=district,
        address=text("ул. Тестовая, 1"),
        sports=sports,
        phone="+78310000000",
        email="fok@example.org",
        website="https://example.org",
        hours=text("07:00–22:00"),
        description=text("Бассейн <25 м> & зал"),
        timezone="Europe/Samara",
        location=GeoPoint(56.3269, 44.0059),
        cancellation_window_hours=4,
        waitlist_hold_minutes=45,
        sort_order=sort_order,
        featured=featured,
        active=active,
    )


def application(
    app_id: str,
    *,
    user_id: int = 1,
    complex_code: str = "c1",
    sport_code: str = "swim",
    at: datetime = NOW,
    comment: str | None = "после 18:00",
) -> Application:
    return new_application(
        application_id=app_id,
        user_id=user_id,
        complex_code=complex_code,
        sport_code=sport_code,
        at=at,
        comment=comment,
        applicant_name=f"Житель {user_id}",
        applicant_phone="+79161234567",
    )


def moved(
    a: Application, target: ApplicationStatus, *, at: datetime = NOW, by: int = 99
) -> Application:
    kind = ActorKind.APPLICANT if target is ApplicationStatus.CANCELLED else ActorKind.STAFF
    actor = a.user_id if kind is ActorKind.APPLICANT else by
    return a.transition(target, actor_id=actor, actor_kind=kind, at=at, comment="решено")


def session(
    session_id: str,
    *,
    complex_code: str = "c1",
    sport_code: str = "swim",
    starts_at: datetime = NOW + timedelta(days=2),
    capacity: int = 10,
    booked: int = 0,
) -> Session:
    return Session(
        id=session_id,
        complex_code=complex_code,
        sport_code=sport_code,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        capacity=capacity,
        booked=booked,
        title=text("Утреннее плавание", "Morning swim"),
        template_id=None,
    )


def template(
    template_id: str, *, complex_code: str = "c1", weekday: int = 0, start: time = time(7, 0)
) -> WeeklyTemplate:
    return WeeklyTemplate(
        id=template_id,
        complex_code=complex_code,
        sport_code="swim",
        weekday=weekday,
        start=start,
        duration_minutes=45,
        capacity=12,
        title=text("Утро"),
    )


def reminder(
    booking: str, kind: ReminderKind = ReminderKind.DAY_BEFORE, *, due_at: datetime = NOW
) -> Reminder:
    return Reminder(
        id=reminder_id(booking, kind),
        user_id=int(booking.rsplit(":", 1)[1]),
        booking_id=booking,
        session_id=booking.rsplit(":", 1)[0],
        kind=kind,
        due_at=due_at,
    )

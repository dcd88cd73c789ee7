"""Small, explicit data for storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.bootstrap import Storage
from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.sessions import Session
from bot.domain.users import Role, User

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def add_resident(
    storage: Storage, telegram_id: int, *, phone: str | None = "+79161234567"
) -> User:
    user = User(
        telegram_id=telegram_id,
        name=f"Житель {telegram_id}",
        phone=phone,
        consent_at=NOW,
        registered_at=NOW,
    )
    await storage.users.save(user)
    return user


async def add_catalog(
    storage: Storage, *, complexes: int = 1, district: str = "d1"
) -> list[Complex]:
    await storage.catalog.upsert_district(District(district, LocalizedText({"ru": "Район"})))
    await storage.catalog.upsert_sport(Sport("swim", LocalizedText({"ru": "Плавание"}), "🏊"))
    await storage.catalog.upsert_sport(Sport("yoga", LocalizedText({"ru": "Йога"}), "🧘"))
    made = []
    for n in range(complexes):
        complex_ = Complex(
            code=f"{district}-c{n:02d}",
            name=LocalizedText({"ru": f"ФОК №{n}"}),
            district=district,
            address=LocalizedText({"ru": f"ул. Тестовая, {n}"}),
            sports=("swim", "yoga") if n % 2 else ("swim",),
            location=GeoPoint(56.3 + n / 1000, 44.0),
            sort_order=n,
        )
        await storage.catalog.upsert_complex(complex_)
        made.append(complex_)
    return made


async def add_session(
    storage: Storage,
    *,
    complex_code: str = "d1-c00",
    capacity: int = 10,
    hours_ahead: int = 48,
    session_id: str = "s" * 24,
) -> Session:
    session = Session(
        id=session_id,
        complex_code=complex_code,
        sport_code="swim",
        starts_at=NOW + timedelta(hours=hours_ahead),
        ends_at=NOW + timedelta(hours=hours_ahead + 1),
        capacity=capacity,
    )
    await storage.sessions.insert(session)
    return session


async def add_staff(
    storage: Storage, telegram_id: int, role: Role, complexes: frozenset[str] = frozenset()
) -> User:
    user = User(
        telegram_id=telegram_id,
        name=f"Сотрудник {telegram_id}",
        role=role,
        managed_complexes=complexes,
        consent_at=NOW,
        registered_at=NOW,
    )
    await storage.users.save(user)
    return user

"""Business counters come from the services' real results (MongoDB on SecantusDB), not guesses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from bot.bootstrap import Services, build_services, build_storage
from bot.domain.paging import PageRequest
from bot.infra.metrics import PrometheusBusinessEvents
from tests.e2e.conftest import seed_database


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def services(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Services]:
    await seed_database(mongo_url, mongo_db_name)
    storage = build_storage(mongo_url, mongo_db_name, app_name="metrics-test")
    built = build_services(storage, events=PrometheusBusinessEvents())
    yield built
    await storage.close()


async def register(services: Services, user_id: int) -> None:
    await services.users.touch(user_id, "ru")
    await services.users.set_name(user_id, "Мария")
    await services.users.set_phone_from_contact(user_id, user_id, "+79123456789")
    await services.users.complete_registration(user_id, consent=True)


async def test_registration_application_and_booking_are_counted_once_each(
    services: Services,
) -> None:
    before = {
        "registrations": sample("fok_registrations_total"),
        "pending": sample("fok_applications_total", status="pending"),
        "cancelled": sample("fok_applications_total", status="cancelled"),
        "active": sample("fok_bookings_total", result="active"),
        "existing": sample("fok_bookings_total", result="existing"),
    }
    await register(services, 555_001)

    district = (await services.catalog.districts(PageRequest(0, 50))).items[0]
    complex_ = (
        await services.catalog.complexes_in_district(district.code, PageRequest(0, 50))
    ).items[0]
    submitted = await services.applications.submit(555_001, complex_.code, complex_.sports[0])
    repeated = await services.applications.submit(555_001, complex_.code, complex_.sports[0])
    assert submitted.created
    assert not repeated.created
    await services.applications.cancel(555_001, submitted.application.id)

    session = next(iter(await services.schedule.upcoming(complex_.code, days=7)))
    first = await services.bookings.book(555_001, session.id)
    again = await services.bookings.book(555_001, session.id)
    assert first.created
    assert not again.created

    after = {
        "registrations": sample("fok_registrations_total"),
        "pending": sample("fok_applications_total", status="pending"),
        "cancelled": sample("fok_applications_total", status="cancelled"),
        "active": sample("fok_bookings_total", result="active"),
        "existing": sample("fok_bookings_total", result="existing"),
    }
    assert {k: after[k] - before[k] for k in after} == {
        "registrations": 1,
        "pending": 1,
        "cancelled": 1,
        "active": 1,
        "existing": 1,
    }


async def test_a_refused_call_counts_nothing(services: Services) -> None:
    before = sample("fok_registrations_total")
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal: the user does not exist
        await services.users.complete_registration(555_999, consent=True)
    assert sample("fok_registrations_total") == before

"""UserRepository: keyed by Telegram id, ``ensure`` never overwrites, search, staff, counts."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.bootstrap import build_storage
from bot.domain.paging import PageRequest
from bot.domain.users import NotificationPreferences, Role, User
from bot.services.ports.repositories import UserRepository
from tests.contract.conftest import Ports
from tests.contract.data import NOW, PRECISE, PRECISE_STORED


def resident(telegram_id: int, name: str | None = None, phone: str | None = None) -> User:
    return User(
        telegram_id=telegram_id,
        name=name if name is not None else f"Житель {telegram_id}",
        phone=phone,
        consent_at=NOW,
        registered_at=NOW,
    )


async def test_unknown_user_is_none(ports: Ports) -> None:
    assert await ports.users.get(404) is None


async def test_ensure_creates_a_bare_record_once_and_never_overwrites(ports: Ports) -> None:
    first = await ports.users.ensure(10, "en", NOW)
    assert first == User(telegram_id=10, language="en")
    assert not first.is_registered

    await ports.users.save(replace(first, name="Анна", registered_at=NOW, consent_at=NOW))
    again = await ports.users.ensure(10, "ru", NOW)
    assert again.language == "en"
    assert again.name == "Анна"
    assert again.registered_at == NOW
    assert await ports.users.get(10) == again


async def test_save_round_trips_every_field(ports: Ports) -> None:
    user = User(
        telegram_id=11,
        name="<b>Анна & Co",
        phone="+79161234567",
        language="en",
        consent_at=PRECISE,
        registered_at=NOW,
        blocked=True,
        unreachable=True,
        role=Role.MANAGER,
        managed_complexes=frozenset({"c2", "c1"}),
        notifications=NotificationPreferences(
            reminders=False, application_updates=True, broadcasts=False
        ),
        deleted_at=NOW,
    )
    await ports.users.save(user)
    stored = await ports.users.get(11)
    # BSON dates keep milliseconds; everything else comes back exactly.
    assert stored == replace(user, consent_at=PRECISE_STORED)


async def test_save_replaces_the_whole_record(ports: Ports) -> None:
    await ports.users.save(resident(12, phone="+79160000000"))
    await ports.users.save(User(telegram_id=12, name="Борис"))
    assert await ports.users.get(12) == User(telegram_id=12, name="Борис")


async def test_set_unreachable_changes_only_that_flag_and_creates_nothing(ports: Ports) -> None:
    await ports.users.save(resident(13))
    await ports.users.set_unreachable(13, True)
    assert await ports.users.get(13) == replace(resident(13), unreachable=True)
    await ports.users.set_unreachable(13, False)
    assert await ports.users.get(13) == resident(13)

    await ports.users.set_unreachable(14, True)
    assert await ports.users.get(14) is None


async def test_set_role_returns_the_updated_user_or_none(ports: Ports) -> None:
    await ports.users.save(resident(15))
    updated = await ports.users.set_role(15, Role.MANAGER, frozenset({"c1"}))
    expected = replace(resident(15), role=Role.MANAGER, managed_complexes=frozenset({"c1"}))
    assert updated == expected
    assert await ports.users.get(15) == expected

    cleared = await ports.users.set_role(15, None, frozenset())
    assert cleared == resident(15)
    assert await ports.users.set_role(16, Role.ADMIN, frozenset()) is None
    assert await ports.users.get(16) is None


async def test_search_by_name_is_a_case_insensitive_literal_substring(ports: Ports) -> None:
    await ports.users.save(resident(1, "Анна Петрова"))
    await ports.users.save(resident(2, "анна-мария"))
    await ports.users.save(resident(3, "Борис"))
    await ports.users.save(resident(4, "a.b"))
    await ports.users.save(resident(5, "axb"))
    await ports.users.save(User(telegram_id=6))  # no name: never matched by text

    found = await ports.users.search("АННА", PageRequest(0, 10))
    assert [u.telegram_id for u in found.items] == [1, 2]
    assert found.total == 2
    dotted = await ports.users.search("a.b", PageRequest(0, 10))
    assert [u.telegram_id for u in dotted.items] == [4]  # "." is not a wildcard
    everyone_named = await ports.users.search("", PageRequest(0, 10))
    assert [u.telegram_id for u in everyone_named.items] == [1, 2, 3, 4, 5]


async def test_search_by_digits_matches_the_id_or_part_of_the_phone(ports: Ports) -> None:
    await ports.users.save(resident(777, phone="+79161112233"))
    await ports.users.save(resident(2, phone="+79997770000"))
    await ports.users.save(resident(3, phone=None))

    by_digits = await ports.users.search("777", PageRequest(0, 10))
    assert [u.telegram_id for u in by_digits.items] == [2, 777]
    with_plus = await ports.users.search("+7916111", PageRequest(0, 10))
    assert [u.telegram_id for u in with_plus.items] == [777]
    by_id = await ports.users.search("3", PageRequest(0, 10))
    assert [u.telegram_id for u in by_id.items] == [3, 777]  # id 3, and "3" in 777's phone


async def test_search_pages_in_id_order_with_the_total(ports: Ports) -> None:
    for telegram_id in (50, 10, 40, 20, 30):
        await ports.users.save(resident(telegram_id, "Житель"))
    first = await ports.users.search("житель", PageRequest(0, 2))
    second = await ports.users.search("житель", PageRequest(1, 2))
    last = await ports.users.search("житель", PageRequest(2, 2))
    assert [u.telegram_id for u in first.items] == [10, 20]
    assert [u.telegram_id for u in second.items] == [30, 40]
    assert [u.telegram_id for u in last.items] == [50]
    assert (first.total, first.page, first.size) == (5, 0, 2)
    assert last.has_next is False


async def test_list_staff_is_everyone_with_a_role_in_id_order(ports: Ports) -> None:
    await ports.users.save(replace(resident(30), role=Role.ADMIN))
    await ports.users.save(resident(10))
    await ports.users.save(replace(resident(20), role=Role.SUPER_ADMIN))
    await ports.users.save(User(telegram_id=5, role=Role.MANAGER))
    staff = await ports.users.list_staff()
    assert [(u.telegram_id, u.role) for u in staff] == [
        (5, Role.MANAGER),
        (20, Role.SUPER_ADMIN),
        (30, Role.ADMIN),
    ]


async def test_count_registered_leaves_out_guests_and_deleted_users(ports: Ports) -> None:
    await ports.users.save(resident(1))
    await ports.users.save(resident(2))
    await ports.users.save(User(telegram_id=3))
    await ports.users.save(resident(4).erased(NOW))
    await ports.users.save(replace(resident(5), deleted_at=NOW))
    assert await ports.users.count_registered() == 2


# --- writes that race (two processes, or a resident and staff at once) ------------------------


async def test_save_changes_writes_only_what_changed_so_a_concurrent_block_survives(
    ports: Ports,
) -> None:
    await ports.users.save(resident(30))
    seen_by_resident = await ports.users.get(30)  # the gate's read at the start of an update
    seen_by_staff = await ports.users.get(30)
    assert seen_by_resident is not None
    assert seen_by_staff is not None

    await ports.users.save_changes(seen_by_staff, replace(seen_by_staff, blocked=True))
    # The resident's update goes on with the record read before the block.
    quiet = replace(seen_by_resident.notifications, reminders=False)
    await ports.users.save_changes(
        seen_by_resident, replace(seen_by_resident, language="en", notifications=quiet)
    )

    assert await ports.users.get(30) == replace(
        resident(30), blocked=True, language="en", notifications=quiet
    )


async def test_save_changes_keeps_a_role_granted_meanwhile(ports: Ports) -> None:
    await ports.users.save(resident(31))
    stale = await ports.users.get(31)
    assert stale is not None
    await ports.users.set_role(31, Role.MANAGER, frozenset({"c1"}))
    await ports.users.save_changes(stale, replace(stale, name="Анна", phone="+79160000001"))

    stored = await ports.users.get(31)
    assert stored is not None
    assert (stored.role, stored.managed_complexes) == (Role.MANAGER, frozenset({"c1"}))
    assert (stored.name, stored.phone) == ("Анна", "+79160000001")


async def test_two_notification_toggles_from_one_read_both_count(ports: Ports) -> None:
    await ports.users.save(resident(32))
    stale = await ports.users.get(32)
    assert stale is not None
    prefs = stale.notifications
    await ports.users.save_changes(
        stale, replace(stale, notifications=replace(prefs, reminders=False))
    )
    await ports.users.save_changes(
        stale, replace(stale, notifications=replace(prefs, broadcasts=False))
    )
    stored = await ports.users.get(32)
    assert stored is not None
    assert stored.notifications == NotificationPreferences(
        reminders=False, application_updates=True, broadcasts=False
    )


async def test_save_changes_without_a_change_writes_nothing_and_a_gone_record_is_whole(
    ports: Ports,
) -> None:
    await ports.users.save(resident(33))
    stale = await ports.users.get(33)
    assert stale is not None
    await ports.users.save(replace(resident(33), name="Борис"))
    await ports.users.save_changes(stale, stale)  # nothing changed: nothing written
    assert (await ports.users.get(33)) == replace(resident(33), name="Борис")

    await ports.users.save_changes(User(telegram_id=34), resident(34))
    assert await ports.users.get(34) == resident(34)


async def test_erasing_keeps_a_concurrent_block(ports: Ports) -> None:
    await ports.users.save(resident(35, phone="+79160000002"))
    stale = await ports.users.get(35)
    assert stale is not None
    await ports.users.save_changes(stale, replace(stale, blocked=True))
    await ports.users.save_changes(stale, stale.erased(NOW))
    stored = await ports.users.get(35)
    assert stored == replace(resident(35).erased(NOW), blocked=True)


async def test_many_first_contacts_at_once_make_one_record(
    ports: Ports, request: pytest.FixtureRequest
) -> None:
    """Two processes creating the same user at once (e.g. two web workers granting the super
    admins at start): every caller gets the record, none fails."""
    repositories: list[UserRepository] = [ports.users]
    second = None
    if ports.kind == "mongo":  # a second process: its own client on the same database
        second = build_storage(
            request.getfixturevalue("mongo_url"),
            request.getfixturevalue("mongo_db_name"),
            app_name="contract-second",
        )
        repositories.append(second.users)
    ids = range(100001, 100301)  # the race is lost only now and then: try it many times
    try:
        for telegram_id in ids:
            results = await asyncio.gather(
                *(users.ensure(telegram_id, "ru", NOW) for users in repositories * 2)
            )
            assert results == [User(telegram_id=telegram_id)] * len(results)
    finally:
        if second is not None:
            await second.close()
    everyone = await ports.users.list_all(1000)
    assert [user.telegram_id for user in everyone] == list(ids)

"""ApplicationRepository: one active application per user/complex/sport, changes applied only
over the version they were read at, lists, anonymisation and counts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain.applications import ApplicationStatus
from bot.domain.errors import DuplicateActiveApplication
from bot.domain.paging import PageRequest
from tests.contract.conftest import Ports
from tests.contract.data import NOW, PRECISE, PRECISE_STORED, application, moved

S = ApplicationStatus


async def test_an_application_round_trips_with_its_history(ports: Ports) -> None:
    a = moved(application("a" * 24, at=PRECISE), S.ACCEPTED, at=NOW + timedelta(hours=1))
    await ports.applications.insert(a)
    stored = await ports.applications.get(a.id)
    assert stored is not None
    assert stored.created_at == PRECISE_STORED
    assert stored.history[0].at == PRECISE_STORED
    assert stored == replace(
        a,
        created_at=PRECISE_STORED,
        history=(replace(a.history[0], at=PRECISE_STORED), a.history[1]),
    )
    assert stored.version == 2
    assert await ports.applications.get("b" * 24) is None


async def test_one_active_application_per_user_complex_and_sport(ports: Ports) -> None:
    first = application("a1")
    await ports.applications.insert(first)
    with pytest.raises(DuplicateActiveApplication):
        await ports.applications.insert(application("a2"))
    # Another sport, another complex or another person is a different slot.
    await ports.applications.insert(application("a3", sport_code="yoga"))
    await ports.applications.insert(application("a4", complex_code="c2"))
    await ports.applications.insert(application("a5", user_id=2))
    assert await ports.applications.get("a2") is None

    cancelled = moved(first, S.CANCELLED)
    assert await ports.applications.replace_if_version(first.version, cancelled)
    await ports.applications.insert(application("a6"))  # the slot is free again
    assert (await ports.applications.find_active(1, "c1", "swim")) == application("a6")


async def test_an_inactive_application_never_takes_the_slot(ports: Ports) -> None:
    await ports.applications.insert(moved(application("old"), S.REJECTED))
    await ports.applications.insert(moved(application("older"), S.REJECTED))
    await ports.applications.insert(application("new"))
    found = await ports.applications.find_active(1, "c1", "swim")
    assert found is not None
    assert found.id == "new"


async def test_a_repeated_id_is_refused(ports: Ports) -> None:
    await ports.applications.insert(application("same", sport_code="yoga"))
    with pytest.raises(DuplicateActiveApplication):
        await ports.applications.insert(application("same", sport_code="swim"))
    stored = await ports.applications.get("same")
    assert stored is not None
    assert stored.sport_code == "yoga"


async def test_concurrent_submits_store_exactly_one(ports: Ports) -> None:
    results = await asyncio.gather(
        *(ports.applications.insert(application(f"race{i:02d}")) for i in range(20)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, DuplicateActiveApplication) for r in results if r is not None)
    page = await ports.applications.list_for_user(1, PageRequest(0, 50))
    assert page.total == 1


async def test_find_active_ignores_finished_and_other_peoples_applications(ports: Ports) -> None:
    a = application("a1")
    await ports.applications.insert(a)
    assert await ports.applications.find_active(1, "c1", "swim") == a
    assert await ports.applications.find_active(2, "c1", "swim") is None
    assert await ports.applications.find_active(1, "c1", "yoga") is None
    accepted = moved(a, S.ACCEPTED)
    await ports.applications.replace_if_version(1, accepted)
    transferred = moved(accepted, S.TRANSFERRED)
    await ports.applications.replace_if_version(2, transferred)
    assert await ports.applications.find_active(1, "c1", "swim") == transferred  # still active
    await ports.applications.replace_if_version(3, moved(transferred, S.COMPLETED))
    assert await ports.applications.find_active(1, "c1", "swim") is None


async def test_a_change_is_stored_only_over_the_version_it_was_read_at(ports: Ports) -> None:
    a = application("a1")
    await ports.applications.insert(a)
    accepted = moved(a, S.ACCEPTED)
    rejected = moved(a, S.REJECTED)
    assert await ports.applications.replace_if_version(a.version, accepted) is True
    assert await ports.applications.replace_if_version(a.version, rejected) is False
    assert await ports.applications.get("a1") == accepted
    # An unknown id is not created by a replace.
    assert await ports.applications.replace_if_version(1, application("ghost")) is False
    assert await ports.applications.get("ghost") is None


async def test_a_replacement_identical_to_the_stored_copy_reports_no_change(ports: Ports) -> None:
    a = application("a1")
    await ports.applications.insert(a)
    assert await ports.applications.replace_if_version(a.version, a) is False
    assert await ports.applications.get("a1") == a


async def test_concurrent_decisions_apply_exactly_one(ports: Ports) -> None:
    a = application("a1")
    await ports.applications.insert(a)
    decisions = [moved(a, S.ACCEPTED, by=100 + i) for i in range(5)]
    decisions += [moved(a, S.REJECTED, by=200 + i) for i in range(5)]
    won = await asyncio.gather(
        *(ports.applications.replace_if_version(a.version, d) for d in decisions)
    )
    assert sum(won) == 1
    stored = await ports.applications.get("a1")
    assert stored == decisions[won.index(True)]
    assert stored is not None
    assert stored.version == 2


async def test_a_replace_that_would_make_a_second_active_application_is_refused(
    ports: Ports,
) -> None:
    old = application("old")
    await ports.applications.insert(old)
    cancelled = moved(old, S.CANCELLED)
    await ports.applications.replace_if_version(1, cancelled)
    await ports.applications.insert(application("new"))
    revived = replace(cancelled, status=S.PENDING, history=(*cancelled.history, old.history[0]))
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's duplicate key error
        await ports.applications.replace_if_version(2, revived)
    assert await ports.applications.get("old") == cancelled


async def test_a_users_applications_newest_first_in_pages(ports: Ports) -> None:
    for i in range(5):
        at = NOW + timedelta(minutes=i)
        await ports.applications.insert(application(f"a{i}", complex_code=f"c{i}", at=at))
    await ports.applications.insert(application("theirs", user_id=2))
    first = await ports.applications.list_for_user(1, PageRequest(0, 2))
    third = await ports.applications.list_for_user(1, PageRequest(2, 2))
    assert [a.id for a in first.items] == ["a4", "a3"]
    assert [a.id for a in third.items] == ["a0"]
    assert first.total == 5
    same_time = await ports.applications.list_for_user(2, PageRequest(0, 5))
    assert [a.id for a in same_time.items] == ["theirs"]


async def test_same_moment_applications_are_ordered_by_id(ports: Ports) -> None:
    for app_id, complex_code in (("b", "c1"), ("c", "c2"), ("a", "c3")):
        await ports.applications.insert(application(app_id, complex_code=complex_code))
    mine = await ports.applications.list_for_user(1, PageRequest(0, 5))
    assert [a.id for a in mine.items] == ["c", "b", "a"]
    inbox = await ports.applications.list_for_staff(None, frozenset({S.PENDING}), PageRequest())
    assert [a.id for a in inbox.items] == ["a", "b", "c"]


async def test_the_staff_inbox_filters_by_status_and_complex_oldest_first(ports: Ports) -> None:
    for i, (complex_code, user) in enumerate([("c1", 1), ("c2", 2), ("c1", 3), ("c3", 4)]):
        a = application(f"a{i}", user_id=user, complex_code=complex_code)
        await ports.applications.insert(replace(a, created_at=NOW + timedelta(minutes=i)))
    accepted = moved(application("a0", complex_code="c1"), S.ACCEPTED)
    await ports.applications.replace_if_version(
        1, replace(accepted, created_at=NOW + timedelta(minutes=0))
    )
    pending = frozenset({S.PENDING})
    everyone = await ports.applications.list_for_staff(None, pending, PageRequest(0, 10))
    assert [a.id for a in everyone.items] == ["a1", "a2", "a3"]
    scoped = await ports.applications.list_for_staff(
        frozenset({"c1", "c3"}), frozenset({S.PENDING, S.ACCEPTED}), PageRequest(0, 2)
    )
    assert [a.id for a in scoped.items] == ["a0", "a2"]
    assert scoped.total == 3
    assert (await ports.applications.list_for_staff(frozenset(), pending, PageRequest())).total == 0
    assert (await ports.applications.list_for_staff(None, frozenset(), PageRequest())).total == 0


async def test_anonymise_erases_personal_fields_of_that_user_only(ports: Ports) -> None:
    await ports.applications.insert(application("a1"))
    await ports.applications.insert(application("a2", sport_code="yoga", comment=None))
    await ports.applications.insert(application("b1", user_id=2))
    assert await ports.applications.anonymise_user(1) == 2
    for app_id in ("a1", "a2"):
        stored = await ports.applications.get(app_id)
        assert stored is not None
        assert (stored.applicant_name, stored.applicant_phone, stored.comment) == (None,) * 3
        assert stored.status is S.PENDING
    assert await ports.applications.get("b1") == application("b1", user_id=2)
    # Nothing left to erase: nothing is modified.
    assert await ports.applications.anonymise_user(1) == 0
    assert await ports.applications.anonymise_user(404) == 0


async def test_count_by_status_counts_only_what_exists(ports: Ports) -> None:
    assert await ports.applications.count_by_status() == {}
    await ports.applications.insert(application("a1"))
    await ports.applications.insert(application("a2", user_id=2))
    await ports.applications.insert(moved(application("a3", user_id=3), S.ACCEPTED))
    assert await ports.applications.count_by_status() == {S.PENDING: 2, S.ACCEPTED: 1}

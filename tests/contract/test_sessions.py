"""SessionRepository: dated sessions with a seat counter that never passes the capacity, and
weekly templates."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import time, timedelta

import pytest

from tests.contract.conftest import Ports
from tests.contract.data import NOW, PRECISE, PRECISE_STORED, session, template


async def test_a_session_round_trips(ports: Ports) -> None:
    s = replace(session("s1", starts_at=PRECISE), template_id="t1", booked=3)
    await ports.sessions.insert(s)
    stored = await ports.sessions.get("s1")
    assert stored == replace(
        s, starts_at=PRECISE_STORED, ends_at=PRECISE_STORED + timedelta(hours=1)
    )
    assert await ports.sessions.get("s2") is None


async def test_a_second_insert_of_the_same_id_fails_and_keeps_the_first(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=5))
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's duplicate key error
        await ports.sessions.insert(session("s1", capacity=9))
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.capacity == 5


async def test_insert_missing_adds_only_new_sessions(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", booked=4))
    assert await ports.sessions.insert_missing([]) == 0
    new = await ports.sessions.insert_missing(
        [session("s1"), session("s2"), session("s3"), session("s2", capacity=99)]
    )
    assert new == 2
    first = await ports.sessions.get("s1")
    second = await ports.sessions.get("s2")
    assert first is not None
    assert first.booked == 4  # an existing session is not reset
    assert second is not None
    assert second.capacity == 10
    assert await ports.sessions.insert_missing([session("s1"), session("s3")]) == 0


async def test_list_for_complex_is_a_half_open_window_in_start_order(ports: Ports) -> None:
    day = NOW.replace(hour=0)
    await ports.sessions.insert(session("at-start", starts_at=day))
    await ports.sessions.insert(session("later", starts_at=day + timedelta(hours=10)))
    await ports.sessions.insert(session("b-same", starts_at=day + timedelta(hours=5)))
    await ports.sessions.insert(session("a-same", starts_at=day + timedelta(hours=5)))
    await ports.sessions.insert(
        session("yoga", sport_code="yoga", starts_at=day + timedelta(hours=6))
    )
    await ports.sessions.insert(session("at-end", starts_at=day + timedelta(days=1)))
    await ports.sessions.insert(session("before", starts_at=day - timedelta(minutes=1)))
    await ports.sessions.insert(session("elsewhere", complex_code="c2", starts_at=day))
    await ports.sessions.insert(session("called-off", starts_at=day + timedelta(hours=7)))
    await ports.sessions.cancel("called-off")

    found = await ports.sessions.list_for_complex("c1", day, day + timedelta(days=1))
    assert [s.id for s in found] == ["at-start", "a-same", "b-same", "yoga", "called-off", "later"]
    assert found[4].cancelled is True
    swim = await ports.sessions.list_for_complex("c1", day, day + timedelta(days=1), "swim")
    assert [s.id for s in swim] == ["at-start", "a-same", "b-same", "called-off", "later"]
    every = await ports.sessions.list_for_complex("c1", day, day + timedelta(days=1), "")
    assert len(every) == 6


async def test_seats_are_taken_only_while_some_are_left(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=2))
    assert await ports.sessions.take_seat("s1") is True
    assert await ports.sessions.take_seat("s1") is True
    assert await ports.sessions.take_seat("s1") is False
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.booked == 2
    assert stored.seats_left == 0
    assert await ports.sessions.take_seat("missing") is False


async def test_a_cancelled_session_gives_no_seat(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=5))
    assert await ports.sessions.cancel("s1") is True
    assert await ports.sessions.cancel("s1") is False
    assert await ports.sessions.cancel("missing") is False
    assert await ports.sessions.take_seat("s1") is False
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert (stored.cancelled, stored.booked) == (True, 0)


async def test_concurrent_seat_takers_never_pass_the_capacity(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=10))
    taken = await asyncio.gather(*(ports.sessions.take_seat("s1") for _ in range(40)))
    assert sum(taken) == 10
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.booked == 10


async def test_release_gives_a_seat_back_but_never_goes_below_zero(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=3, booked=1))
    await ports.sessions.release_seat("s1")
    await ports.sessions.release_seat("s1")
    await ports.sessions.release_seat("missing")
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.booked == 0


async def test_set_booked_overwrites_the_counter(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=3, booked=3))
    await ports.sessions.set_booked("s1", 1)
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.booked == 1
    await ports.sessions.set_booked("missing", 2)
    assert await ports.sessions.get("missing") is None


async def test_templates_are_upserted_and_listed_in_week_order(ports: Ports) -> None:
    await ports.sessions.upsert_template(template("t3", weekday=2, start=time(9, 0)))
    await ports.sessions.upsert_template(template("t1", weekday=0, start=time(18, 30)))
    await ports.sessions.upsert_template(template("t2", weekday=0, start=time(7, 0)))
    await ports.sessions.upsert_template(template("t4", complex_code="a0", weekday=6))
    listed = await ports.sessions.list_templates()
    assert [t.id for t in listed] == ["t4", "t2", "t1", "t3"]
    assert [t.id for t in await ports.sessions.list_templates("c1")] == ["t2", "t1", "t3"]
    assert await ports.sessions.list_templates("none") == []

    paused = replace(template("t2", weekday=0, start=time(7, 0)), active=False, capacity=3)
    await ports.sessions.upsert_template(paused)
    assert (await ports.sessions.list_templates("c1"))[0] == paused


async def test_a_template_start_is_kept_to_the_minute(ports: Ports) -> None:
    await ports.sessions.upsert_template(template("t1", start=time(7, 15, 42)))
    (stored,) = await ports.sessions.list_templates()
    assert stored.start == time(7, 15)
    assert stored == template("t1", start=time(7, 15))


async def test_a_cancelled_session_keeps_why(ports: Ports) -> None:
    await ports.sessions.insert(session("s1"))
    await ports.sessions.insert(session("s2"))
    assert await ports.sessions.cancel("s1", "Авария <водопровода> & ремонт") is True
    assert await ports.sessions.cancel("s1", "другая причина") is False
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert (stored.cancelled, stored.cancel_reason) == (True, "Авария <водопровода> & ремонт")
    untouched = await ports.sessions.get("s2")
    assert untouched is not None
    assert (untouched.cancelled, untouched.cancel_reason) == (False, None)


async def test_capacity_is_changed_only_above_the_seats_taken(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=10, booked=4))
    lowered = await ports.sessions.set_capacity("s1", 4)
    assert lowered is not None
    assert (lowered.capacity, lowered.booked) == (4, 4)
    assert await ports.sessions.get("s1") == lowered
    assert await ports.sessions.set_capacity("s1", 3) is None  # below the seats taken
    raised = await ports.sessions.set_capacity("s1", 12)
    assert raised is not None
    assert raised.seats_left == 8
    assert await ports.sessions.set_capacity("missing", 5) is None
    await ports.sessions.cancel("s1", "закрыто")
    assert await ports.sessions.set_capacity("s1", 20) is None
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.capacity == 12


async def test_set_booked_if_sets_only_over_the_value_compared_with(ports: Ports) -> None:
    await ports.sessions.insert(session("s1", capacity=3, booked=3))
    assert not await ports.sessions.set_booked_if("s1", 2, 1)  # a seat moved meanwhile
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.booked == 3
    assert await ports.sessions.set_booked_if("s1", 3, 1)
    stored = await ports.sessions.get("s1")
    assert stored is not None
    assert stored.booked == 1
    assert await ports.sessions.set_booked_if("s1", 1, 1)  # already so: still matched
    assert not await ports.sessions.set_booked_if("missing", 0, 2)
    assert await ports.sessions.get("missing") is None

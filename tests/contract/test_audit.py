"""AuditRepository: append-only, newest first, details kept as a document."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.audit import AuditEntry
from bot.domain.paging import PageRequest
from tests.contract.conftest import Ports
from tests.contract.data import NOW, PRECISE, PRECISE_STORED


def entry(entry_id: str, minutes: int = 0, **details: object) -> AuditEntry:
    return AuditEntry(
        entry_id, 99, "user.block", "user", "42", NOW + timedelta(minutes=minutes), details
    )


async def test_recent_is_newest_first_then_by_id_in_pages(ports: Ports) -> None:
    assert (await ports.audit.recent(PageRequest())).total == 0
    for entry_id, minutes in (("e1", 0), ("e3", 5), ("e2", 5), ("e4", 1)):
        await ports.audit.record(entry(entry_id, minutes))
    first = await ports.audit.recent(PageRequest(0, 3))
    second = await ports.audit.recent(PageRequest(1, 3))
    assert [e.id for e in first.items] == ["e2", "e3", "e4"]
    assert [e.id for e in second.items] == ["e1"]
    assert first.total == 4


async def test_an_entry_round_trips_with_its_details(ports: Ports) -> None:
    recorded = AuditEntry(
        "e1",
        7,
        "user.role",
        "user",
        "42",
        PRECISE,
        {"role": "manager", "complexes": ("c1", "c2"), "nested": {"n": 1, "none": None}},
    )
    await ports.audit.record(recorded)
    (stored,) = (await ports.audit.recent(PageRequest())).items
    assert stored.at == PRECISE_STORED
    assert (stored.id, stored.actor_id, stored.action, stored.target_type, stored.target_id) == (
        "e1",
        7,
        "user.role",
        "user",
        "42",
    )
    # A document keeps lists, not tuples.
    assert dict(stored.details) == {
        "role": "manager",
        "complexes": ["c1", "c2"],
        "nested": {"n": 1, "none": None},
    }


async def test_an_entry_is_recorded_once(ports: Ports) -> None:
    await ports.audit.record(entry("e1", action="first"))
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's duplicate key error
        await ports.audit.record(entry("e1", 9))
    (stored,) = (await ports.audit.recent(PageRequest())).items
    assert stored.at == NOW


async def test_the_operator_s_name_round_trips_and_staff_entries_have_none(ports: Ports) -> None:
    await ports.audit.record(entry("e1"))
    operator = AuditEntry("e2", 0, "user.role", "user", "42", NOW, {}, actor_name="alice")
    await ports.audit.record(operator)
    stored = {e.id: e for e in (await ports.audit.recent(PageRequest())).items}
    assert stored["e2"].actor_name == "alice"
    assert stored["e2"].actor_id == 0
    assert stored["e1"].actor_name is None

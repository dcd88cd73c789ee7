"""CatalogRepository: districts, sports and complexes by code; active filters, order and paging."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.catalog import Complex, District, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.paging import PageRequest
from tests.contract.conftest import Ports
from tests.contract.data import complex_, district, sport, text


async def test_unknown_codes_are_none(ports: Ports) -> None:
    assert await ports.catalog.get_district("nope") is None
    assert await ports.catalog.get_sport("nope") is None
    assert await ports.catalog.get_complex("nope") is None


async def test_entries_round_trip_and_an_upsert_replaces(ports: Ports) -> None:
    d = district("d1", sort_order=3)
    s = sport("swim")
    c = complex_("c1", sports=("swim", "yoga"), featured=True)
    await ports.catalog.upsert_district(d)
    await ports.catalog.upsert_sport(s)
    await ports.catalog.upsert_complex(c)
    assert await ports.catalog.get_district("d1") == d
    assert await ports.catalog.get_sport("swim") == s
    assert await ports.catalog.get_complex("c1") == c

    renamed = replace(d, name=text("Новый"), active=False)
    await ports.catalog.upsert_district(renamed)
    await ports.catalog.upsert_sport(replace(s, icon="🏊", active=False))
    bare = Complex(
        code="c1",
        name=LocalizedText({"ru": "Просто ФОК"}),
        district="d2",
        address=LocalizedText(),
        sports=(),
    )
    await ports.catalog.upsert_complex(bare)
    assert await ports.catalog.get_district("d1") == renamed
    assert await ports.catalog.get_sport("swim") == replace(s, icon="🏊", active=False)
    assert await ports.catalog.get_complex("c1") == bare  # nothing of the old one is left


async def test_districts_are_ordered_by_sort_order_then_code(ports: Ports) -> None:
    for d in (
        district("b", sort_order=1),
        district("a", sort_order=1),
        district("z", sort_order=0),
        district("off", sort_order=0, active=False),
    ):
        await ports.catalog.upsert_district(d)
    active = await ports.catalog.list_districts()
    assert [d.code for d in active] == ["z", "a", "b"]
    everything = await ports.catalog.list_districts(include_inactive=True)
    assert [d.code for d in everything] == ["off", "z", "a", "b"]


async def test_sports_are_ordered_by_code(ports: Ports) -> None:
    for s in (sport("yoga"), sport("boxing"), sport("chess", active=False)):
        await ports.catalog.upsert_sport(s)
    assert [s.code for s in await ports.catalog.list_sports()] == ["boxing", "yoga"]
    assert [s.code for s in await ports.catalog.list_sports(include_inactive=True)] == [
        "boxing",
        "chess",
        "yoga",
    ]


async def _complexes(ports: Ports) -> None:
    for c in (
        complex_("c-b", sort_order=2),
        complex_("c-a", sort_order=2, sports=("yoga",)),
        complex_("c-first", sort_order=9, featured=True, sports=("boxing",)),
        complex_("c-zero", sort_order=0, sports=("yoga", "swim")),
        complex_("c-closed", sort_order=0, active=False),
        complex_("c-other", district="d2", sports=("yoga",)),
    ):
        await ports.catalog.upsert_complex(c)


async def test_complexes_of_a_district_are_featured_first_then_ordered_and_paged(
    ports: Ports,
) -> None:
    await _complexes(ports)
    first = await ports.catalog.complexes_in_district("d1", PageRequest(0, 3))
    second = await ports.catalog.complexes_in_district("d1", PageRequest(1, 3))
    assert [c.code for c in first.items] == ["c-first", "c-zero", "c-a"]
    assert [c.code for c in second.items] == ["c-b"]
    assert (first.total, second.total) == (4, 4)
    empty = await ports.catalog.complexes_in_district("nowhere", PageRequest(0, 3))
    assert (list(empty.items), empty.total) == ([], 0)


async def test_complexes_with_any_of_the_sports(ports: Ports) -> None:
    await _complexes(ports)
    yoga = await ports.catalog.complexes_with_sports(["yoga"], PageRequest(0, 10))
    assert [c.code for c in yoga.items] == ["c-other", "c-zero", "c-a"]
    either = await ports.catalog.complexes_with_sports(["boxing", "yoga"], PageRequest(0, 2))
    assert [c.code for c in either.items] == ["c-first", "c-other"]
    assert either.total == 4
    none = await ports.catalog.complexes_with_sports([], PageRequest(0, 10))
    assert none.total == 0
    assert list(none.items) == []


async def test_list_complexes_in_catalog_order(ports: Ports) -> None:
    await _complexes(ports)
    active = await ports.catalog.list_complexes()
    assert [c.code for c in active] == ["c-first", "c-other", "c-zero", "c-a", "c-b"]
    everything = await ports.catalog.list_complexes(include_inactive=True)
    assert "c-closed" in [c.code for c in everything]
    assert len(everything) == 6


async def test_a_complex_without_location_or_texts_round_trips(ports: Ports) -> None:
    c = replace(complex_("c1"), location=None, phone=None, email=None, website=None)
    c = replace(c, hours=LocalizedText(), description=LocalizedText())
    await ports.catalog.upsert_complex(c)
    assert await ports.catalog.get_complex("c1") == c
    await ports.catalog.upsert_district(District("d", LocalizedText()))
    await ports.catalog.upsert_sport(Sport("s", LocalizedText({"en": "Only English"})))
    assert await ports.catalog.get_district("d") == District("d", LocalizedText())
    stored = await ports.catalog.get_sport("s")
    assert stored is not None
    assert stored.name.get("ru") == "Only English"

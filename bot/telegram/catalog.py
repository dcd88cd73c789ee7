"""Catalog: districts, complexes of a district, the complex card, search by sports, nearest."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.domain.catalog import Complex, GeoPoint
from bot.domain.errors import NotFound
from bot.domain.paging import PageRequest
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog, keyboards
from bot.telegram.actions import ApplicationAction, CatalogAction, SessionAction
from bot.telegram.callbacks import Callback, OutdatedButton, day_ref
from bot.telegram.context import FokContext
from bot.telegram.keyboards import button, in_pairs, inline, menu_row, pager_row
from bot.telegram.routing import ANY_STEP, Routes, Step
from bot.telegram.screens import Screen, answer, chat_id, send, show, user_id
from bot.telegram.texts import Markup, join, m, t

PAGE_SIZE = 8
DISTRICT_PAGE_SIZE = 6
MAX_PAGE = 1000


def _page(data: Callback, index: int, size: int = PAGE_SIZE) -> PageRequest:
    return PageRequest(page=data.int_arg(index, high=MAX_PAGE), size=size)


async def districts(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    page = await context.services.catalog.districts(_page(data, 0, DISTRICT_PAGE_SIZE))
    if page.total == 0:
        await show(
            update,
            context,
            Screen(t(language, "catalog.no_districts"), keyboards.back_to_menu(language)),
        )
        return
    items = [
        button(f"📍 {d.name.get(language)}", CatalogAction.DISTRICT, d.code, 0) for d in page.items
    ]
    rows = [
        *in_pairs(items),
        pager_row(language, page, CatalogAction.DISTRICTS),
        menu_row(language),
    ]
    await show(update, context, Screen(t(language, "catalog.districts"), inline(rows)))


async def district(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    code = data.arg(0)
    found = await context.services.catalog.district(code)
    page = await context.services.catalog.complexes_in_district(code, _page(data, 1))
    back = [button(t(language, "catalog.to_districts"), CatalogAction.DISTRICTS, 0)]
    if page.total == 0:
        text = t(language, "catalog.district_empty", district=found.name.get(language))
        await show(update, context, Screen(text, inline([back, menu_row(language)])))
        return
    rows = [[button(f"🏢 {c.name.get(language)}", CatalogAction.CARD, c.code)] for c in page.items]
    rows += [pager_row(language, page, CatalogAction.DISTRICT, code), back, menu_row(language)]
    text = t(language, "catalog.district", district=found.name.get(language), total=page.total)
    await show(update, context, Screen(text, inline(rows)))


async def card_screen(context: FokContext, complex_: Complex) -> Screen:
    language = context.language
    services = context.services
    try:
        district_name = (await services.catalog.district(complex_.district)).name.get(language)
    except NotFound:
        district_name = complex_.district
    names = []
    for code in complex_.sports:
        try:
            sport = await services.catalog.sport(code)
            names.append(f"{sport.icon} {sport.name.get(language)}".strip())
        except NotFound:
            continue
    not_specified = t(language, "catalog.not_specified")
    description = complex_.description.get(language)
    text = t(
        language,
        "catalog.card",
        name=complex_.name.get(language),
        district=district_name,
        address=complex_.address.get(language) or not_specified,
        phone=complex_.phone or not_specified,
        hours=complex_.hours.get(language) or not_specified,
        sports=", ".join(names) or not_specified,
        description=m(language, "catalog.card_description", text=description)
        if description
        else Markup(""),
    )
    today = services.clock.now().astimezone(ZoneInfo(complex_.timezone)).date()
    rows = [
        [
            button(t(language, "catalog.apply"), ApplicationAction.NEW, complex_.code),
            button(
                t(language, "catalog.schedule"),
                SessionAction.DAY,
                complex_.code,
                day_ref(today),
                "-",
            ),
        ],
        [button(t(language, "catalog.map"), CatalogAction.MAP, complex_.code)]
        if complex_.location is not None
        else [],
        [button(t(language, "catalog.to_district"), CatalogAction.DISTRICT, complex_.district, 0)],
        menu_row(language),
    ]
    return Screen(text, inline(rows))


async def card(update: Update, context: FokContext, data: Callback) -> None:
    complex_ = await context.services.catalog.complex(data.arg(0))
    await show(update, context, await card_screen(context, complex_))


async def map_location(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    complex_ = await context.services.catalog.complex(data.arg(0))
    if complex_.location is None:
        await answer(update, context, t(language, "catalog.no_location"), alert=True)
        return
    await answer(update, context)
    await context.bot.send_venue(
        chat_id(update),
        latitude=complex_.location.lat,
        longitude=complex_.location.lon,
        title=complex_.name.get(language)[:128],
        address=complex_.address.get(language)[:256] or complex_.name.get(language)[:256],
    )


# --- search by sports --------------------------------------------------------------------


async def _picked(context: FokContext, update: Update) -> list[str]:
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    picked = state.data.get(dialog.SEARCH_SPORTS) or []
    return [str(code) for code in picked]


async def _selector_screen(context: FokContext, picked: list[str]) -> Screen:
    language = context.language
    sports = await context.services.catalog.sports()
    items = [
        button(
            f"{'✅' if s.code in picked else '⬜'} {s.icon} {s.name.get(language)}".replace(
                "  ", " "
            ),
            CatalogAction.TOGGLE_SPORT,
            s.code,
        )
        for s in sports
        if s.active
    ]
    rows = in_pairs(items)
    if picked:
        rows.append(
            [
                button(t(language, "search.find"), CatalogAction.SEARCH_RESULTS, 0),
                button(t(language, "search.clear"), CatalogAction.CLEAR_SPORTS),
            ]
        )
    rows.append(menu_row(language))
    return Screen(t(language, "search.choose"), inline(rows))


async def search(update: Update, context: FokContext, _: Callback) -> None:
    await show(update, context, await _selector_screen(context, await _picked(context, update)))


async def toggle_sport(update: Update, context: FokContext, data: Callback) -> None:
    code = data.arg(0)
    sport = await context.services.catalog.sport(code)

    def toggle(state: DialogState) -> tuple[str, dict[str, Any]]:
        picked = [str(c) for c in state.data.get(dialog.SEARCH_SPORTS) or []]
        picked = (
            [c for c in picked if c != sport.code]
            if sport.code in picked
            else [*picked, sport.code]
        )
        return state.step, {**state.data, dialog.SEARCH_SPORTS: picked[:12]}

    state = await dialog.change(context.services.dialogs, chat_id(update), user_id(update), toggle)
    picked = [str(c) for c in state.data.get(dialog.SEARCH_SPORTS) or []]
    await show(update, context, await _selector_screen(context, picked))


async def clear_sports(update: Update, context: FokContext, _: Callback) -> None:
    def clear(state: DialogState) -> tuple[str, dict[str, Any]]:
        return state.step, {**state.data, dialog.SEARCH_SPORTS: []}

    await dialog.change(context.services.dialogs, chat_id(update), user_id(update), clear)
    await show(update, context, await _selector_screen(context, []))


async def search_results(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    picked = await _picked(context, update)
    page = await context.services.catalog.search_by_sports(picked, _page(data, 0))
    names = []
    for code in picked:
        try:
            names.append((await context.services.catalog.sport(code)).name.get(language))
        except NotFound:
            continue
    back = [button(t(language, "search.to_search"), CatalogAction.SEARCH)]
    if page.total == 0:
        text = t(language, "search.nothing", sports=", ".join(names))
        await show(update, context, Screen(text, inline([back, menu_row(language)])))
        return
    rows = [[button(f"🏢 {c.name.get(language)}", CatalogAction.CARD, c.code)] for c in page.items]
    rows += [pager_row(language, page, CatalogAction.SEARCH_RESULTS), back, menu_row(language)]
    text = t(language, "search.results", sports=", ".join(names), total=page.total)
    await show(update, context, Screen(text, inline(rows)))


# --- nearest -----------------------------------------------------------------------------


async def nearest_prompt(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.NEAREST_LOCATION
    )
    await answer(update, context)
    await send(
        update, context, Screen(t(language, "nearest.ask"), keyboards.location_request(language))
    )


async def on_location(update: Update, context: FokContext, _: DialogState) -> None:
    message = update.effective_message
    if message is None or message.location is None:
        return
    language = context.language
    try:
        origin = GeoPoint(message.location.latitude, message.location.longitude)
    except ValueError as error:
        raise OutdatedButton("location out of range") from error
    found = await context.services.catalog.nearest(origin, limit=5)
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    if not found:
        await send(
            update, context, Screen(t(language, "nearest.none"), keyboards.back_to_menu(language))
        )
        return
    lines = [
        m(
            language,
            "nearest.line",
            index=i + 1,
            name=n.complex.name.get(language),
            distance=f"{n.distance_km:.1f}",
        )
        for i, n in enumerate(found)
    ]
    rows = [
        [button(f"🏢 {n.complex.name.get(language)}", CatalogAction.CARD, n.complex.code)]
        for n in found
    ]
    rows.append(menu_row(language))
    await send(
        update, context, Screen(t(language, "nearest.results", lines=join(lines)), inline(rows))
    )


ROUTES = Routes(
    CatalogAction,
    {
        CatalogAction.DISTRICTS: districts,
        CatalogAction.DISTRICT: district,
        CatalogAction.CARD: card,
        CatalogAction.MAP: map_location,
        CatalogAction.SEARCH: search,
        CatalogAction.TOGGLE_SPORT: toggle_sport,
        CatalogAction.CLEAR_SPORTS: clear_sports,
        CatalogAction.SEARCH_RESULTS: search_results,
        CatalogAction.NEAREST: nearest_prompt,
    },
    steps=(
        Step(dialog.NEAREST_LOCATION, cancellable=True),
        # A shared location means "what is near here" whatever the dialog was waiting for.
        Step(ANY_STEP, location=on_location),
    ),
)

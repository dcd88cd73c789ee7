"""Display names of catalog entries, tolerant of entries removed since a record was made."""

from __future__ import annotations

from bot.domain.catalog import Complex
from bot.domain.errors import NotFound
from bot.telegram.context import View


async def complex_name(context: View, code: str) -> str:
    try:
        return (await context.services.catalog.complex(code)).name.get(context.language)
    except NotFound:
        return code


async def sport_name(context: View, code: str) -> str:
    try:
        sport = await context.services.catalog.sport(code)
    except NotFound:
        return code
    return sport.name.get(context.language)


async def complex_or_none(context: View, code: str) -> Complex | None:
    try:
        return await context.services.catalog.complex(code)
    except NotFound:
        return None

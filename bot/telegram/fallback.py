"""Whatever no feature claims: unknown text, commands and buttons get a helpful answer."""

from __future__ import annotations

from telegram import Update

from bot.telegram import keyboards
from bot.telegram.context import FokContext
from bot.telegram.screens import Screen, guarded, refuse, send
from bot.telegram.texts import t


async def _unknown_input(update: Update, context: FokContext) -> None:
    language = context.language
    await send(
        update, context, Screen(t(language, "fallback.unknown"), keyboards.main_menu(language))
    )


async def unknown_input(update: Update, context: FokContext) -> None:
    await guarded(_unknown_input)(update, context)


async def _outdated_button(update: Update, context: FokContext) -> None:
    await refuse(update, context, t(context.language, "fallback.outdated"))


outdated_button = guarded(_outdated_button)

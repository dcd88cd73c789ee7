"""/help and the «ℹ️ Помощь» button."""

from __future__ import annotations

from telegram import Update

from bot.telegram import keyboards
from bot.telegram.actions import HelpAction
from bot.telegram.callbacks import Callback
from bot.telegram.context import FokContext
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, guarded, show
from bot.telegram.texts import t


def help_screen(language: str) -> Screen:
    return Screen(t(language, "help.text"), keyboards.back_to_menu(language))


async def _help(update: Update, context: FokContext) -> None:
    await show(update, context, help_screen(context.language))


help_command = guarded(_help)


async def help_button(update: Update, context: FokContext, _: Callback) -> None:
    await _help(update, context)


ROUTES = Routes(HelpAction, {HelpAction.OPEN: help_button})

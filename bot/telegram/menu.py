"""The main menu: /menu and the «🏠 Главное меню» button."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from bot.domain.catalog import DEFAULT_TIMEZONE
from bot.domain.users import User
from bot.telegram import dialog, keyboards
from bot.telegram.actions import MenuAction, StaffAction
from bot.telegram.callbacks import Callback
from bot.telegram.context import FokContext
from bot.telegram.keyboards import button
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, chat_id, guarded, show, user_id
from bot.telegram.texts import greeting_key, m, t


def _keyboard(user: User) -> InlineKeyboardMarkup:
    """The menu; staff get «🛠 Управление» (the panel re-checks the role when opened)."""
    menu = keyboards.main_menu(user.language)
    if not user.is_staff or user.blocked:
        return menu
    staff_row = [button(t(user.language, "staff.menu_entry"), StaffAction.HUB)]
    return InlineKeyboardMarkup([*menu.inline_keyboard, staff_row])


def main_menu_screen(context: FokContext, user: User) -> Screen:
    language = user.language
    if not user.is_registered or not user.name:
        return Screen(t(language, "menu.title_guest"), _keyboard(user))
    hour = context.services.clock.now().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).hour
    text = t(language, "menu.title", greeting=m(language, greeting_key(hour)), name=user.name)
    return Screen(text, _keyboard(user))


async def _open(update: Update, context: FokContext) -> None:
    # Opening the menu abandons any half-typed input (a name, a comment).
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    await show(update, context, main_menu_screen(context, context.resident))


menu_command = guarded(_open)


async def menu_button(update: Update, context: FokContext, _: Callback) -> None:
    await _open(update, context)


ROUTES = Routes(MenuAction, {MenuAction.OPEN: menu_button})

"""Profile: name, phone, language, notification preferences, deleting my data."""

from __future__ import annotations

from telegram import Update

from bot.domain.errors import ValidationFailed
from bot.domain.users import User
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog, keyboards
from bot.telegram.actions import ProfileAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import button, inline, menu_row
from bot.telegram.phone import save_shared_phone
from bot.telegram.routing import ANY_STEP, Routes, Step
from bot.telegram.screens import Screen, chat_id, error_text, send, show, user_id
from bot.telegram.texts import t

_TOGGLES = {"r": "reminders", "a": "application_updates", "b": "broadcasts"}


def _mark(enabled: bool) -> str:
    return "✅" if enabled else "⬜"


def profile_screen(user: User) -> Screen:
    language = user.language
    prefs = user.notifications
    text = t(
        language,
        "profile.card",
        name=user.name or "—",
        phone=user.phone or t(language, "profile.no_phone"),
        lang_name=t(language, "profile.language_name"),
        reminders=_mark(prefs.reminders),
        updates=_mark(prefs.application_updates),
        broadcasts=_mark(prefs.broadcasts),
    )
    other = "en" if language == "ru" else "ru"
    rows = [
        [
            button(t(language, "profile.edit_name"), ProfileAction.NAME),
            button(t(language, "profile.edit_phone"), ProfileAction.PHONE),
        ],
        [button(t(language, "profile.language"), ProfileAction.LANGUAGE, other)],
        [
            button(
                t(language, "profile.toggle_reminders", mark=_mark(prefs.reminders)),
                ProfileAction.TOGGLE,
                "r",
            ),
            button(
                t(language, "profile.toggle_updates", mark=_mark(prefs.application_updates)),
                ProfileAction.TOGGLE,
                "a",
            ),
        ],
        [
            button(
                t(language, "profile.toggle_broadcasts", mark=_mark(prefs.broadcasts)),
                ProfileAction.TOGGLE,
                "b",
            )
        ],
        [button(t(language, "profile.delete"), ProfileAction.DELETE)],
        menu_row(language),
    ]
    return Screen(text, inline(rows))


async def view(update: Update, context: FokContext, _: Callback) -> None:
    user = await context.services.users.profile(context.resident)
    await show(update, context, profile_screen(user))


async def ask_name(update: Update, context: FokContext, _: Callback) -> None:
    await context.services.users.profile(context.resident)
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.PROFILE_NAME
    )
    back = inline([[button(t(context.language, "nav.back"), ProfileAction.VIEW)]])
    await show(update, context, Screen(t(context.language, "profile.ask_name"), back))


async def on_name(update: Update, context: FokContext, text: str, _: DialogState) -> None:
    language = context.language
    try:
        user = await context.services.users.set_name(context.resident, text)
    except ValidationFailed as error:
        await send(update, context, Screen(error_text(language, error)))
        return
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    screen = profile_screen(user)
    note = t(language, "profile.name_saved", name=user.name or "")
    await send(update, context, Screen(note + "\n\n" + screen.text, screen.markup))


async def ask_phone(update: Update, context: FokContext, _: Callback) -> None:
    await context.services.users.profile(context.resident)
    language = context.language
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.PROFILE_PHONE
    )
    await send(
        update,
        context,
        Screen(
            t(language, "profile.ask_phone"), keyboards.phone_request(language, skippable=False)
        ),
    )


async def on_contact(update: Update, context: FokContext, _: DialogState) -> None:
    user = await save_shared_phone(update, context, skippable=False)
    if user is None:
        return
    language = context.language
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    screen = profile_screen(user)
    note = t(language, "phone.saved", phone=user.phone or "")
    await send(update, context, Screen(note + "\n\n" + screen.text, screen.markup))


async def set_language(update: Update, context: FokContext, data: Callback) -> None:
    user = await context.services.users.set_language(context.resident, data.arg(0))
    context.resident = user
    await show(update, context, profile_screen(user))


async def toggle_notification(update: Update, context: FokContext, data: Callback) -> None:
    field = _TOGGLES.get(data.arg(0))
    if field is None:
        raise OutdatedButton("unknown notification kind")
    updated = await context.services.users.toggle_notification(context.resident, field)
    await show(update, context, profile_screen(updated))


async def ask_delete(update: Update, context: FokContext, _: Callback) -> None:
    await context.services.users.profile(context.resident)
    language = context.language
    rows = [
        [
            button(t(language, "profile.yes_delete"), ProfileAction.CONFIRM_DELETE),
            button(t(language, "profile.no_keep"), ProfileAction.VIEW),
        ]
    ]
    await show(update, context, Screen(t(language, "profile.confirm_delete"), inline(rows)))


async def confirm_delete(update: Update, context: FokContext, _: Callback) -> None:
    await context.services.users.delete_my_data(context.resident)
    await context.services.dialogs.clear(chat_id(update), user_id(update))
    await show(update, context, Screen(t(context.language, "profile.deleted")))


async def on_phone_text(update: Update, context: FokContext, _: str, __: DialogState) -> None:
    """Typed text where the contact button is expected: ask for the contact again."""
    language = context.language
    await send(
        update,
        context,
        Screen(
            t(language, "profile.ask_phone"), keyboards.phone_request(language, skippable=False)
        ),
    )


ROUTES = Routes(
    ProfileAction,
    {
        ProfileAction.VIEW: view,
        ProfileAction.NAME: ask_name,
        ProfileAction.PHONE: ask_phone,
        ProfileAction.LANGUAGE: set_language,
        ProfileAction.TOGGLE: toggle_notification,
        ProfileAction.DELETE: ask_delete,
        ProfileAction.CONFIRM_DELETE: confirm_delete,
    },
    steps=(
        Step(dialog.PROFILE_NAME, text=on_name),
        Step(dialog.PROFILE_PHONE, text=on_phone_text, contact=on_contact, cancellable=True),
        # The user's own contact shared outside any phone step becomes their phone.
        Step(ANY_STEP, contact=on_contact),
    ),
)

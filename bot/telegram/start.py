"""/start: registration (name, own phone or skip, consent) and, for registered users, the menu."""

from __future__ import annotations

from telegram import Update

from bot.domain.errors import ValidationFailed
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog, keyboards
from bot.telegram.actions import StartAction
from bot.telegram.callbacks import Callback
from bot.telegram.context import FokContext
from bot.telegram.keyboards import button, inline
from bot.telegram.menu import main_menu_screen
from bot.telegram.phone import save_shared_phone
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, chat_id, error_text, guarded, send, show, user_id
from bot.telegram.texts import is_button_text, t


async def _start(update: Update, context: FokContext) -> None:
    user = context.resident
    store = context.services.dialogs
    if user.is_registered and user.name:
        await dialog.leave(store, chat_id(update), user_id(update))
        await send(update, context, main_menu_screen(context, user))
        return
    user = await context.services.users.begin_registration(user)
    await _ask_name(update, context, t(user.language, "start.greeting"))


start_command = guarded(_start)


async def on_name(update: Update, context: FokContext, text: str, _: DialogState) -> None:
    language = context.language
    resident = context.resident
    if resident.name is not None and is_button_text(text, "button.skip"):
        # The phone step's «Пропустить», met at the name step: the step had been lost.
        await _ask_consent(update, context, t(language, "start.phone_skipped"))
        return
    try:
        user = await context.services.users.set_name(resident, text)
    except ValidationFailed as error:
        await send(update, context, Screen(error_text(language, error)))
        return
    if user.phone is not None:  # shared before the name: registration's last step is next
        await _ask_consent(update, context, t(language, "start.nice_to_meet", name=user.name or ""))
        return
    await dialog.enter(context.services.dialogs, chat_id(update), user_id(update), dialog.REG_PHONE)
    await send(
        update,
        context,
        Screen(
            t(language, "start.ask_phone", name=user.name or ""),
            keyboards.phone_request(language, skippable=True),
        ),
    )


def consent_screen(language: str) -> Screen:
    return Screen(
        t(language, "start.ask_consent"),
        inline(
            [
                [
                    button(t(language, "start.agree"), StartAction.CONSENT_GIVEN),
                    button(t(language, "start.disagree"), StartAction.CONSENT_REFUSED),
                ]
            ]
        ),
    )


async def on_phone_text(update: Update, context: FokContext, text: str, _: DialogState) -> None:
    """In the phone step only «Пропустить» is typed text we accept."""
    language = context.language
    if is_button_text(text, "button.skip"):
        await _ask_consent(update, context, t(language, "start.phone_skipped"))
        return
    await send(
        update,
        context,
        Screen(t(language, "start.use_buttons"), keyboards.phone_request(language, skippable=True)),
    )


async def on_contact(update: Update, context: FokContext, _: DialogState) -> None:
    user = await save_shared_phone(update, context, skippable=True)
    if user is None:
        return
    language = context.language
    saved = t(language, "phone.saved", phone=user.phone or "")
    if user.name is None:  # shared before the name was typed: ask for it
        await _ask_name(update, context, saved + "\n\n" + t(language, "start.ask_name_after_phone"))
        return
    await _ask_consent(update, context, saved)


async def _ask_name(update: Update, context: FokContext, text: str) -> None:
    await dialog.enter(context.services.dialogs, chat_id(update), user_id(update), dialog.REG_NAME)
    await send(update, context, Screen(text, keyboards.remove_reply_keyboard()))


async def _ask_consent(update: Update, context: FokContext, note: str) -> None:
    language = context.language
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.REG_CONSENT
    )
    consent = consent_screen(language)
    # One message, not two: the per-chat send budget is one message a second.
    await send(update, context, Screen(note + "\n\n" + consent.text, consent.markup))


async def consent_given(update: Update, context: FokContext, _: Callback) -> None:
    user = await context.services.users.complete_registration(context.resident, consent=True)
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    done = "start.done" if user.phone else "start.done_no_phone"
    menu = main_menu_screen(context, user)
    await show(update, context, Screen(t(user.language, done) + "\n\n" + menu.text, menu.markup))


async def consent_refused(update: Update, context: FokContext, _: Callback) -> None:
    await context.services.users.abandon_registration(context.resident)
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    await show(update, context, Screen(t(context.language, "start.consent_declined")))


ROUTES = Routes(
    StartAction,
    {StartAction.CONSENT_GIVEN: consent_given, StartAction.CONSENT_REFUSED: consent_refused},
    steps=(
        # A contact is taken at every step of registration: its steps are Redis writes, and a
        # failover may take the last one back (bot.telegram.dialog.resumed).
        Step(dialog.REG_NAME, text=on_name, contact=on_contact),
        Step(dialog.REG_PHONE, text=on_phone_text, contact=on_contact),
        Step(dialog.REG_CONSENT, contact=on_contact),  # otherwise answered by its buttons
    ),
)

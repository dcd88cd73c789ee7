"""Typed text, shared contacts and locations: what they mean depends on the dialog step.

The step is read from Redis on every update (never from process memory), so consecutive messages
of one user may be handled by different bot instances.
"""

from __future__ import annotations

from telegram import Update

from bot.telegram import applications, catalog, dialog, fallback, keyboards, profile, start
from bot.telegram.context import FokContext
from bot.telegram.menu import main_menu_screen
from bot.telegram.screens import Screen, chat_id, guarded, send, user_id
from bot.telegram.texts import is_button_text, t

_CANCELLABLE_STEPS = {dialog.APPLY_PHONE, dialog.PROFILE_PHONE, dialog.NEAREST_LOCATION}


async def _on_text(update: Update, context: FokContext) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = message.text
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    step = state.step
    if step in _CANCELLABLE_STEPS and is_button_text(text, "button.cancel_input"):
        await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
        language = context.language
        await send(
            update,
            context,
            Screen(
                t(language, "apply.input_cancelled")
                + "\n\n"
                + main_menu_screen(context, context.resident).text,
                keyboards.remove_reply_keyboard(),
            ),
        )
        return
    if step == dialog.REG_NAME:
        await start.on_name(update, context, text)
    elif step == dialog.REG_PHONE:
        await start.on_phone_text(update, context, text)
    elif step == dialog.APPLY_COMMENT:
        await applications.on_comment(update, context, text, state)
    elif step == dialog.PROFILE_NAME:
        await profile.on_name(update, context, text)
    elif step in (dialog.APPLY_PHONE, dialog.PROFILE_PHONE):
        language = context.language
        await send(
            update,
            context,
            Screen(
                t(
                    language,
                    "apply.need_phone" if step == dialog.APPLY_PHONE else "profile.ask_phone",
                ),
                keyboards.phone_request(language, skippable=False),
            ),
        )
    else:
        await fallback.unknown_input(update, context)


async def _on_contact(update: Update, context: FokContext) -> None:
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    if state.step == dialog.REG_PHONE:
        await start.on_contact(update, context)
    elif state.step == dialog.APPLY_PHONE:
        await applications.on_contact(update, context, state)
    else:
        await profile.on_contact(update, context)


on_text = guarded(_on_text)
on_contact = guarded(_on_contact)
on_location = guarded(catalog.on_location)

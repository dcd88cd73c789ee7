"""Saving a phone shared with the contact button: one step used by registration, the profile and
an application that needs a phone on the spot."""

from __future__ import annotations

from telegram import Update

from bot.domain.errors import ValidationFailed
from bot.domain.users import User
from bot.telegram import keyboards
from bot.telegram.context import FokContext
from bot.telegram.screens import Screen, error_text, send


async def save_shared_phone(update: Update, context: FokContext, *, skippable: bool) -> User | None:
    """The sender's own contact becomes their phone; otherwise say why and ask again (None)."""
    message = update.effective_message
    if message is None or message.contact is None:
        return None
    try:
        return await context.services.users.set_phone_from_contact(
            context.resident, message.contact.user_id, message.contact.phone_number
        )
    except ValidationFailed as error:
        language = context.language
        await send(
            update,
            context,
            Screen(
                error_text(language, error), keyboards.phone_request(language, skippable=skippable)
            ),
        )
        return None

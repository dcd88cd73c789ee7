"""Runs before every handler: flood control, the sender's record, and refusing blocked users.

Throttled users get one polite notice per throttling episode, not one per update: the time until
which the notice stands is kept in the dialog state (shared by every instance).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.services.ports.ephemeral import DialogStateConflict
from bot.telegram import dialog
from bot.telegram.context import FokContext
from bot.telegram.screens import answer, refuse
from bot.telegram.texts import language_of, pick_text_language, t

log = logging.getLogger(__name__)


async def gate(update: Update, context: FokContext) -> None:
    sender = update.effective_user
    chat = update.effective_chat
    if sender is None or chat is None or sender.is_bot:
        raise ApplicationHandlerStop  # channel posts, service updates: nothing to do for us
    services = context.services
    verdict = await services.flood.hit(sender.id)
    if not verdict.allowed:
        await _throttled(
            update, context, sender.id, chat.id, verdict.retry_after_s, sender.language_code
        )
        raise ApplicationHandlerStop
    user = await services.users.touch(sender.id, sender.language_code)
    context.resident = user
    if user.blocked:
        await refuse(update, context, t(user.language, "refuse.blocked"))
        raise ApplicationHandlerStop


async def _throttled(
    update: Update,
    context: FokContext,
    user_id: int,
    chat_id: int,
    retry_after_s: float,
    language_code: str | None,
) -> None:
    services = context.services
    language = language_of(pick_text_language(language_code))
    now = services.clock.now().timestamp()
    state = await dialog.load(services.dialogs, chat_id, user_id)
    notice_until = float(state.data.get(dialog.FLOOD_NOTICE_UNTIL) or 0)
    if notice_until > now:
        await answer(update, context)  # a pressed button must still stop spinning
        return
    data: dict[str, Any] = {
        **state.data,
        dialog.FLOOD_NOTICE_UNTIL: now + max(retry_after_s, 1.0) + 5.0,
    }
    try:
        await services.dialogs.set_if_version(chat_id, user_id, state.step, data, state.version)
    except DialogStateConflict:
        # Another instance is handling this user's burst right now and will say it.
        await answer(update, context)
        return
    await refuse(update, context, t(language, "refuse.flood"))

"""A person blocks or unblocks the bot: Telegram's ``my_chat_member`` update for their chat.

A block (``kicked``) marks them unreachable, so nothing more is sent to them; an unblock
(``member``) makes them reachable again (any later update of theirs does too, in
``UserService.touch``). Handled ahead of the gate and nothing else: neither flood control nor the
refusal of blocked users stands in the way, and nothing is sent back to someone who just blocked
the bot.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ApplicationHandlerStop

from bot.telegram.context import FokContext

# Before the gate (group -1): the change is recorded whatever the gate would decide.
MEMBERSHIP_GROUP = -2


async def on_my_chat_member(update: Update, context: FokContext) -> None:
    changed = update.my_chat_member
    if changed is not None and changed.chat.type == ChatType.PRIVATE:
        status = changed.new_chat_member.status
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.MEMBER):
            await context.services.users.record_bot_blocked(
                changed.from_user.id, blocked=status == ChatMemberStatus.BANNED
            )
    raise ApplicationHandlerStop  # nothing else is done with this update

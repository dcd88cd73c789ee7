"""What a person does in a Telegram app, turned into updates for the bot."""

from __future__ import annotations

import re
from typing import Any

from telegram_emulator.bot_state import BotState
from telegram_emulator.errors import ApiError, bad_request
from telegram_emulator.html_entities import utf16_length
from telegram_emulator.markup import inline_callback_data
from telegram_emulator.methods import new_callback_query_id
from telegram_emulator.model import CallbackQuery, ChatMessage, User
from telegram_emulator.world import World

_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def command_entities(text: str) -> list[dict[str, Any]]:
    """`bot_command` entities as Telegram's clients add them (offsets in UTF-16 units)."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group(0)),
        }
        for match in _COMMAND.finditer(text)
    ]


class UserActions:
    def __init__(self, world: World) -> None:
        self.world = world

    def _private_or_group(self, bot: BotState, user: User, chat_id: int | None) -> int:
        if chat_id is None or chat_id == user.id:
            if user.id in bot.blocked:
                raise ApiError(409, "Conflict: the user has blocked the bot; unblock it first")
            bot.started.add(user.id)
            return user.id
        group = self.world.groups.get(chat_id)
        if group is None or user.id not in group.member_ids:
            raise bad_request("the user is not a member of that chat")
        return chat_id

    def _user_message(self, bot: BotState, user: User, chat_id: int) -> ChatMessage:
        """A new message from the person; answering hides a one-time reply keyboard."""
        log = bot.chat_log(chat_id)
        if log.reply_keyboard and log.reply_keyboard.get("one_time_keyboard"):
            log.reply_keyboard = None
        return self.world.new_message(bot, chat_id, from_bot=False, sender=user.to_api())

    def _post(self, bot: BotState, chat_id: int, message: ChatMessage) -> dict[str, Any]:
        self.world.add_message(bot, chat_id, message)
        update_id = self.world.enqueue_update(bot, "message", message.to_api(), chat_id)
        return {"message_id": message.message_id, "chat_id": chat_id, "update_id": update_id}

    def send_text(
        self, bot: BotState, user_id: int, text: str, chat_id: int | None = None
    ) -> dict[str, Any]:
        user = self.world.user(user_id)
        if not text.strip():
            raise bad_request("message text is empty")
        target = self._private_or_group(bot, user, chat_id)
        message = self._user_message(bot, user, target)
        message.text = text
        message.entities = command_entities(text)
        return self._post(bot, target, message)

    def send_contact(
        self,
        bot: BotState,
        user_id: int,
        phone_number: str | None = None,
        of_user_id: int | None = None,
        foreign: bool = False,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Share a contact: one's own by default, another known user's, or a foreign card."""
        user = self.world.user(user_id)
        target = self._private_or_group(bot, user, None)
        contact: dict[str, Any]
        if foreign:
            contact = {
                "phone_number": phone_number or "+70000000000",
                "first_name": first_name or "Contact",
            }
        else:
            owner = self.world.user(of_user_id) if of_user_id is not None else user
            contact = {
                "phone_number": phone_number or owner.phone_number,
                "first_name": first_name or owner.first_name,
                "user_id": owner.id,
            }
            if owner.last_name:
                contact["last_name"] = owner.last_name
        message = self._user_message(bot, user, target)
        message.contact = contact
        return self._post(bot, target, message)

    def send_location(
        self, bot: BotState, user_id: int, latitude: float, longitude: float
    ) -> dict[str, Any]:
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise bad_request("wrong location specified")
        user = self.world.user(user_id)
        target = self._private_or_group(bot, user, None)
        message = self._user_message(bot, user, target)
        message.location = {"latitude": latitude, "longitude": longitude}
        return self._post(bot, target, message)

    def press_button(
        self,
        bot: BotState,
        user_id: int,
        message_id: int,
        callback_data: str,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """Press an inline button that the message currently shows; returns the query id."""
        user = self.world.user(user_id)
        target = self._private_or_group(bot, user, chat_id)
        message = bot.chat_log(target).messages.get(message_id)
        if message is None or not message.from_bot:
            raise bad_request("no such bot message in this chat")
        if callback_data not in inline_callback_data(message.reply_markup):
            raise bad_request("the message shows no button with that callback_data")
        query = CallbackQuery(
            id=new_callback_query_id(),
            user_id=user.id,
            chat_id=target,
            message_id=message_id,
            data=callback_data,
            created_at=self.world.clock.now(),
        )
        bot.callback_queries[query.id] = query
        body = {
            "id": query.id,
            "from": user.to_api(),
            "message": message.to_api(),
            "chat_instance": str(abs(hash((bot.bot_id, target))) % 10**18),
            "data": callback_data,
        }
        update_id = self.world.enqueue_update(bot, "callback_query", body, target)
        return {"callback_query_id": query.id, "update_id": update_id}

    def set_blocked(self, bot: BotState, user_id: int, blocked: bool) -> dict[str, Any]:
        """Block or unblock the bot; Telegram tells the bot with a `my_chat_member` update."""
        user = self.world.user(user_id)
        was_blocked = user.id in bot.blocked
        if blocked == was_blocked:
            return {"blocked": blocked, "update_id": None}
        if blocked:
            bot.blocked.add(user.id)
        else:
            bot.blocked.discard(user.id)
            bot.started.add(user.id)
        bot_member = bot.to_api_user()
        body = {
            "chat": self.world.chat_object(user.id),
            "from": user.to_api(),
            "date": int(self.world.clock.now()),
            "old_chat_member": {
                "status": "kicked" if was_blocked else "member",
                "user": bot_member,
                **({"until_date": 0} if was_blocked else {}),
            },
            "new_chat_member": {
                "status": "kicked" if blocked else "member",
                "user": bot_member,
                **({"until_date": 0} if blocked else {}),
            },
        }
        update_id = self.world.enqueue_update(bot, "my_chat_member", body, user.id)
        bot.touch_chat(user.id)
        return {"blocked": blocked, "update_id": update_id}

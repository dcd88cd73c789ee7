"""The Bot API methods, with Telegram's validation, limits and answers."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram_emulator.bot_state import BotState, WebhookSettings
from telegram_emulator.errors import (
    ApiError,
    bad_request,
    conflict,
    method_not_found,
    too_many_requests,
)
from telegram_emulator.html_entities import ParsedText, parse_formatted_text
from telegram_emulator.markup import validate_reply_markup
from telegram_emulator.media import image_size, resolve_input_file
from telegram_emulator.model import ChatMessage
from telegram_emulator.params import Params
from telegram_emulator.rate_limits import BucketSpec, Limit, SendKind, WindowSpec
from telegram_emulator.world import World

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

Handler = Callable[[BotState, Params], Awaitable[Any]]


class BotApi:
    """Executes Bot API calls against the world; every refusal is an `ApiError`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "editmessagecaption": self.edit_message_caption,
            "answercallbackquery": self.answer_callback_query,
            "senddocument": self.send_document,
            "sendphoto": self.send_photo,
            "sendlocation": self.send_location,
            "sendvenue": self.send_venue,
            "deletemessage": self.delete_message,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "getchat": self.get_chat,
            "getfile": self.get_file,
            "sendchataction": self.send_chat_action,
        }

    async def call(self, bot: BotState, method: str, params: Params) -> Any:
        handler = self._handlers.get(method.lower())
        try:
            if handler is None:
                raise method_not_found()
            return await handler(bot, params)
        except ApiError as error:
            if error.error_code == 400:
                bot.counters.rejected_400 += 1
            elif error.error_code == 403:
                bot.counters.rejected_403 += 1
            elif error.error_code == 429:
                bot.counters.rejected_429 += 1
            raise

    # --- shared rules -----------------------------------------------------------------------

    def _chat_id(self, params: Params) -> int:
        value = params.raw("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            raise bad_request("chat not found")
        return params.required_int("chat_id", "chat_id is empty")

    def _admit(
        self, bot: BotState, chat: dict[str, Any], *, is_send: bool, paid: bool = False
    ) -> SendKind:
        """Admit a send (or a counted edit) against the limits of its kind, or raise the 429.

        Every send keeps the per-chat limit (and, into a group, the group's); a bulk send also
        the global rate, a paid broadcast the paid rate instead; ``all_sends_rate``, when set,
        caps them all. A reply (a chat the bot received an update from) has no global limit.
        """
        config = self.world.config
        chat_id = chat["id"]
        kind = bot.send_kind(chat_id, self.world.clock.now(), config.reply_window_s, paid=paid)
        if not is_send and not config.count_edits_in_chat_limit:
            return kind
        specs = [
            BucketSpec(f"chat:{chat_id}", config.chat_rate, float(config.chat_burst), Limit.CHAT)
        ]
        if kind is SendKind.PAID:
            rate = config.paid_broadcast_rate
            specs.append(BucketSpec("paid", rate, max(1.0, rate), Limit.PAID))
        elif kind is SendKind.BULK:
            rate = config.global_rate
            specs.append(BucketSpec("global", rate, max(1.0, rate), Limit.GLOBAL))
        if config.all_sends_rate is not None:
            rate = config.all_sends_rate
            specs.append(BucketSpec("all_sends", rate, max(1.0, rate), Limit.ALL_SENDS))
        windows = []
        if chat["type"] != "private":
            windows.append(WindowSpec(f"group:{chat_id}", config.group_per_minute, 60.0))
        refusal = bot.limiter.admit(specs, windows)
        if refusal is not None:
            bot.count_refusal(refusal)
            raise too_many_requests(refusal.retry_after)
        return kind

    def _text(self, params: Params, name: str = "text") -> tuple[ParsedText, str | None]:
        raw = params.optional_str(name)
        parse_mode = params.optional_str("parse_mode") or None
        entities = params.json_value("entities")
        parsed = parse_formatted_text(raw or "", parse_mode, entities if not parse_mode else None)
        if not parsed.text:
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        html = raw if parse_mode and parse_mode.lower() == "html" else None
        return parsed, html

    def _caption(self, params: Params) -> tuple[ParsedText, str | None]:
        raw = params.optional_str("caption") or ""
        parse_mode = params.optional_str("parse_mode") or None
        entities = params.json_value("caption_entities")
        parsed = parse_formatted_text(raw, parse_mode, entities if not parse_mode else None)
        if len(parsed.text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        html = raw if parse_mode and parse_mode.lower() == "html" else None
        return parsed, html

    def _deliver(
        self,
        bot: BotState,
        chat: dict[str, Any],
        message: ChatMessage,
        markup: dict[str, Any] | None,
        *,
        paid: bool = False,
    ) -> dict[str, Any]:
        """Admit a prepared send against the limits, then show it in the chat."""
        self.world.require_reachable_chat(bot, chat["id"])
        kind = self._admit(bot, chat, is_send=True, paid=paid)
        log = bot.chat_log(chat["id"])
        message.reply_markup = markup
        previous = next(reversed(log.messages.values()), None)
        if (
            previous is not None
            and previous.from_bot
            and previous.content_key() == message.content_key()
            and self.world.clock.now() - previous.created_at <= self.world.config.duplicate_window
        ):
            bot.counters.duplicate_sends_seen += 1
        if markup is not None and "keyboard" in markup:
            log.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            log.reply_keyboard = None
        bot.count_send(self.world.clock.now(), kind)
        self.world.add_message(bot, chat["id"], message)
        return message.to_api()

    def _prepare(self, bot: BotState, params: Params) -> tuple[dict[str, Any], ChatMessage]:
        chat = self.world.chat_object(self._chat_id(params))
        message = self.world.new_message(bot, chat["id"], from_bot=True, sender=bot.to_api_user())
        return chat, message

    def _markup(self, params: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
        return validate_reply_markup(params.json_value("reply_markup"), inline_only=inline_only)

    def _message_for_change(
        self, bot: BotState, params: Params, not_found: str
    ) -> tuple[dict[str, Any], ChatMessage]:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self.world.chat_object(self._chat_id(params))
        message_id = params.required_int("message_id", "message identifier is not specified")
        message = bot.chat_log(chat["id"]).messages.get(message_id)
        if message is None:
            raise bad_request(not_found)
        self.world.require_reachable_chat(bot, chat["id"])
        return chat, message

    # --- identity and webhook ---------------------------------------------------------------

    async def get_me(self, bot: BotState, params: Params) -> Any:
        return {
            **bot.to_api_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def set_webhook(self, bot: BotState, params: Params) -> Any:
        url = params.optional_str("url") or ""
        if params.flag("drop_pending_updates"):
            self._drop_pending(bot)
        if not url:
            bot.webhook = None
            bot.queue_signal.notify()
            return True
        if not url.startswith("https://") and not (
            self.world.config.allow_http_webhooks and url.startswith("http://")
        ):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.optional_str("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.optional_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.json_value("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(item, str) for item in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON array")
        bot.webhook = WebhookSettings(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            allowed_updates=list(allowed) if allowed else None,
        )
        bot.queue_signal.notify()
        return True

    async def delete_webhook(self, bot: BotState, params: Params) -> Any:
        if params.flag("drop_pending_updates"):
            self._drop_pending(bot)
        bot.webhook = None
        bot.queue_signal.notify()
        return True

    def _drop_pending(self, bot: BotState) -> None:
        for update_id in [uid for uid, update in bot.pending.items() if not update.in_flight]:
            del bot.pending[update_id]
        bot.queue_signal.notify()

    async def get_webhook_info(self, bot: BotState, params: Params) -> Any:
        info: dict[str, Any] = {
            "url": bot.webhook.url if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.pending),
        }
        if bot.webhook:
            info["max_connections"] = bot.webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if bot.webhook.allowed_updates:
                info["allowed_updates"] = bot.webhook.allowed_updates
        if bot.last_error_date is not None:
            info["last_error_date"] = bot.last_error_date
            info["last_error_message"] = bot.last_error_message
        return info

    async def get_updates(self, bot: BotState, params: Params) -> Any:
        if bot.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        offset = params.optional_int("offset")
        limit = min(max(params.optional_int("limit") or 100, 1), 100)
        timeout = min(max(params.optional_int("timeout") or 0, 0), 50)
        allowed = params.json_value("allowed_updates")
        if isinstance(allowed, list):
            bot.polling_allowed_updates = [str(item) for item in allowed] or None
        if offset is not None:
            self._confirm_polled(bot, offset)
        # Like Telegram, a newer getUpdates ends an older one still waiting with 409: two
        # instances polling one token is a deployment bug worth failing loudly on.
        bot.poll_generation += 1
        generation = bot.poll_generation
        bot.queue_signal.notify()
        loop_deadline = time.monotonic() + timeout
        while True:
            if bot.poll_generation != generation:
                raise conflict(
                    "terminated by other getUpdates request; "
                    "make sure that only one bot instance is running"
                )
            allowed_now = bot.polling_allowed_updates
            batch = list(
                itertools.islice(
                    (
                        update
                        for update in bot.pending.values()
                        if not allowed_now or update.kind in allowed_now
                    ),
                    limit,
                )
            )
            remaining = loop_deadline - time.monotonic()
            if batch or remaining <= 0 or bot.webhook is not None or self.world.closing:
                now = self.world.clock.now()
                for update in batch:
                    if update.chat_id is not None:
                        bot.handed_over(update.chat_id, now)  # the bot may reply there now
                return [update.payload for update in batch]
            await bot.queue_signal.wait(remaining)

    def _confirm_polled(self, bot: BotState, offset: int) -> None:
        ids = list(bot.pending)
        if offset < 0:
            confirmed = ids[: max(len(ids) + offset, 0)]
        else:
            confirmed = [update_id for update_id in ids if update_id < offset]
        for update_id in confirmed:
            del bot.pending[update_id]
        if confirmed:
            bot.counters.polled_updates += len(confirmed)
            bot.queue_signal.notify()

    # --- sending ----------------------------------------------------------------------------

    async def send_message(self, bot: BotState, params: Params) -> Any:
        chat, message = self._prepare(bot, params)
        parsed, html = self._text(params)
        markup = self._markup(params)
        message.text, message.entities, message.html = parsed.text, parsed.entities, html
        message.parse_mode = params.optional_str("parse_mode") or None
        return self._deliver(bot, chat, message, markup, paid=params.flag("allow_paid_broadcast"))

    def _apply_caption(self, message: ChatMessage, params: Params) -> None:
        parsed, html = self._caption(params)
        message.caption = parsed.text or None
        message.caption_entities = parsed.entities
        message.caption_html = html
        message.parse_mode = params.optional_str("parse_mode") or None

    async def send_document(self, bot: BotState, params: Params) -> Any:
        chat, message = self._prepare(bot, params)
        self._apply_caption(message, params)
        markup = self._markup(params)
        message.document = resolve_input_file(self.world, params, "document", "documents")
        return self._deliver(bot, chat, message, markup)

    async def send_photo(self, bot: BotState, params: Params) -> Any:
        chat, message = self._prepare(bot, params)
        self._apply_caption(message, params)
        markup = self._markup(params)
        message.photo = resolve_input_file(self.world, params, "photo", "photos")
        message.photo_size = image_size(message.photo.content)
        return self._deliver(bot, chat, message, markup)

    def _coordinates(self, params: Params) -> dict[str, float]:
        latitude = params.optional_float("latitude")
        longitude = params.optional_float("longitude")
        if latitude is None or longitude is None:
            raise bad_request("latitude and longitude are required")
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise bad_request("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    async def send_location(self, bot: BotState, params: Params) -> Any:
        chat, message = self._prepare(bot, params)
        message.location = self._coordinates(params)
        return self._deliver(bot, chat, message, self._markup(params))

    async def send_venue(self, bot: BotState, params: Params) -> Any:
        chat, message = self._prepare(bot, params)
        location = self._coordinates(params)
        title = params.optional_str("title") or ""
        address = params.optional_str("address") or ""
        if not title.strip() or not address.strip():
            raise bad_request("venue title and address must be non-empty")
        message.venue = {"location": location, "title": title, "address": address}
        return self._deliver(bot, chat, message, self._markup(params))

    async def send_chat_action(self, bot: BotState, params: Params) -> Any:
        chat = self.world.chat_object(self._chat_id(params))
        self.world.require_reachable_chat(bot, chat["id"])
        if not params.optional_str("action"):
            raise bad_request("action is empty")
        return True

    # --- editing ----------------------------------------------------------------------------

    def _apply_edit(self, bot: BotState, chat: dict[str, Any], message: ChatMessage) -> Any:
        message.edit_date = int(self.world.clock.now())
        bot.counters.edits += 1
        bot.touch_chat(chat["id"])
        return message.to_api()

    async def edit_message_text(self, bot: BotState, params: Params) -> Any:
        chat, message = self._message_for_change(bot, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        parsed, html = self._text(params)
        markup = self._markup(params, inline_only=True)
        if (
            parsed.text == message.text
            and parsed.entities == message.entities
            and markup == _inline_markup(message)
        ):
            raise bad_request(NOT_MODIFIED)
        self._admit(bot, chat, is_send=False)
        message.text, message.entities, message.html = parsed.text, parsed.entities, html
        message.parse_mode = params.optional_str("parse_mode") or None
        message.reply_markup = markup
        return self._apply_edit(bot, chat, message)

    async def edit_message_reply_markup(self, bot: BotState, params: Params) -> Any:
        chat, message = self._message_for_change(bot, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        markup = self._markup(params, inline_only=True)
        if markup == _inline_markup(message):
            raise bad_request(NOT_MODIFIED)
        self._admit(bot, chat, is_send=False)
        message.reply_markup = markup
        return self._apply_edit(bot, chat, message)

    async def edit_message_caption(self, bot: BotState, params: Params) -> Any:
        chat, message = self._message_for_change(bot, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        parsed, html = self._caption(params)
        markup = self._markup(params, inline_only=True)
        if (
            (parsed.text or None) == message.caption
            and parsed.entities == message.caption_entities
            and markup == _inline_markup(message)
        ):
            raise bad_request(NOT_MODIFIED)
        self._admit(bot, chat, is_send=False)
        message.caption = parsed.text or None
        message.caption_entities = parsed.entities
        message.caption_html = html
        message.parse_mode = params.optional_str("parse_mode") or None
        message.reply_markup = markup
        return self._apply_edit(bot, chat, message)

    async def delete_message(self, bot: BotState, params: Params) -> Any:
        chat, message = self._message_for_change(bot, params, "message to delete not found")
        del bot.chat_log(chat["id"]).messages[message.message_id]
        bot.counters.deletes += 1
        bot.touch_chat(chat["id"])
        return True

    async def answer_callback_query(self, bot: BotState, params: Params) -> Any:
        query_id = params.optional_str("callback_query_id") or ""
        query = bot.callback_queries.get(query_id)
        now = self.world.clock.now()
        if (
            query is None
            or query.answered
            or now - query.created_at > self.world.config.callback_answer_timeout
        ):
            raise bad_request(QUERY_INVALID)
        text = params.optional_str("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {
            "callback_query_id": query.id,
            "message_id": query.message_id,
            "text": text or None,
            "show_alert": params.flag("show_alert"),
            "url": params.optional_str("url"),
            "cache_time": params.optional_int("cache_time") or 0,
            "answered_at": now,
        }
        bot.last_callback_answers[query.user_id] = query.answer
        bot.counters.callback_answers += 1
        bot.touch_chat(query.chat_id)
        return True

    # --- bot settings and lookups -----------------------------------------------------------

    def _commands_key(self, params: Params) -> str:
        scope = params.json_value("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope JSON object")
        language = params.optional_str("language_code") or ""
        return f"{scope.get('type', 'default')}:{scope.get('chat_id', '')}:{language}"

    async def set_my_commands(self, bot: BotState, params: Params) -> Any:
        commands = params.json_value("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON array")
        checked: list[dict[str, Any]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_NAME.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("command description is empty or too long")
            checked.append({"command": name, "description": description})
        bot.commands[self._commands_key(params)] = checked
        return True

    async def get_my_commands(self, bot: BotState, params: Params) -> Any:
        return bot.commands.get(self._commands_key(params), [])

    async def delete_my_commands(self, bot: BotState, params: Params) -> Any:
        bot.commands.pop(self._commands_key(params), None)
        return True

    async def get_chat(self, bot: BotState, params: Params) -> Any:
        chat = self.world.chat_object(self._chat_id(params))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    async def get_file(self, bot: BotState, params: Params) -> Any:
        stored = self.world.files.get(params.optional_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {**stored.meta(), "file_path": stored.file_path}


def _inline_markup(message: ChatMessage) -> dict[str, Any] | None:
    markup = message.reply_markup
    return markup if markup and "inline_keyboard" in markup else None


def new_callback_query_id() -> str:
    return str(secrets.randbelow(10**18) + 10**18)

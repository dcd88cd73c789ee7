"""A Bot API at the request layer: no server, no socket.

:class:`RecordingRequest` is a ``telegram.request.BaseRequest`` (PTB's own tests fake the network
the same way): a real ``telegram.Bot`` built with it records every call (method, decoded
parameters, uploaded files) and gets valid Bot API JSON back from :class:`FakeBotApi`, which keeps
the chats' messages so that edits change what a later button press carries, like Telegram does.

It refuses what Telegram refuses, with Telegram's 400 descriptions, so a handler that sends
malformed HTML, an over-long text, a bad keyboard or an unchanged edit fails here too: the HTML
parser and the keyboard checks are the emulator's (``telegram_emulator.html_entities`` and
``.markup``, plain functions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.request import BaseRequest, RequestData

from telegram_emulator.errors import ApiError, bad_request
from telegram_emulator.html_entities import ParsedText, parse_formatted_text
from telegram_emulator.markup import validate_reply_markup

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

JsonDict = dict[str, Any]

BOT_ID = 7_000_000_001
BOT_USERNAME = "fok_handlers_bot"
TOKEN = f"{BOT_ID}:handler-tests-token"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
START = 1_795_000_000  # the "date" of the first message (a Unix time)


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request as the bot made it."""

    method: str
    params: JsonDict
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    error: str | None = None  # the 4xx description when the fake refused it
    result: Any = None  # what the fake answered (a Message dict, True, ...)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class Chat:
    """A private chat with one user: every message in it and the reply keyboard shown."""

    user: JsonDict
    messages: dict[int, JsonDict] = field(default_factory=dict)
    html: dict[int, str] = field(default_factory=dict)  # the HTML a bot message was sent with
    reply_keyboard: JsonDict | None = None

    @property
    def chat(self) -> JsonDict:
        return {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]}


class FakeBotApi:
    """The server side: answers each method with what Telegram would answer."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.chats: dict[int, Chat] = {}
        self.answered: dict[str, int] = {}  # callback query id -> answers received
        self.pending_queries: set[str] = set()
        self._message_ids = 0
        self._tick = 0
        self._methods: dict[str, Callable[[JsonDict, dict[str, tuple[str, bytes]]], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendVenue": self._send_venue,
            "sendLocation": self._send_location,
            "deleteMessage": self._delete_message,
            "setMyCommands": lambda params, files: True,
            "deleteMyCommands": lambda params, files: True,
        }

    @property
    def bot_user(self) -> JsonDict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "ФОК",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # --- what users do (the test side) -----------------------------------------------------

    def add_user(self, user: JsonDict) -> Chat:
        return self.chats.setdefault(user["id"], Chat(user))

    def user_message(self, user_id: int, content: JsonDict) -> JsonDict:
        """A message the user sends (text, contact, location...), stored in the chat."""
        chat = self.chats[user_id]
        message = {
            "message_id": self._next_message_id(),
            "date": self._now(),
            "chat": chat.chat,
            "from": chat.user,
            **content,
        }
        chat.messages[message["message_id"]] = message
        return message

    def callback_query(self, query_id: str, user_id: int, message_id: int, data: str) -> JsonDict:
        chat = self.chats[user_id]
        message = chat.messages.get(message_id)
        if message is None:
            raise AssertionError(f"no message {message_id} in the chat of {user_id}")
        self.pending_queries.add(query_id)
        return {
            "id": query_id,
            "from": chat.user,
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(user_id),
            "data": data,
        }

    # --- the request layer ---------------------------------------------------------------

    def handle(
        self, method: str, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> tuple[int, JsonDict]:
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise ApiError(404, f"Not Found: method {method} is not known to the fake Bot API")
            result = handler(params, files)
        except ApiError as error:
            self.calls.append(ApiCall(method, params, files, error.description))
            return error.error_code, error.to_json()
        self.calls.append(ApiCall(method, params, files, result=result))
        return 200, {"ok": True, "result": result}

    # --- methods -------------------------------------------------------------------------

    def _get_me(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        return self.bot_user

    def _send_message(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        chat = self._chat(params)
        parsed = _text(params, "text", MAX_TEXT_LENGTH)
        markup = validate_reply_markup(_json(params.get("reply_markup")))
        message = self._bot_message(chat, {"text": parsed.text}, parsed, "entities", markup)
        chat.html[message["message_id"]] = str(params.get("text", ""))
        return message

    def _edit_message_text(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        chat, message = self._bot_message_to_change(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        parsed = _text(params, "text", MAX_TEXT_LENGTH)
        markup = validate_reply_markup(_json(params.get("reply_markup")), inline_only=True)
        if (
            parsed.text == message["text"]
            and parsed.entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = parsed.text
        _set_or_drop(message, "entities", parsed.entities or None)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = self._now()
        chat.html[message["message_id"]] = str(params.get("text", ""))
        return message

    def _edit_reply_markup(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        _, message = self._bot_message_to_change(params)
        markup = validate_reply_markup(_json(params.get("reply_markup")), inline_only=True)
        if markup == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = self._now()
        return message

    def _answer_callback_query(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self.pending_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self.answered[query_id] = self.answered.get(query_id, 0) + 1
        if self.answered[query_id] > 1:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    def _send_document(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        chat = self._chat(params)
        if "document" not in files:
            raise bad_request("there is no document in the request")
        filename, content = files["document"]
        parsed = _text(params, "caption", MAX_CAPTION_LENGTH, required=False)
        document = {
            "file_id": f"doc-{self._message_ids + 1}",
            "file_unique_id": f"u-doc-{self._message_ids + 1}",
            "file_name": filename,
            "mime_type": "text/calendar"
            if filename.endswith(".ics")
            else "application/octet-stream",
            "file_size": len(content),
        }
        content_fields: JsonDict = {"document": document}
        if parsed.text:
            content_fields["caption"] = parsed.text
        markup = validate_reply_markup(_json(params.get("reply_markup")))
        return self._bot_message(chat, content_fields, parsed, "caption_entities", markup)

    def _send_photo(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        chat = self._chat(params)
        if "photo" not in files:
            raise bad_request("there is no photo in the request")
        _, content = files["photo"]
        if not content.startswith(b"\x89PNG\r\n\x1a\n") and not content.startswith(b"\xff\xd8"):
            raise bad_request("IMAGE_PROCESS_FAILED")
        parsed = _text(params, "caption", MAX_CAPTION_LENGTH, required=False)
        size = {
            "file_id": f"photo-{self._message_ids + 1}",
            "file_unique_id": f"u-photo-{self._message_ids + 1}",
        }
        content_fields: JsonDict = {
            "photo": [size | {"width": 1, "height": 1, "file_size": len(content)}]
        }
        if parsed.text:
            content_fields["caption"] = parsed.text
        markup = validate_reply_markup(_json(params.get("reply_markup")))
        return self._bot_message(chat, content_fields, parsed, "caption_entities", markup)

    def _send_venue(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        chat = self._chat(params)
        for name in ("latitude", "longitude", "title", "address"):
            if params.get(name) in (None, ""):
                raise bad_request(f"{name} is empty")
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        return self._bot_message(chat, {"venue": venue, "location": location}, None, "", None)

    def _send_location(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        chat = self._chat(params)
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._bot_message(chat, {"location": location}, None, "", None)

    def _delete_message(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        chat, message = self._bot_message_to_change(params)
        del chat.messages[message["message_id"]]
        return True

    # --- helpers -------------------------------------------------------------------------

    def _chat(self, params: JsonDict) -> Chat:
        raw = params.get("chat_id")
        chat = self.chats.get(int(raw)) if raw is not None else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _bot_message_to_change(self, params: JsonDict) -> tuple[Chat, JsonDict]:
        chat = self._chat(params)
        message = chat.messages.get(int(params.get("message_id", 0)))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != BOT_ID:
            raise bad_request("message can't be edited")
        return chat, message

    def _bot_message(
        self,
        chat: Chat,
        content: JsonDict,
        parsed: ParsedText | None,
        entities_field: str,
        markup: JsonDict | None,
    ) -> JsonDict:
        message: JsonDict = {
            "message_id": self._next_message_id(),
            "date": self._now(),
            "chat": chat.chat,
            "from": self.bot_user,
            **content,
        }
        if parsed is not None and parsed.entities:
            message[entities_field] = parsed.entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        elif markup is not None and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        chat.messages[message["message_id"]] = message
        return message

    def _next_message_id(self) -> int:
        self._message_ids += 1
        return self._message_ids

    def _now(self) -> int:
        self._tick += 1
        return START + self._tick


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _set_or_drop(message: JsonDict, name: str, value: object) -> None:
    if value is None:
        message.pop(name, None)
    else:
        message[name] = value


def _text(params: JsonDict, name: str, limit: int, *, required: bool = True) -> ParsedText:
    raw = str(params.get(name) or "")
    parse_mode = params.get("parse_mode") or None
    entities = _json(params.get("entities" if name == "text" else "caption_entities"))
    parsed = parse_formatted_text(raw, parse_mode, entities if not parse_mode else None)
    if required and not parsed.text:
        raise bad_request("message text is empty")
    if len(parsed.text) > limit:
        raise bad_request(
            "message is too long" if name == "text" else "message caption is too long"
        )
    return parsed


class RecordingRequest(BaseRequest):
    """The bot's HTTP layer replaced: every call goes to :class:`FakeBotApi` and is recorded."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: JsonDict = dict(request_data.parameters) if request_data is not None else {}
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for name, upload in request_data.multipart_data.items():
                filename, content = (
                    (upload[0], upload[1]) if isinstance(upload, tuple) else ("", upload)
                )
                data = content if isinstance(content, bytes) else content.read()
                files[name] = (str(filename or name), bytes(data))
        status, body = self.api.handle(api_method, params, files)
        return status, json.dumps(body, ensure_ascii=False).encode("utf-8")

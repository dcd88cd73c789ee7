"""Typed async client of the emulator's client API: act as people, read what they see."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

Message = dict[str, Any]
MessagePredicate = Callable[[Message], bool]


class EmulatorError(Exception):
    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description


class EmulatorClient:
    """One bot's view of the emulator (the token only selects the bot; it is never sent)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.bot_id = int(token.split(":", 1)[0])
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def _bot_path(self, suffix: str) -> str:
        return f"{self.base_url}/_emulator/bots/{self.bot_id}/{suffix}"

    def _user_path(self, user_id: int, action: str) -> str:
        return self._bot_path(f"users/{user_id}/{action}")

    async def _request(
        self,
        method: str,
        url: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        long_poll: float | None = None,
    ) -> Any:
        # A long poll may legitimately take its whole duration: allow that plus a margin.
        request_timeout = httpx.USE_CLIENT_DEFAULT if long_poll is None else long_poll + 10.0
        response = await self._http.request(
            method, url, json=json, params=params, timeout=request_timeout
        )
        body = response.json()
        if not body.get("ok"):
            raise EmulatorError(body.get("error_code", response.status_code), body["description"])
        return body["result"]

    # --- people -----------------------------------------------------------------------------

    async def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
        *,
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> dict[str, Any]:
        payload = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "id": user_id,
            "phone_number": phone_number,
        }
        result: dict[str, Any] = await self._request(
            "POST", f"{self.base_url}/_emulator/users", json=payload
        )
        return result

    async def users(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request(
            "GET", f"{self.base_url}/_emulator/users"
        )
        return result

    async def create_group(self, title: str, member_ids: list[int]) -> dict[str, Any]:
        result: dict[str, Any] = await self._request(
            "POST",
            f"{self.base_url}/_emulator/groups",
            json={"title": title, "member_ids": member_ids},
        )
        return result

    # --- acting as a person -----------------------------------------------------------------

    async def send_text(
        self, user_id: int, text: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Send text (a leading /command gets a bot_command entity); returns message/update ids."""
        result: dict[str, Any] = await self._request(
            "POST", self._user_path(user_id, "text"), json={"text": text, "chat_id": chat_id}
        )
        return result

    async def send_contact(
        self,
        user_id: int,
        phone: str | None = None,
        of_user_id: int | None = None,
        *,
        foreign: bool = False,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Share one's own contact (default), another user's (`of_user_id`), or a card with no
        Telegram account behind it (`foreign=True`, so `contact.user_id` is absent)."""
        result: dict[str, Any] = await self._request(
            "POST",
            self._user_path(user_id, "contact"),
            json={
                "phone_number": phone,
                "of_user_id": of_user_id,
                "foreign": foreign,
                "first_name": first_name,
            },
        )
        return result

    async def send_location(self, user_id: int, lat: float, lon: float) -> dict[str, Any]:
        result: dict[str, Any] = await self._request(
            "POST", self._user_path(user_id, "location"), json={"latitude": lat, "longitude": lon}
        )
        return result

    async def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """Press an inline button the message shows now; returns the callback query id."""
        result = await self._request(
            "POST",
            self._user_path(user_id, "press"),
            json={"message_id": message_id, "callback_data": callback_data, "chat_id": chat_id},
        )
        return str(result["callback_query_id"])

    async def block_bot(self, user_id: int) -> None:
        await self._request("POST", self._user_path(user_id, "block"))

    async def unblock_bot(self, user_id: int) -> None:
        await self._request("POST", self._user_path(user_id, "unblock"))

    # --- reading what a person sees ---------------------------------------------------------

    async def chat_state(
        self, chat_id: int, *, since: int | None = None, wait_seconds: float = 0.0
    ) -> dict[str, Any]:
        """Full chat view (`version`, `messages`, `reply_keyboard`, ...); with `since`, waits up
        to `wait_seconds` for a version newer than `since`."""
        params: dict[str, Any] = {"timeout": wait_seconds}
        if since is not None:
            params["since"] = since
        result: dict[str, Any] = await self._request(
            "GET", self._bot_path(f"chats/{chat_id}"), params=params, long_poll=wait_seconds
        )
        return result

    async def chat(self, user_id: int) -> list[Message]:
        """The private chat with the bot, edits applied and deleted messages gone."""
        messages: list[Message] = (await self.chat_state(user_id))["messages"]
        return messages

    async def bot_messages(self, chat_id: int) -> list[Message]:
        return [message for message in await self.chat(chat_id) if message["from_bot"]]

    async def reply_keyboard(self, user_id: int) -> dict[str, Any] | None:
        keyboard: dict[str, Any] | None = (await self.chat_state(user_id))["reply_keyboard"]
        return keyboard

    async def last_callback_answer(self, user_id: int) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._request(
            "GET", self._user_path(user_id, "callback-answer")
        )
        return result

    async def download(self, file_id_or_message: str | Message) -> bytes:
        if isinstance(file_id_or_message, str):
            file_id = file_id_or_message
        else:
            attached = file_id_or_message.get("document") or file_id_or_message.get("photo")
            if not attached:
                raise ValueError("the message carries no document or photo")
            file_id = attached["file_id"]
        response = await self._http.get(self._bot_path(f"files/{file_id}"))
        if response.status_code != 200:
            raise EmulatorError(response.status_code, response.text)
        return response.content

    async def wait_for(
        self,
        user_id: int,
        predicate_or_count: MessagePredicate | int,
        timeout: float = 10.0,  # noqa: ASYNC109 - the server long-polls; the contract names it
        *,
        chat_id: int | None = None,
    ) -> Message:
        """Wait for a bot message in the chat: the first matching `predicate`, or the N-th bot
        message when given a count. Raises TimeoutError with what the chat showed."""
        target = chat_id if chat_id is not None else user_id
        deadline = time.monotonic() + timeout
        since: int | None = None
        messages: list[Message] = []
        while True:
            remaining = deadline - time.monotonic()
            state = await self.chat_state(
                target, since=since, wait_seconds=max(min(remaining, 20.0), 0.0)
            )
            since = state["version"]
            messages = [message for message in state["messages"] if message["from_bot"]]
            if isinstance(predicate_or_count, int):
                if len(messages) >= predicate_or_count:
                    return messages[predicate_or_count - 1]
            else:
                for message in messages:
                    if predicate_or_count(message):
                        return message
            if time.monotonic() >= deadline:
                shown = [message.get("text") for message in messages]
                raise TimeoutError(
                    f"no matching bot message in chat {target}; bot messages: {shown}"
                )

    async def wait_idle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - server-side wait
        """Return once no update of this bot is pending or in flight."""
        result = await self._request(
            "GET", self._bot_path("idle"), params={"timeout": timeout}, long_poll=timeout
        )
        if not result["idle"]:
            raise TimeoutError(f"{result['pending']} updates still pending after {timeout}s")

    # --- observing the bot ------------------------------------------------------------------

    async def counters(self) -> dict[str, int]:
        result: dict[str, int] = await self._request("GET", self._bot_path("counters"))
        return result

    async def deliveries(self, update_id: int | None = None) -> list[dict[str, Any]]:
        """Every webhook delivery attempt with its outcome (optionally for one update)."""
        params = {"update_id": update_id} if update_id is not None else None
        result: list[dict[str, Any]] = await self._request(
            "GET", self._bot_path("deliveries"), params=params
        )
        return result

    async def webhook_reply_errors(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request(
            "GET", self._bot_path("webhook-reply-errors")
        )
        return result

    async def commands(self) -> dict[str, list[dict[str, str]]]:
        result: dict[str, list[dict[str, str]]] = await self._request(
            "GET", self._bot_path("commands")
        )
        return result

    # --- injected faults (see telegram_emulator/faults.py) -----------------------------------

    async def set_fault(
        self,
        status: int | None = 502,
        *,
        retry_after: int | None = None,
        methods: list[str] | None = None,
        hold: bool = False,
    ) -> dict[str, Any]:
        """Make the Bot API fail: ``status`` (429 needs ``retry_after``, else 5xx) for
        ``methods`` (default: every method); ``hold`` keeps requests waiting until cleared."""
        body: dict[str, Any] = {"status": status, "hold": hold}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if methods is not None:
            body["methods"] = methods
        result: dict[str, Any] = await self._request("POST", self._bot_path("fault"), json=body)
        return result

    async def clear_fault(self) -> dict[str, Any]:
        """Answer normally again; held requests get the fault's error (or run, if it had none)."""
        result: dict[str, Any] = await self._request("DELETE", self._bot_path("fault"))
        return result

    async def fault(self) -> dict[str, Any]:
        """The current fault (or None) and how many requests it holds right now."""
        result: dict[str, Any] = await self._request("GET", self._bot_path("fault"))
        return result

    async def reset(self) -> None:
        """Forget this bot's chats, counters and queued updates (users and webhook stay)."""
        await self._request("POST", self._bot_path("reset"))

"""Helpers for the resident journeys: act as a person in the emulator, read what the bot shows.

The stack itself (emulator, real bot processes, SecantusDB, Redis Cluster) is ``bot_stack`` from
``tests/e2e/conftest.py``. Every test ends with :func:`assert_rendering_clean`: the emulator saw no
request it had to refuse (malformed HTML, over-long text, bad markup).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Bot

from bot.bootstrap import build_services, build_storage
from bot.domain.users import Role
from bot.infra.redis.client import close_redis_cluster, create_redis_cluster
from bot.services.delivery import DeliveryService
from bot.services.ports.system import Clock
from bot.telegram.notice_sender import TelegramNoticeSender
from telegram_emulator.client import EmulatorClient, Message
from telegram_emulator.methods import new_callback_query_id
from telegram_emulator.model import CallbackQuery
from tests.e2e.conftest import BotStack

OWN_PHONE = "+79161234567"


def text_of(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def buttons_of(message: Message) -> list[tuple[str, str]]:
    """(label, callback_data) of every inline button the message shows."""
    markup = message.get("reply_markup") or {}
    found = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if "callback_data" in button:
                found.append((button["text"], button["callback_data"]))
    return found


def button_data(message: Message, label_part: str) -> str:
    for label, data in buttons_of(message):
        if label_part in label:
            return data
    raise AssertionError(f"no button with {label_part!r}; buttons: {buttons_of(message)}")


class Person:
    """One emulated Telegram user talking to the bot."""

    def __init__(self, client: EmulatorClient, user: dict[str, Any]) -> None:
        self.client = client
        self.id: int = user["id"]
        self.user = user

    async def bot_messages(self) -> list[Message]:
        return await self.client.bot_messages(self.id)

    async def last(self) -> Message:
        messages = await self.bot_messages()
        assert messages, "the bot has said nothing yet"
        return messages[-1]

    async def say(self, text: str) -> Message:
        """Send text and return the bot's newest message once the update is processed (the
        webhook is idle only after the bot's sends reached the chat)."""
        await self.client.send_text(self.id, text)
        await self.client.wait_idle(20.0)
        return await self.last()

    async def share_contact(self, **kwargs: Any) -> Message:
        await self.client.send_contact(self.id, **kwargs)
        await self.client.wait_idle(20.0)
        return await self.last()

    async def share_location(self, lat: float, lon: float) -> Message:
        await self.client.send_location(self.id, lat, lon)
        await self.client.wait_idle(20.0)
        return await self.last()

    async def press(self, message: Message, label_part: str) -> Message:
        """Press the button whose label contains ``label_part``; returns that message, re-read
        (edits applied), or the newest bot message when the bot answered with a new one."""
        return await self.press_data(message, button_data(message, label_part))

    async def press_data(self, message: Message, data: str) -> Message:
        count = len(await self.bot_messages())
        await self.client.press_button(self.id, message["message_id"], data)
        await self.client.wait_idle(20.0)
        messages = await self.bot_messages()
        if len(messages) > count:
            return messages[-1]
        return next(m for m in messages if m["message_id"] == message["message_id"])

    async def alert(self) -> str:
        answer = await self.client.last_callback_answer(self.id)
        return str((answer or {}).get("text") or "")

    async def register(self, name: str = "Анна", *, phone: bool = True) -> Message:
        greeting = await self.say("/start")
        assert "как к вам обращаться" in text_of(greeting) or "what should we call you" in text_of(
            greeting
        )
        await self.say(name)
        if phone:
            consent = await self.share_contact()
        else:
            consent = await self.say("Пропустить")
        menu = await self.press(
            consent, "Согласен" if "Согласен" in str(buttons_of(consent)) else "agree"
        )
        return menu


async def new_person(
    client: EmulatorClient,
    first_name: str = "Анна",
    *,
    language: str = "ru",
    phone: str = OWN_PHONE,
) -> Person:
    user = await client.create_user(first_name, language_code=language, phone_number=phone)
    return Person(client, user)


async def assert_rendering_clean(client: EmulatorClient) -> None:
    """No 400 from the emulator: no malformed HTML, no over-long text, no bad markup."""
    counters = await client.counters()
    errors = await client.webhook_reply_errors()
    assert counters.get("rejected_400", 0) == 0, counters
    assert not errors, errors


async def eventually(check: Callable[[], Any], within_s: float = 10.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def number_of(text: str) -> str:
    found = re.search(r"№(\w{6})|#(\w{6})", text)
    assert found, text
    return found.group(1) or found.group(2)


# --- the back office, as the staff side and the workers would act --------------------------


class BackOffice:
    """Services over the stack's database plus a worker-like deliverer (test-side wiring).

    Staff actions (status changes) and worker jobs (delivering the outbox, reminders, expiring
    offers) are not resident journeys; tests trigger them here, through the same services and
    the same Telegram rendering (``TelegramNoticeSender``) the workers use.
    """

    def __init__(self, stack: BotStack, redis_nodes: list[tuple[str, int]]) -> None:
        self._stack = stack
        self.storage = build_storage(stack.mongo_url, stack.db_name, app_name="e2e-backoffice")
        self.redis = create_redis_cluster(redis_nodes, max_connections=8)
        self.services = build_services(self.storage, redis=self.redis)
        self.bot = Bot(stack.token, base_url=f"{stack.emulator.base_url}/bot")

    async def __aenter__(self) -> BackOffice:
        await self.bot.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.shutdown()
        await close_redis_cluster(self.redis)
        await self.storage.close()

    def delivery(self, clock: Clock | None = None) -> DeliveryService:
        services = build_services(self.storage, clock, redis=self.redis) if clock else self.services
        return DeliveryService(
            self.storage.outbox,
            services.reminders,
            self.storage.users,
            self.storage.bookings,
            TelegramNoticeSender(self.services, self.bot),
            applications=self.storage.applications,
            sessions=self.storage.sessions,
            catalog=self.storage.catalog,
        )

    async def deliver_notices(self, expected: int = 1) -> None:
        """Send pending outbox notices, retrying while Telegram's per-chat limit says 429."""
        sent = 0
        for _ in range(20):
            report = await self.delivery().deliver_notices()
            sent += report.sent
            if sent >= expected:
                return
            await asyncio.sleep(1.1)
        raise AssertionError(f"only {sent} of {expected} notices were sent")

    async def deliver_reminders(self, expected: int = 1) -> None:
        sent = 0
        for _ in range(20):
            report = await self.delivery().deliver_reminders()
            sent += report.sent
            if sent >= expected:
                return
            await asyncio.sleep(1.1)
        raise AssertionError(f"only {sent} of {expected} reminders were sent")

    async def make_staff(self, telegram_id: int) -> None:
        await self.services.users.set_role(None, telegram_id, Role.ADMIN)


class ShiftedClock:
    """The system clock moved by ``offset`` (for worker jobs that act "later", e.g. expiry)."""

    def __init__(self, offset: timedelta) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


@pytest.fixture
async def back_office(
    bot_stack: BotStack, redis_cluster_nodes: list[tuple[str, int]]
) -> AsyncIterator[BackOffice]:
    async with BackOffice(bot_stack, redis_cluster_nodes) as office:
        yield office


def forge_press(stack: BotStack, user_id: int, message_id: int, data: str) -> int:
    """Deliver a callback query with arbitrary data, as a modified client could send it.

    The emulator's client API only presses buttons a message shows (as Telegram's apps do), so
    this goes through the emulator's own update queue with the check left out.
    """
    world = stack.emulator.emulator.world
    bot = world.bot_by_id(int(stack.token.split(":", 1)[0]))
    user = world.user(user_id)
    message = bot.chat_log(user_id).messages[message_id]
    query = CallbackQuery(
        id=new_callback_query_id(),
        user_id=user.id,
        chat_id=user_id,
        message_id=message_id,
        data=data,
        created_at=world.clock.now(),
    )
    bot.callback_queries[query.id] = query
    body = {
        "id": query.id,
        "from": user.to_api(),
        "message": message.to_api(),
        "chat_instance": "1",
        "data": data,
    }
    return world.enqueue_update(bot, "callback_query", body, user_id)

"""Webhook delivery the way Telegram does it.

Per bot: at most `max_connections` requests in flight, one update in flight per chat (later
updates of that chat wait, so the bot sees each chat in order), growing backoff after a non-2xx
answer, a timeout or a connection error, and a method in the response body is executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any

import httpx

from telegram_emulator.bot_state import BotState, WebhookSettings
from telegram_emulator.errors import ApiError
from telegram_emulator.methods import BotApi
from telegram_emulator.model import DeliveryAttempt, PendingUpdate
from telegram_emulator.params import Params
from telegram_emulator.world import World

_IDLE_WAIT_SECONDS = 3600.0


class WebhookDispatcher:
    def __init__(self, world: World, bot: BotState, api: BotApi) -> None:
        self._world = world
        self._bot = bot
        self._api = api
        self._config = world.config
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._in_flight = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"webhook-{self._bot.bot_id}")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._deliveries) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            verify: ssl.SSLContext | bool = True
            if self._config.webhook_ca_file:
                verify = ssl.create_default_context(cafile=self._config.webhook_ca_file)
            self._client = httpx.AsyncClient(
                verify=verify,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                timeout=self._config.webhook_timeout,
            )
        return self._client

    async def _run(self) -> None:
        while True:
            wait = self._start_ready_deliveries()
            await self._bot.queue_signal.wait(_IDLE_WAIT_SECONDS if wait is None else wait)

    def _start_ready_deliveries(self) -> float | None:
        """Start every delivery the rules allow now; return seconds until a retry falls due."""
        settings = self._bot.webhook
        if settings is None:
            return None
        now = asyncio.get_running_loop().time()
        pending = self._bot.pending
        next_due: float | None = None
        for key, queue in list(self._bot.chat_queues.items()):
            while queue and pending.get(queue[0].update_id) is not queue[0]:
                queue.popleft()  # confirmed, dropped or reset elsewhere
            if not queue:
                del self._bot.chat_queues[key]
                continue
            head = queue[0]
            if settings.allowed_updates and head.kind not in settings.allowed_updates:
                if not head.in_flight:
                    del pending[head.update_id]
                    queue.popleft()
                continue
            if head.in_flight:
                continue  # later updates of this chat wait for its answer
            if head.next_attempt_at > now:
                next_due = (
                    head.next_attempt_at
                    if next_due is None
                    else min(next_due, head.next_attempt_at)
                )
                continue
            if self._in_flight >= settings.max_connections:
                break
            head.in_flight = True
            self._in_flight += 1
            task = asyncio.create_task(self._deliver(head, settings))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return None if next_due is None else max(next_due - now, 0.0)

    async def _deliver(self, update: PendingUpdate, settings: WebhookSettings) -> None:
        bot = self._bot
        attempt = DeliveryAttempt(update.update_id, update.attempts + 1, self._world.clock.now())
        bot.deliveries.append(attempt)
        if update.chat_id is not None:
            # What the bot sends into this chat while it handles the update (and for a while
            # after) is a reply, not a bulk send (config.reply_window_s).
            bot.begin_handling(update.chat_id, attempt.started_at)
        bot.counters.webhook_deliveries += 1
        if attempt.attempt > 1:
            bot.counters.webhook_retries += 1
        headers = {"Content-Type": "application/json"}
        if settings.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = settings.secret_token
        try:
            try:
                response = await self._http_client().post(
                    settings.url,
                    content=json.dumps(update.payload, ensure_ascii=False).encode("utf-8"),
                    headers=headers,
                )
            except httpx.TimeoutException:
                self._fail(update, attempt, "timeout", None, "Read timeout expired")
                return
            except httpx.HTTPError as error:
                reason = (
                    "Connection refused"
                    if isinstance(error, httpx.ConnectError)
                    else (f"Connection error: {type(error).__name__}")
                )
                self._fail(update, attempt, "connection_error", None, reason)
                return
            attempt.status_code = response.status_code
            if not response.is_success:
                self._fail(
                    update,
                    attempt,
                    "http_error",
                    response.status_code,
                    f"Wrong response from the webhook: {response.status_code} "
                    f"{response.reason_phrase}",
                )
                return
            await self._execute_reply(response)
            attempt.outcome = "ok"
            attempt.finished_at = self._world.clock.now()
            bot.counters.webhook_delivered += 1
            if bot.pending.get(update.update_id) is update:
                del bot.pending[update.update_id]
        finally:
            if update.chat_id is not None:
                bot.end_handling(update.chat_id, self._world.clock.now())
            update.in_flight = False
            self._in_flight -= 1
            bot.queue_signal.notify()

    def _fail(
        self,
        update: PendingUpdate,
        attempt: DeliveryAttempt,
        outcome: str,
        status_code: int | None,
        reason: str,
    ) -> None:
        bot = self._bot
        attempt.outcome = outcome
        attempt.status_code = status_code
        attempt.error = reason
        attempt.finished_at = self._world.clock.now()
        bot.counters.webhook_failures += 1
        bot.last_error_date = int(self._world.clock.now())
        bot.last_error_message = reason
        update.attempts += 1
        if update.attempts >= self._config.webhook_max_attempts:
            bot.counters.webhook_dropped += 1
            if bot.pending.get(update.update_id) is update:
                del bot.pending[update.update_id]
            return
        delay = min(
            self._config.webhook_backoff_initial
            * self._config.webhook_backoff_factor ** (update.attempts - 1),
            self._config.webhook_backoff_max,
        )
        update.next_attempt_at = asyncio.get_running_loop().time() + delay

    async def _execute_reply(self, response: httpx.Response) -> None:
        """Telegram runs a Bot API method returned in the webhook answer (result not reported)."""
        if not response.headers.get("content-type", "").startswith("application/json"):
            return
        try:
            body: Any = response.json()
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            return
        method = body.pop("method")
        self._bot.counters.webhook_reply_methods += 1
        try:
            await self._api.call(self._bot, method, Params(body))
        except ApiError as error:
            self._bot.webhook_reply_errors.append(
                {"method": method, "error_code": error.error_code, "description": error.description}
            )

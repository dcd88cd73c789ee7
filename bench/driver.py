"""The load driver: plays the journey mix into the webhook over TLS, as Telegram would.

At most ``max_connections`` updates are in flight (one connection each, kept alive), and never two
of one chat: a person's next step is sent only after the webhook answered the previous one and
its reply reached the sink, plus a think time. Closed loop (:meth:`Driver.closed_loop`): every
connection sends again as soon as its update is done, which measures saturation. Open loop
(:meth:`Driver.open_loop`): updates start at a fixed rate whatever the answers, which measures
latency at a given load. When no person is ready for a next step a new one arrives, with a
scattered Telegram-like id, so a run meets thousands of distinct users.

An update answered non-2xx is sent again after a pause, like Telegram does (``retries``).
A Bot API method returned in the webhook's 2xx answer is run as Telegram runs it: it counts as
a call about the update at the moment the answer arrived (``methods_in_response``).
Latency is from the first sending of an update to the first Bot API call about it at the sink,
or to the answer carrying a method, whichever came first.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.journeys import Person, Step, new_person, telegram_like_ids, update_json
from bench.wire import Pool

CONTENT = {
    "sendMessage",
    "sendVenue",
    "sendLocation",
    "sendDocument",
    "sendPhoto",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


@dataclass
class InFlight:
    update_id: int
    sent_at: float
    first_reply_at: float | None = None
    answered: bool = False
    content: list[tuple[str, str, int | None]] = field(default_factory=list)
    duplicates: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def settle(self) -> None:
        if self.answered and self.first_reply_at is not None:
            self.done.set()


@dataclass
class Screen:
    message_id: int | None = None
    text: str = ""
    buttons: list[list[str]] = field(default_factory=list)


@dataclass
class Chat:
    person: Person
    screen: Screen = field(default_factory=Screen)
    in_flight: InFlight | None = None
    # message id → (text, buttons) of every message the bot showed in this chat
    messages: dict[int, Screen] = field(default_factory=dict)


@dataclass
class PhaseStats:
    name: str
    started: float = 0.0
    ended: float = 0.0
    updates: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicates: int = 0
    stuck: int = 0
    stuck_at: Counter[str] = field(default_factory=Counter)
    stuck_examples: list[str] = field(default_factory=list)
    offered_per_s: float | None = None

    @property
    def seconds(self) -> float:
        return max(self.ended - self.started, 1e-9)


class Driver:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        path: str,
        secret: str,
        tls: ssl.SSLContext,
        feed_port: int,
        max_connections: int = 40,
        think_s: float = 1.0,
        reply_timeout_s: float = 20.0,
        retries: int = 5,
        seed: int = 12,
        population: int = 200_000,
    ) -> None:
        self.pool = Pool(host, port, tls=tls)
        self.path = path
        self.headers = {"Content-Type": "application/json", SECRET_HEADER: secret}
        self.feed_port = feed_port
        self.max_connections = max_connections
        self.think_s = think_s
        self.reply_timeout_s = reply_timeout_s
        self.retries = retries
        self.seed = seed
        self._ids = iter(telegram_like_ids(population, seed))
        self.chats: dict[int, Chat] = {}
        self.callbacks: dict[str, Chat] = {}
        self.ready: asyncio.Queue[Chat] = asyncio.Queue()
        self.next_update_id = 500_000_000 + seed * 1_000_000
        self.stray_replies = 0
        self.methods_in_response = 0
        self.phase = PhaseStats("idle")
        self._feed_task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    async def __aenter__(self) -> Driver:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.feed_port)
        self._feed_writer = writer
        self._feed_task = asyncio.create_task(self._read_feed(reader))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._feed_task is not None:
            self._feed_task.cancel()
        self._feed_writer.close()
        self.pool.close()

    # --- the feed of replies -------------------------------------------------------------------

    async def _read_feed(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            record = json.loads(line)
            chat = self.chats.get(record["c"]) if record["c"] is not None else None
            if chat is None and record["q"] is not None:
                chat = self.callbacks.pop(str(record["q"]), None)
            if chat is None:
                self.stray_replies += 1
                continue
            self._on_reply(chat, record)

    def _run_returned_method(self, chat: Chat, answer: bytes) -> None:
        """What Telegram does with ``{"method": ...}`` in a webhook answer, as a sink record."""
        if not answer.startswith(b"{"):
            return
        try:
            call = json.loads(answer)
        except ValueError:
            return
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return
        self.methods_in_response += 1
        self._on_reply(
            chat,
            {
                "t": time.monotonic(),
                "m": call["method"],
                "c": call.get("chat_id"),
                "q": call.get("callback_query_id"),
                "id": call.get("message_id"),
                "x": call.get("text") or "",
                "b": None,
            },
        )

    def _on_reply(self, chat: Chat, record: dict[str, Any]) -> None:
        flight = chat.in_flight
        method = str(record["m"])
        if method in CONTENT:
            message_id = record["id"]
            previous = chat.messages.get(message_id) if message_id is not None else None
            buttons = record["b"]
            if buttons is None and method == "editMessageText" and previous is not None:
                buttons = []  # an edit without markup drops the keyboard
            screen = Screen(message_id, str(record["x"]), buttons or [])
            if message_id is not None:
                chat.messages[message_id] = screen
            if buttons:
                chat.screen = screen
        if flight is None:
            self.stray_replies += 1
            return
        if flight.first_reply_at is None:
            flight.first_reply_at = float(record["t"])
        if method in CONTENT:
            key = (method, str(record["x"]), record["id"] if method != "sendMessage" else None)
            if key in flight.content:
                flight.duplicates += 1
            flight.content.append(key)
        flight.settle()

    # --- people --------------------------------------------------------------------------------

    def _take(self) -> Chat:
        try:
            return self.ready.get_nowait()
        except asyncio.QueueEmpty:
            number = len(self.chats)
            person = new_person(next(self._ids), number, self.seed)
            chat = Chat(person)
            self.chats[person.user_id] = chat
            return chat

    def _later(self, chat: Chat) -> None:
        loop = asyncio.get_running_loop()

        def put() -> None:
            self._timers.discard(timer)
            self.ready.put_nowait(chat)

        timer = loop.call_later(self.think_s, put)
        self._timers.add(timer)

    def _button(self, chat: Chat, step: Step) -> tuple[str, Step] | None:
        """The callback data to press for ``step`` on the current screen (or its advance)."""
        person = chat.person
        for selector, advancing in ((step.press, False), (step.advance, True)):
            if selector is None:
                continue
            if advancing and person.advances_used >= step.advances:
                return None
            found = [data for text, data in chat.screen.buttons if selector.matches(text, data)]
            if found:
                if advancing:
                    person.advances_used += 1
                name = "advance" if advancing else step.name
                return person.rng.choice(found), Step("press", press=selector, name=name)
        return None

    async def play_one(self, chat: Chat) -> None:
        """One step of ``chat``'s journey: send, wait for the answer and the reply, record."""
        person = chat.person
        step = person.steps[person.index]
        stats = self.phase
        data: str | None = None
        sent_step = step
        if step.kind == "press":
            pressed = self._button(chat, step)
            if pressed is None:
                stats.stuck += 1
                stats.stuck_at[f"{person.journey}:{step.name}"] += 1
                if len(stats.stuck_examples) < 3:
                    stats.stuck_examples.append(
                        f"{person.journey}:{step.name} on {chat.screen.text[:80]!r} "
                        f"{[data for _, data in chat.screen.buttons]}"
                    )
                person.index = len(person.steps)  # the journey cannot go on
                return
            data, sent_step = pressed
        self.next_update_id += 1
        update_id = self.next_update_id
        body = update_json(
            person,
            step,
            update_id,
            data=data,
            message_id=chat.screen.message_id,
            message_text=chat.screen.text[:100],
        )
        flight = InFlight(update_id, time.monotonic())
        chat.in_flight = flight
        if step.kind == "press":
            self.callbacks[str(update_id)] = chat
        answered = False
        for attempt in range(self.retries + 1):
            try:
                status, answer = await self.pool.request("POST", self.path, body, self.headers)
            except (ConnectionError, OSError, ssl.SSLError) as error:
                stats.errors[type(error).__name__] += 1
            else:
                if 200 <= status < 300:
                    answered = True
                    self._run_returned_method(chat, answer)
                    break
                stats.errors[f"http_{status}"] += 1
            if attempt < self.retries:
                await asyncio.sleep(0.5 * (attempt + 1))
        if answered:
            flight.answered = True
            flight.settle()
            try:
                await asyncio.wait_for(flight.done.wait(), self.reply_timeout_s)
            except TimeoutError:
                stats.lost += 1
        else:
            stats.lost += 1
        chat.in_flight = None
        self.callbacks.pop(str(update_id), None)
        stats.duplicates += flight.duplicates
        if flight.first_reply_at is not None:
            stats.latencies_ms.append((flight.first_reply_at - flight.sent_at) * 1000)
        stats.updates += 1
        if sent_step.name == "advance":
            return  # the same step again, on the next day's screen
        if answered and flight.first_reply_at is not None and step.effect:
            person.effects.append(step.effect)
        person.index += 1
        person.advances_used = 0

    async def _play_and_requeue(self, chat: Chat) -> None:
        await self.play_one(chat)
        if not chat.person.finished:
            self._later(chat)

    # --- the two loops -------------------------------------------------------------------------

    async def closed_loop(self, name: str, seconds: float, warmup_s: float = 0.0) -> PhaseStats:
        """``max_connections`` senders, each sending its next update as soon as one is done."""
        deadline = time.monotonic() + warmup_s + seconds
        if warmup_s:
            self.phase = PhaseStats(f"{name}-warmup")
            self.phase.started = time.monotonic()
            asyncio.get_running_loop().call_later(warmup_s, self._start_phase, name)
        else:
            self._start_phase(name)

        async def sender() -> None:
            while time.monotonic() < deadline:
                await self._play_and_requeue(self._take())

        await asyncio.gather(*(sender() for _ in range(self.max_connections)))
        self.phase.ended = time.monotonic()
        return self.phase

    def _start_phase(self, name: str) -> None:
        self.phase = PhaseStats(name)
        self.phase.started = time.monotonic()

    async def open_loop(self, name: str, rate_per_s: float, seconds: float) -> PhaseStats:
        """Updates start every ``1 / rate`` s (at most ``max_connections`` at once)."""
        self._start_phase(name)
        stats = self.phase
        stats.offered_per_s = rate_per_s
        slots = asyncio.Semaphore(self.max_connections)
        tasks: set[asyncio.Task[None]] = set()

        async def one() -> None:
            async with slots:
                await self._play_and_requeue(self._take())

        start = time.monotonic()
        count = int(rate_per_s * seconds)
        for index in range(count):
            delay = start + index / rate_per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        stats.ended = time.monotonic()
        return stats

    async def drain(self) -> None:
        """Let people already in flight finish their step (no new ones start)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

"""The journey mix the driver plays, and the Telegram updates it is made of.

Every simulated person registers (``/start``, their name, their own contact, «✅ Согласен»), then
follows one journey drawn from :data:`MIX`. A step either types (text, contact, location) or
presses a button of the screen the bot showed last, chosen by its callback data (the tokens of
``bot/telegram/actions.py``, which never change) or by its label; among several matching buttons
(districts, complexes, sports, sessions) one is drawn at random, so the load spreads over the
catalog. Steps that change the database name the state they should leave (``effect``); after a run
of our cluster every effect reached is looked up in MongoDB.

The ceiling and the PTB baseline answer every update with one message carrying
:func:`universal_keyboard` (a button for every selector here), so the same journeys run against
them unchanged.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

NIZHNY_CENTRE = (56.3269, 44.0059)


@dataclass(frozen=True)
class Selector:
    """A button: callback data starting with ``prefix`` (the ``|`` after the action included), or
    exactly ``data``, or a label containing ``label``."""

    prefix: str | None = None
    data: str | None = None
    label: str | None = None

    def matches(self, text: str, data: str) -> bool:
        if self.prefix is not None:
            return data.startswith(self.prefix)
        if self.data is not None:
            return data == self.data
        return self.label is not None and self.label in text

    def example(self) -> tuple[str, str]:
        """A button this selector matches (for the receivers that draw no real screens)."""
        if self.prefix is not None:
            return "•", self.prefix + "z"
        if self.data is not None:
            return "•", self.data
        return str(self.label), f"1|zz|{zlib.crc32(str(self.label).encode()) % 10_000}"


@dataclass(frozen=True)
class Step:
    kind: str  # "text" | "contact" | "location" | "press"
    text: str = ""
    press: Selector | None = None
    # If ``press`` is not on the screen, press this instead (at most ``advances`` times; each is
    # one more update): «➡️» to the next day until a day has sessions.
    advance: Selector | None = None
    advances: int = 0
    effect: str | None = None
    name: str = ""


CONSENT = Selector(data="1|rg|y")
MENU_CATALOG = Selector(data="1|ct|d|0")
DISTRICT = Selector(prefix="1|ct|dc|")
CARD = Selector(prefix="1|ct|c|")
MAP = Selector(prefix="1|ct|mp|")
SEARCH = Selector(data="1|ct|s")
TOGGLE_SPORT = Selector(prefix="1|ct|st|")
FIND = Selector(prefix="1|ct|sr|")
NEAREST = Selector(data="1|ct|nr")
APPLY = Selector(prefix="1|ap|n|")
APPLY_SPORT = Selector(prefix="1|ap|sp|")
APPLY_SUBMIT = Selector(prefix="1|ap|go|")
SCHEDULE = Selector(label="📅")
NEXT_DAY = Selector(label="➡️")
SESSION = Selector(prefix="1|ss|v|")
BOOK = Selector(prefix="1|ss|b|")
MY_BOOKINGS = Selector(prefix="1|ss|my|")
BOOKING = Selector(prefix="1|ss|bv|")
CANCEL_BOOKING = Selector(prefix="1|ss|x|")
CONFIRM_CANCEL = Selector(prefix="1|ss|xy|")

SELECTORS = (
    CONSENT,
    MENU_CATALOG,
    DISTRICT,
    CARD,
    MAP,
    SEARCH,
    TOGGLE_SPORT,
    FIND,
    NEAREST,
    APPLY,
    APPLY_SPORT,
    APPLY_SUBMIT,
    SCHEDULE,
    NEXT_DAY,
    SESSION,
    BOOK,
    MY_BOOKINGS,
    BOOKING,
    CANCEL_BOOKING,
    CONFIRM_CANCEL,
)


def press(selector: Selector, name: str, **kwargs: Any) -> Step:
    return Step("press", press=selector, name=name, **kwargs)


def registration(name: str) -> list[Step]:
    return [
        Step("text", "/start", name="start"),
        Step("text", name, name="name"),
        Step("contact", name="contact"),
        press(CONSENT, "consent", effect="registered"),
    ]


TO_CARD = [
    Step("text", "/menu", name="menu"),
    press(MENU_CATALOG, "catalog"),
    press(DISTRICT, "district"),
    press(CARD, "card"),
]
TO_SESSION = [
    *TO_CARD,
    press(SCHEDULE, "schedule"),
    press(SESSION, "session", advance=NEXT_DAY, advances=6),
]
# Two days ahead: outside every complex's cancellation window, so the cancel is allowed.
TO_LATER_SESSION = [
    *TO_CARD,
    press(SCHEDULE, "schedule"),
    press(NEXT_DAY, "next_day"),
    press(NEXT_DAY, "next_day"),
    press(SESSION, "session", advance=NEXT_DAY, advances=4),
]

JOURNEYS: dict[str, list[Step]] = {
    "catalog": [*TO_CARD, press(MAP, "map")],
    "search": [
        Step("text", "/menu", name="menu"),
        press(SEARCH, "search"),
        press(TOGGLE_SPORT, "toggle_sport"),
        press(FIND, "find"),
    ],
    "nearest": [
        Step("text", "/menu", name="menu"),
        press(NEAREST, "nearest"),
        Step("location", name="location"),
    ],
    "apply": [
        *TO_CARD,
        press(APPLY, "apply"),
        press(APPLY_SPORT, "apply_sport"),
        press(APPLY_SUBMIT, "apply_submit", effect="applied"),
    ],
    "book": [*TO_SESSION, press(BOOK, "book", effect="booked")],
    "book_cancel": [
        *TO_LATER_SESSION,
        press(BOOK, "book", effect="booked"),
        Step("text", "/menu", name="menu"),
        press(MY_BOOKINGS, "my_bookings"),
        press(BOOKING, "booking"),
        press(CANCEL_BOOKING, "cancel"),
        press(CONFIRM_CANCEL, "confirm_cancel", effect="cancelled"),
    ],
}
# Share of the people who follow each journey after registering.
MIX: dict[str, float] = {
    "catalog": 0.30,
    "search": 0.15,
    "nearest": 0.15,
    "apply": 0.20,
    "book": 0.10,
    "book_cancel": 0.10,
}


def telegram_like_ids(count: int, seed: int) -> list[int]:
    """Distinct ids scattered like real Telegram user ids (HAProxy pins on the chat id)."""
    generator = random.Random(seed)  # noqa: S311 (load, not secrets)
    return generator.sample(range(100_000_000, 8_000_000_000), count)


@dataclass
class Person:
    user_id: int
    number: int
    journey: str
    steps: list[Step]
    rng: random.Random
    index: int = 0
    advances_used: int = 0
    effects: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"Житель{self.number:06d}"

    @property
    def phone(self) -> str:
        return f"+7912{self.number % 10_000_000:07d}"

    @property
    def finished(self) -> bool:
        return self.index >= len(self.steps)


def new_person(user_id: int, number: int, seed: int) -> Person:
    rng = random.Random(seed * 1_000_003 + number)  # noqa: S311
    journey = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    name = f"Житель{number:06d}"
    return Person(user_id, number, journey, registration(name) + JOURNEYS[journey], rng)


def universal_keyboard() -> dict[str, Any]:
    """One inline keyboard with a button for every selector (ceiling and PTB baseline)."""
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data}]
            for text, data in map(Selector.example, SELECTORS)
        ]
    }


def _user(person: Person) -> dict[str, Any]:
    return {"id": person.user_id, "is_bot": False, "first_name": person.name, "language_code": "ru"}


def update_json(
    person: Person,
    step: Step,
    update_id: int,
    *,
    data: str | None = None,
    message_id: int | None = None,
    message_text: str = "",
) -> bytes:
    """The update Telegram would send for this step (``data``/``message_id``: the pressed button)."""
    user = _user(person)
    chat = {"id": person.user_id, "type": "private", "first_name": person.name}
    now = int(time.time())
    update: dict[str, Any] = {"update_id": update_id}
    if step.kind == "press":
        update["callback_query"] = {
            "id": str(update_id),
            "from": user,
            "chat_instance": str(person.user_id),
            "data": data,
            "message": {
                "message_id": message_id or 1,
                "date": now,
                "chat": chat,
                "from": {"id": 1, "is_bot": True, "first_name": "Bench"},
                "text": message_text or "…",
            },
        }
        return json.dumps(update, ensure_ascii=False).encode()
    message: dict[str, Any] = {"message_id": update_id, "date": now, "chat": chat, "from": user}
    if step.kind == "text":
        message["text"] = step.text
        if step.text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(step.text)}]
    elif step.kind == "contact":
        message["contact"] = {
            "phone_number": person.phone,
            "first_name": person.name,
            "user_id": person.user_id,
        }
    elif step.kind == "location":
        lat, lon = NIZHNY_CENTRE
        message["location"] = {
            "latitude": lat + person.rng.uniform(-0.05, 0.05),
            "longitude": lon + person.rng.uniform(-0.05, 0.05),
        }
    update["message"] = message
    return json.dumps(update, ensure_ascii=False).encode()

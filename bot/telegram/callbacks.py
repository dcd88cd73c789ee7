"""The callback-data codec: compact, versioned strings of at most 64 bytes.

A button carries ``<version>|<feature>|<action>|<arg>...`` (for example ``1|ap|v|<24 hex>``).
Nothing is cached in process memory (no ``arbitrary_callback_data``): the string names *what* to
do, and every handler re-checks ownership and current state on the server before acting on it.
A button drawn by an older release (another version) or a string that does not parse is reported
as outdated instead of being guessed at.

Buttons are drawn only from a declared :class:`Action` (``bot.telegram.actions``): an enum per
feature whose members are that feature's action tokens and argument counts. The router
(``bot.telegram.routing``) checks at start that every declared action has exactly one handler.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any, ClassVar

VERSION = "1"
SEPARATOR = "|"
MAX_BYTES = 64  # Telegram's limit for callback_data

# Arguments are ids, catalog codes, numbers and short markers: never free text.
_ARGUMENT = re.compile(r"^[A-Za-z0-9_:.\-]{1,64}$")
_TOKEN = re.compile(r"^[a-z]{1,4}$")
_EPOCH = date(1970, 1, 1)
SPORT_REF_LENGTH = 4


class OutdatedButton(ValueError):
    """The callback data was not drawn by this release of the bot, or was tampered with."""


@dataclass(frozen=True)
class Callback:
    feature: str
    action: str
    args: tuple[str, ...] = ()

    def arg(self, index: int) -> str:
        if index >= len(self.args):
            raise OutdatedButton(f"missing argument {index}")
        return self.args[index]

    def int_arg(self, index: int, *, low: int = 0, high: int = 10_000) -> int:
        raw = self.arg(index)
        if not raw.isdigit():
            raise OutdatedButton(f"argument {index} is not a number")
        value = int(raw)
        if not low <= value <= high:
            raise OutdatedButton(f"argument {index} out of range")
        return value


def encode(feature: str, action: str, *args: str | int) -> str:
    """The callback data for a button; raises ValueError rather than emit an unusable button."""
    if not _TOKEN.match(feature) or not _TOKEN.match(action):
        raise ValueError(f"bad feature/action {feature!r}/{action!r}")
    parts = [VERSION, feature, action]
    for arg in args:
        text = str(arg)
        if not _ARGUMENT.match(text):
            raise ValueError(f"callback argument {text!r} has characters the codec does not carry")
        parts.append(text)
    data = SEPARATOR.join(parts)
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data is {len(data.encode())} bytes, over {MAX_BYTES}")
    return data


def decode(data: str | None) -> Callback:
    """Parse and validate; anything not produced by :func:`encode` of this version is outdated."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        raise OutdatedButton("empty or over-long callback data")
    parts = data.split(SEPARATOR)
    if len(parts) < 3 or parts[0] != VERSION:
        raise OutdatedButton("unknown callback version")
    feature, action, *args = parts[1:]
    if not _TOKEN.match(feature) or not _TOKEN.match(action):
        raise OutdatedButton("malformed feature or action")
    if any(not _ARGUMENT.match(arg) for arg in args):
        raise OutdatedButton("malformed argument")
    return Callback(feature, action, tuple(args))


def pattern(feature: str) -> str:
    """The regular expression that routes this feature's buttons to its handler."""
    return rf"^{VERSION}\|{feature}\|"


def is_token(text: object) -> bool:
    """Whether ``text`` can be a feature or action token of the codec."""
    return isinstance(text, str) and _TOKEN.match(text) is not None


# --- declared actions -----------------------------------------------------------------------

_DECLARED: list[type[Action]] = []


class Action(Enum):
    """One button action of one feature: ``DAY = "d", 3`` is token ``d`` with three arguments.

    A feature subclasses it once, naming its token and its name (used in route labels)::

        class SessionAction(Action, token="ss", feature="sessions"):
            DAY = "d", 3

    Tokens are not checked here but by the router when the application is built, so that a bad
    declaration fails the start, not the import of a module that happens to define it.
    """

    token: ClassVar[str]
    feature: ClassVar[str]
    arity: int

    def __new__(cls, action: str, arity: int = 0) -> Action:
        member = object.__new__(cls)
        member._value_ = action
        member.arity = arity
        return member

    def __init_subclass__(cls, *, token: str, feature: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.token = token
        cls.feature = feature
        _DECLARED.append(cls)

    @property
    def action(self) -> str:
        return str(self.value)

    @property
    def label(self) -> str:
        """A bounded name of the route for logs and metrics: ``sessions.day``."""
        return f"{self.feature}.{self.name.lower()}"

    def data(self, *args: str | int) -> str:
        """This action's callback data; raises ValueError rather than emit an unusable button."""
        if len(args) != self.arity:
            raise ValueError(f"{self.label} takes {self.arity} arguments, not {len(args)}")
        return encode(self.token, self.action, *args)


def declared_actions() -> tuple[type[Action], ...]:
    """Every feature's actions declared so far (in import order)."""
    return tuple(_DECLARED)


# --- compact references ---------------------------------------------------------------------


def day_ref(day: date) -> str:
    """A calendar day as base-36 days since 1970 (3 characters until the year 2097)."""
    number = (day - _EPOCH).days
    if number < 0:
        raise ValueError("days before 1970 are not encoded")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def parse_day_ref(text: str) -> date:
    try:
        number = int(text, 36)
    except ValueError as error:
        raise OutdatedButton("bad day") from error
    if not 0 <= number <= 60_000:
        raise OutdatedButton("day out of range")
    return _EPOCH + timedelta(days=number)


def sport_ref(code: str) -> str:
    """A short stable reference of a sport code, resolved against the complex's own sports.

    Catalog codes may be 48 characters long; a button that names a complex *and* a sport would not
    fit in 64 bytes with both spelled out.
    """
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:SPORT_REF_LENGTH]


def resolve_sport_ref(ref: str, sport_codes: tuple[str, ...] | list[str]) -> str:
    for code in sport_codes:
        if sport_ref(code) == ref:
            return code
    raise OutdatedButton("the sport is no longer offered here")

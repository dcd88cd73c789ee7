"""Broadcasts (рассылки): one text from staff to an audience of residents, sent once to each.

A broadcast is composed as a *draft* (its audience and text), *queued* when its author confirms
the preview, *running* while a worker fans it out, and ends *done* or *cancelled*. Every recipient
has one record, keyed by (broadcast, user), whose state says what happened to that one message:

* ``pending`` → ``claimed`` (a runner took it into a batch) → ``dispatching`` (the request to
  Telegram is about to leave) → ``delivered`` / ``blocked`` (403) / ``failed`` (Telegram refused
  it, or it kept failing) / ``skipped`` (the resident opted out or became unreachable meanwhile);
* a runner that takes over a broadcast from one that died puts the dead runner's ``claimed``
  records back to ``pending`` (nothing left for them) and its ``dispatching`` ones to
  ``unconfirmed``: such a message may or may not have reached Telegram, and Telegram has no
  idempotency key to ask, so it is **never sent again on its own** — nothing is sent twice. The
  author sees how many there are and may choose to send those again (knowing some may get it
  twice).

The text is the author's message as Telegram shows it: its plain text, with the author's own
formatting (bold, italic, links...) kept for a safe subset of Telegram's entities and everything
else — typed ``<b>`` tags included — escaped, so the HTML sent is valid by construction.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.errors import ValidationFailed

# Telegram allows 4096 characters; the preview adds a header (audience, counts) above the text.
MAX_TEXT_UNITS = 3500
# How far back a booking makes someone a resident "of" a complex or sport (recent visitors).
RECENT_BOOKING_DAYS = 30
EXCERPT_LENGTH = 120


class AudienceKind(StrEnum):
    ALL = "all"  # every resident who allows news (admins only)
    COMPLEX = "complex"  # residents of one complex
    SPORT = "sport"  # residents of one sport (at the complexes in scope)
    SESSION = "session"  # people booked on (or waiting for) one session


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to. ``code`` is the complex, sport or session; ``complexes`` bounds a
    sport audience to the complexes of a manager (``None``: every complex); ``complex_code`` is the
    complex of a complex or session audience (what scope is checked against)."""

    kind: AudienceKind
    code: str | None = None
    complexes: frozenset[str] | None = None
    complex_code: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is AudienceKind.ALL) != (self.code is None):
            raise ValueError("only the audience of everyone has no code")
        if self.kind in (AudienceKind.COMPLEX, AudienceKind.SESSION) and not self.complex_code:
            raise ValueError("a complex or session audience names its complex")


class BroadcastState(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLED = "cancelled"
    DONE = "done"


OPEN_STATES = frozenset({BroadcastState.QUEUED, BroadcastState.RUNNING})
FINAL_STATES = frozenset({BroadcastState.CANCELLED, BroadcastState.DONE})


class RecipientState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DISPATCHING = "dispatching"
    DELIVERED = "delivered"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNCONFIRMED = "unconfirmed"


# Recipients still to be decided by a runner.
UNSETTLED = frozenset({RecipientState.PENDING, RecipientState.CLAIMED, RecipientState.DISPATCHING})


@dataclass(frozen=True)
class BroadcastCounts:
    """Recipients by what happened to them."""

    total: int = 0
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    unconfirmed: int = 0

    @property
    def settled(self) -> int:
        return self.delivered + self.blocked + self.failed + self.skipped + self.unconfirmed

    @property
    def unsettled(self) -> int:
        return max(0, self.total - self.settled)

    @classmethod
    def of(cls, by_state: Mapping[RecipientState, int]) -> BroadcastCounts:
        return cls(
            total=sum(by_state.values()),
            delivered=by_state.get(RecipientState.DELIVERED, 0),
            blocked=by_state.get(RecipientState.BLOCKED, 0),
            failed=by_state.get(RecipientState.FAILED, 0),
            skipped=by_state.get(RecipientState.SKIPPED, 0),
            unconfirmed=by_state.get(RecipientState.UNCONFIRMED, 0),
        )


@dataclass(frozen=True)
class Broadcast:
    id: str
    author_id: int
    audience: Audience
    text: str  # what residents read (plain), for excerpts and the audit log
    html: str  # what is sent (parse_mode HTML), valid by construction
    state: BroadcastState
    created_at: datetime
    updated_at: datetime
    estimated: int = 0  # recipients counted when the text was composed
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancelled_by: int | None = None
    # The author's progress message: the confirmed preview, edited by the runner.
    sender_chat_id: int | None = None
    sender_message_id: int | None = None
    expanded: bool = False  # the recipient records exist
    runner: str | None = None
    runner_until: datetime | None = None
    progress_at: datetime | None = None  # when the progress message was last edited
    final_shown: bool = False  # the final counts are in the progress message
    counts: BroadcastCounts = field(default_factory=BroadcastCounts)  # as last shown

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def excerpt(self) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


@dataclass(frozen=True)
class Recipient:
    broadcast_id: str
    user_id: int
    state: RecipientState
    attempts: int = 0
    runner: str | None = None
    next_at: datetime | None = None
    error: str | None = None


def recipient_id(broadcast_id: str, user_id: int) -> str:
    """One record per (broadcast, user): a second one cannot exist."""
    return f"{broadcast_id}:{user_id}"


# --- the text --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextEntity:
    """A Telegram message entity: ``offset`` and ``length`` in UTF-16 code units."""

    kind: str
    offset: int
    length: int
    url: str | None = None


# Entity kinds kept, and the tags they become. Everything else (mentions, hashtags, custom emoji,
# links to users without a username...) is sent as its plain text.
_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ("<tg-spoiler>", "</tg-spoiler>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote expandable>", "</blockquote>"),
}
# Kinds that cannot hold any other entity, and kinds that cannot hold one of their own family.
_LEAVES = frozenset({"code", "pre"})
_FAMILIES = {"blockquote": "quote", "expandable_blockquote": "quote", "text_link": "link"}
_LINK_SCHEMES = ("http://", "https://", "tg://")
FORMATTING_KINDS = frozenset(_TAGS) | {"text_link"}


@dataclass(frozen=True)
class BroadcastText:
    text: str
    html: str


def utf16_length(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _index_of_units(text: str) -> list[int]:
    """For every UTF-16 offset 0..len, the index of the character it starts (an offset inside a
    surrogate pair maps to the character after it)."""
    table: list[int] = []
    for index, ch in enumerate(text):
        table.append(index)
        if ord(ch) > 0xFFFF:
            table.append(index + 1)
    table.append(len(text))
    return table


@dataclass
class _Span:
    start: int
    end: int
    kind: str
    opening: str
    closing: str


def _spans(text: str, entities: Iterable[TextEntity]) -> list[_Span]:
    table = _index_of_units(text)
    units = len(table) - 1
    spans: list[_Span] = []
    for entity in entities:
        if entity.offset < 0 or entity.length <= 0 or entity.offset >= units:
            continue
        start = table[entity.offset]
        end = table[min(units, entity.offset + entity.length)]
        if start >= end:
            continue
        if entity.kind == "text_link":
            url = (entity.url or "").strip()
            if not url.lower().startswith(_LINK_SCHEMES):
                continue
            opening = f'<a href="{html.escape(url, quote=True)}">'
            spans.append(_Span(start, end, entity.kind, opening, "</a>"))
        elif entity.kind in _TAGS:
            opening, closing = _TAGS[entity.kind]
            spans.append(_Span(start, end, entity.kind, opening, closing))
    spans.sort(key=lambda s: (s.start, -s.end))
    return spans


def render_html(text: str, entities: Sequence[TextEntity] = ()) -> str:
    """Telegram HTML for ``text`` with its kept entities: every character escaped, tags properly
    nested (an entity reaching past the one around it is cut at its end), nothing inside code."""
    out: list[str] = []
    stack: list[_Span] = []
    position = 0

    def advance(to: int) -> None:
        nonlocal position
        while stack and stack[-1].end <= to:
            top = stack.pop()
            out.append(html.escape(text[position : top.end], quote=False))
            out.append(top.closing)
            position = top.end
        out.append(html.escape(text[position:to], quote=False))
        position = to

    for span in _spans(text, entities):
        advance(span.start)
        if stack:
            span.end = min(span.end, stack[-1].end)
        families = {_FAMILIES.get(s.kind) for s in stack}
        if span.start >= span.end or any(s.kind in _LEAVES for s in stack):
            continue
        if span.kind in _FAMILIES and _FAMILIES[span.kind] in families:
            continue
        out.append(span.opening)
        stack.append(span)
    advance(len(text))
    return "".join(out)


def compose_text(raw: str, entities: Sequence[TextEntity] = ()) -> BroadcastText:
    """The broadcast text from the author's message, or ``ValidationFailed("text", ...)``."""
    if not raw.strip():
        raise ValidationFailed("text", "empty")
    if utf16_length(raw.strip()) > MAX_TEXT_UNITS:
        raise ValidationFailed("text", "too_long")
    if raw.strip().startswith("/"):
        raise ValidationFailed("text", "command")
    return BroadcastText(raw.strip(), render_html(raw, entities).strip())

"""The handler harness: the real product application over in-memory fakes, fed updates in-process.

* Services come from ``bot.services.container.build_services`` over ``tests.fakes.repositories``
  (storage), ``tests.fakes.ephemeral`` (dialog state, flood control) and a :class:`FakeClock`;
  phones and calendar files are the production adapters (pure code).
* The PTB application is ``bot.telegram.application.build_application`` with the web tier's
  ``bot.web.pipeline.instrument``; its ``telegram.Bot`` talks to :class:`FakeBotApi` through
  :class:`RecordingRequest`, so every Bot API call is recorded and answered with valid JSON.
* :class:`Person` acts as one Telegram user (text, commands, contacts, locations, button presses);
  every step checks the rules that hold everywhere: no handler error, nothing refused by the Bot
  API (HTML, lengths, keyboards, "not modified"), and a pressed button answered exactly once.

Workers' jobs (delivering the outbox and reminders, expiring offers) are run here too, through the
same services and ``TelegramNoticeSender`` the Celery tasks use, over the same recording Bot.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application

from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.ids import new_id
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.infra.calendar import IcsCalendarRenderer
from bot.infra.phones import PhoneNumbersNormalizer
from bot.services.container import Services, build_services
from bot.services.delivery import DeliveryReport, DeliveryService
from bot.telegram.application import build_application
from bot.telegram.notice_sender import TelegramNoticeSender
from bot.web.pipeline import instrument
from tests.fakes.clock import FakeClock
from tests.fakes.ephemeral import InMemoryDialogStateStore, InMemoryFloodLimiter, ManualSeconds
from tests.fakes.reports import report_adapters
from tests.fakes.repositories import InMemoryStorage
from tests.handlers.bot_api import TOKEN, ApiCall, FakeBotApi, JsonDict, RecordingRequest

# Monday 23 November 2026, 09:00 UTC = 12:00 in Moscow ("Добрый день").
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OWN_PHONE = "+79161234567"
OLIMP = "fok-olimp"  # Автозаводский, swimming/yoga/volleyball, window 2 h, hold 60 min
VODNIK = "fok-vodnik"  # Автозаводский, swimming only
PtbApplication = Application[Any, Any, Any, Any, Any, Any]


# --- what the user sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A bot message as it is in the chat now (edits applied)."""

    raw: JsonDict
    html: str = ""  # the HTML it was sent or last edited with

    @property
    def id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def text(self) -> str:
        return str(self.raw.get("text") or self.raw.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        markup = self.raw.get("reply_markup") or {}
        return [
            (button["text"], button["callback_data"])
            for row in markup.get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]

    def data(self, label_part: str, *, exact: bool = False) -> str:
        found = [
            data
            for label, data in self.buttons
            if (label == label_part if exact else label_part in label)
        ]
        if not found:
            raise AssertionError(f"no button with {label_part!r} in {self.labels}")
        return found[0]

    def has_button(self, label_part: str) -> bool:
        return any(label_part in label for label in self.labels)

    def data_starting(self, prefix: str) -> list[str]:
        return [data for _, data in self.buttons if data.startswith(prefix)]


@dataclass
class Reply:
    """What one update made the bot do."""

    calls: list[ApiCall]
    screen: Shown | None  # the message the user looks at now: the newest sent or the edited one
    sent: list[Shown] = field(default_factory=list)

    @property
    def text(self) -> str:
        assert self.screen is not None, f"the bot showed nothing; calls: {self.methods}"
        return self.screen.text

    @property
    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    @property
    def alert(self) -> str | None:
        """The text of the callback answer (None when the button was answered silently)."""
        for call in self.calls:
            if call.method == "answerCallbackQuery":
                text = call.params.get("text")
                return str(text) if text is not None else None
        return None

    @property
    def is_alert(self) -> bool:
        return any(
            c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in self.calls
        )

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]


# --- the harness -----------------------------------------------------------------------------


class HandlerError(AssertionError):
    """A handler raised, or the Bot API refused a call, where the test did not expect it."""


class BotHarness:
    def __init__(
        self,
        *,
        flood_limit: int = 20,
        flood_window_s: float = 10.0,
        pace_s: float = 1.0,
        instances: int = 1,
    ) -> None:
        self.clock = FakeClock(NOW)
        self.seconds = ManualSeconds()
        self.pace_s = pace_s  # monotonic seconds between two updates (flood control's clock)
        self.storage = InMemoryStorage(self.clock)
        self.dialogs = InMemoryDialogStateStore(now=self.seconds)
        self.flood = InMemoryFloodLimiter(
            limit=flood_limit, window_s=flood_window_s, now=self.seconds
        )
        self.reports = report_adapters()
        self.services: Services = build_services(
            self.storage.repositories(),
            clock=self.clock,
            phones=PhoneNumbersNormalizer(),
            calendar=IcsCalendarRenderer(),
            dialogs=self.dialogs,
            flood=self.flood,
            reports=self.reports,
        )
        self.api = FakeBotApi()
        self.bot = Bot(
            TOKEN,
            request=RecordingRequest(self.api),
            get_updates_request=RecordingRequest(self.api),
        )
        self.errors: list[BaseException] = []
        # Bot instances: each its own Services, Bot and PTB application over the same storage,
        # dialog state and flood control (what MongoDB and Redis are to the real processes).
        self.applications = [self._instance(index == 0) for index in range(instances)]
        self.application = self.applications[0]
        self.handled_by = [0] * instances  # updates each instance processed
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._user_ids = itertools.count(1001)

    def _instance(self, first: bool) -> PtbApplication:
        services = self.services
        bot = self.bot
        if not first:
            services = build_services(
                self.storage.repositories(),
                clock=self.clock,
                phones=PhoneNumbersNormalizer(),
                calendar=IcsCalendarRenderer(),
                dialogs=self.dialogs,
                flood=self.flood,
                reports=self.reports,
            )
            bot = Bot(TOKEN, request=RecordingRequest(self.api))
        application = build_application(services, bot)
        instrument(application)
        self._record_errors_first(application)
        return application

    def _record_errors_first(self, application: PtbApplication) -> None:
        """An error handler ahead of the pipeline's classifier: every error is seen here."""
        existing = dict(application.error_handlers)
        application.error_handlers.clear()

        async def record(update: object, context: Any) -> None:
            if context.error is not None:
                self.errors.append(context.error)

        application.add_error_handler(record)
        for callback, block in existing.items():
            application.add_error_handler(callback, block=block)

    def next_query_id(self) -> str:
        return f"q{next(self._query_ids)}"

    async def start(self) -> None:
        for application in self.applications:
            await application.initialize()  # getMe through the recording request

    async def stop(self) -> None:
        for application in self.applications:
            await application.shutdown()

    # --- people --------------------------------------------------------------------------

    def person(
        self, first_name: str = "Анна", *, language: str = "ru", phone: str = OWN_PHONE
    ) -> Person:
        user = {
            "id": next(self._user_ids),
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }
        self.api.add_user(user)
        return Person(self, user, phone)

    async def resident(
        self, first_name: str = "Анна", *, language: str = "ru", phone: str | None = OWN_PHONE
    ) -> Person:
        """A person already registered (stored directly: registration has its own tests)."""
        person = self.person(first_name, language=language, phone=phone or OWN_PHONE)
        await self.storage.users.save(
            User(
                telegram_id=person.id,
                name=first_name,
                phone=phone,
                language=language,
                consent_at=self.clock.now(),
                registered_at=self.clock.now(),
            )
        )
        return person

    # --- feeding updates ---------------------------------------------------------------------

    async def feed(self, payload: JsonDict, *, expect_errors: bool = False) -> list[ApiCall]:
        """One update through the product application; the Bot API calls it made."""
        self.seconds.advance(self.pace_s)
        before = len(self.api.calls)
        errors_before = len(self.errors)
        update_id = next(self._update_ids)
        turn = (update_id - 1) % len(self.applications)  # consecutive updates alternate
        application = self.applications[turn]
        update = Update.de_json({"update_id": update_id, **payload}, application.bot)
        await application.process_update(update)
        self.handled_by[turn] += 1
        calls = self.api.calls[before:]
        if not expect_errors:
            errors = self.errors[errors_before:]
            if errors:
                raise HandlerError(f"the update raised {errors[0]!r}") from errors[0]
            refused = [c for c in calls if c.error is not None]
            if refused:
                raise HandlerError(f"the Bot API refused {refused[0].method}: {refused[0].error}")
        return calls

    @contextmanager
    def burst(self) -> Iterator[None]:
        """Updates sent with no time between them (a flood)."""
        pace, self.pace_s = self.pace_s, 0.0
        try:
            yield
        finally:
            self.pace_s = pace

    # --- the workers' jobs ---------------------------------------------------------------

    def delivery(self) -> DeliveryService:
        return DeliveryService(
            self.storage.outbox,
            self.services.reminders,
            self.storage.users,
            self.storage.bookings,
            TelegramNoticeSender(self.services, self.bot),
            applications=self.storage.applications,
            sessions=self.storage.sessions,
            catalog=self.storage.catalog,
        )

    async def deliver_notices(self) -> DeliveryReport:
        before = len(self.api.calls)
        report = await self.delivery().deliver_notices()
        self._no_refusals(before)
        return report

    async def deliver_reminders(self) -> DeliveryReport:
        before = len(self.api.calls)
        report = await self.delivery().deliver_reminders()
        self._no_refusals(before)
        return report

    def _no_refusals(self, before: int) -> None:
        refused = [c for c in self.api.calls[before:] if c.error is not None]
        if refused:
            raise HandlerError(f"the Bot API refused {refused[0].method}: {refused[0].error}")

    # --- data ----------------------------------------------------------------------------

    async def add_session(
        self,
        *,
        complex_code: str = OLIMP,
        sport_code: str = "yoga",
        starts_at: datetime | None = None,
        capacity: int = 5,
        title: str = "Йога <для всех> & друзей",
        booked: int = 0,
    ) -> Session:
        start = starts_at or self.clock.now() + timedelta(days=2)
        session = Session(
            id=new_id(),
            complex_code=complex_code,
            sport_code=sport_code,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=capacity,
            booked=booked,
            title=LocalizedText({"ru": title, "en": title}) if title else LocalizedText(),
        )
        await self.storage.sessions.insert(session)
        return session


class Person:
    """One Telegram user talking to the bot."""

    def __init__(self, harness: BotHarness, user: JsonDict, phone: str) -> None:
        self.harness = harness
        self.user = user
        self.id: int = user["id"]
        self.phone = phone

    # --- what the chat shows -------------------------------------------------------------

    def messages(self) -> list[Shown]:
        """The bot's messages in this chat, oldest first, as they are now."""
        chat = self.harness.api.chats[self.id]
        return [
            Shown(copy.deepcopy(m), chat.html.get(m["message_id"], ""))
            for m in chat.messages.values()
            if m["from"]["id"] != self.id
        ]

    @property
    def last(self) -> Shown:
        shown = self.messages()
        assert shown, "the bot has said nothing yet"
        return shown[-1]

    def current(self, message: Shown | Reply) -> Shown:
        shown = message.screen if isinstance(message, Reply) else message
        assert shown is not None, "that update showed nothing"
        chat = self.harness.api.chats[self.id]
        raw = chat.messages[shown.id]
        return Shown(copy.deepcopy(raw), chat.html.get(shown.id, ""))

    @property
    def reply_keyboard(self) -> JsonDict | None:
        return self.harness.api.chats[self.id].reply_keyboard

    # --- what the user does --------------------------------------------------------------

    async def say(self, text: str, *, expect_errors: bool = False) -> Reply:
        content: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._send(content, expect_errors=expect_errors)

    async def share_contact(
        self, *, of_user_id: int | str | None = "self", phone: str | None = None
    ) -> Reply:
        """The contact button shares the sender's own card; ``of_user_id`` forges another one
        (someone else's card, or ``None`` for a contact typed into the address book)."""
        contact: JsonDict = {
            "phone_number": (phone or self.phone).lstrip("+"),
            "first_name": self.user["first_name"],
        }
        owner = self.id if of_user_id == "self" else of_user_id
        if owner is not None:
            contact["user_id"] = owner
        return await self._send({"contact": contact})

    async def share_location(
        self, latitude: float, longitude: float, *, expect_errors: bool = False
    ) -> Reply:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send({"location": location}, expect_errors=expect_errors)

    async def send_sticker(self) -> Reply:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "u-sticker-1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._send({"sticker": sticker})

    async def press(
        self,
        message: Shown | Reply,
        label_part: str,
        *,
        exact: bool = False,
        expect_errors: bool = False,
    ) -> Reply:
        """Press the first button whose label contains ``label_part`` (or is it, ``exact``) on
        the message as it is now."""
        shown = self.current(message)
        data = shown.data(label_part, exact=exact)
        return await self.press_data(shown, data, expect_errors=expect_errors)

    async def press_data(
        self, message: Shown | Reply, data: str, *, expect_errors: bool = False
    ) -> Reply:
        """Send a callback query with any data (a modified client can send anything)."""
        shown = self.current(message)
        query_id = self.harness.next_query_id()
        query = self.harness.api.callback_query(query_id, self.id, shown.id, data)
        calls = await self.harness.feed({"callback_query": query}, expect_errors=expect_errors)
        answers = self.harness.api.answered.get(query_id, 0)
        if answers != 1:
            raise HandlerError(f"the button {data!r} was answered {answers} times, not once")
        return self._reply(calls, pressed=shown.id)

    async def _send(self, content: JsonDict, *, expect_errors: bool = False) -> Reply:
        message = self.harness.api.user_message(self.id, content)
        calls = await self.harness.feed({"message": message}, expect_errors=expect_errors)
        return self._reply(calls, pressed=None)

    def _reply(self, calls: list[ApiCall], *, pressed: int | None) -> Reply:
        chat = self.harness.api.chats[self.id]
        # Snapshots: a Reply shows what that update did, whatever later updates change.
        sent = [
            Shown(copy.deepcopy(chat.messages[mid]), chat.html.get(mid, ""))
            for c in calls
            if c.method.startswith("send") and c.error is None and isinstance(c.result, dict)
            for mid in [int(c.result["message_id"])]
            if mid in chat.messages
        ]
        if sent:
            screen: Shown | None = sent[-1]
        elif pressed is not None and pressed in chat.messages:
            screen = Shown(copy.deepcopy(chat.messages[pressed]), chat.html.get(pressed, ""))
        else:
            screen = None
        return Reply(calls, screen, sent)


# --- the catalog every handler test starts with ----------------------------------------------


def _t(ru: str, en: str) -> LocalizedText:
    return LocalizedText({"ru": ru, "en": en})


SPORTS = (
    Sport("swimming", _t("Плавание", "Swimming"), "🏊"),
    Sport("yoga", _t("Йога", "Yoga"), "🧘"),
    Sport("boxing", _t("Бокс", "Boxing"), "🥊"),
    Sport("chess", _t("Шахматы", "Chess"), "♟"),
    Sport("volleyball", _t("Волейбол", "Volleyball"), "🏐"),
)
DISTRICTS = (
    District("avtozavodsky", _t("Автозаводский", "Avtozavodsky"), 1),
    District("kanavinsky", _t("Канавинский", "Kanavinsky"), 2),
    District("leninsky", _t("Ленинский", "Leninsky"), 3),
    District("moskovsky", _t("Московский", "Moskovsky"), 4),
    District("nizhegorodsky", _t("Нижегородский", "Nizhegorodsky"), 5),
    District("prioksky", _t("Приокский", "Prioksky"), 6),
    District("sovetsky", _t("Советский", "Sovetsky"), 7),  # no complexes
    District("closed", _t("Закрытый", "Closed"), 8, active=False),
)


def _located(
    code: str, name: str, district: str, sports: tuple[str, ...], lat: float, lon: float
) -> Complex:
    return Complex(
        code=code,
        name=_t(name, name),
        district=district,
        address=_t(f"ул. {name}, 1", f"{name} st., 1"),
        sports=sports,
        location=GeoPoint(lat, lon),
    )


COMPLEXES = (
    Complex(
        code=OLIMP,
        name=_t("ФОК «Олимп»", "Olimp"),
        district="avtozavodsky",
        address=_t("ул. Лескова, 12", "12 Leskova st."),
        sports=("swimming", "yoga", "volleyball"),
        phone="+78312951204",
        hours=_t("пн–вс 07:00–22:00", "Mon–Sun 07:00–22:00"),
        description=_t("25-метровый бассейн <6 дорожек> & сауна", "25 m pool <6 lanes> & sauna"),
        location=GeoPoint(56.2418, 43.8563),
        cancellation_window_hours=2,
        waitlist_hold_minutes=60,
        featured=True,
    ),
    _located(VODNIK, "ФОК «Водник»", "avtozavodsky", ("swimming",), 56.2450, 43.8600),
    _located("fok-kanavino", "ФОК «Канавино»", "kanavinsky", ("boxing", "chess"), 56.32, 43.95),
    _located("fok-lenin", "ФОК «Ленинец»", "leninsky", ("yoga",), 56.29, 43.93),
    _located("fok-moskva", "ФОК «Москва»", "moskovsky", ("boxing",), 56.35, 43.87),
    _located("fok-kremlin", "ФОК «Кремль»", "nizhegorodsky", ("swimming", "yoga"), 56.33, 44.0),
    _located("fok-oka", "ФОК «Ока»", "prioksky", ("chess",), 56.25, 43.98),
    *(
        Complex(
            code=f"fok-test-{index:02d}",
            name=_t(f"Тестовый ФОК {index:02d} <&>", f"Test {index:02d}"),
            district="avtozavodsky",
            address=_t(f"ул. Тестовая, {index}", f"{index} Test st."),
            sports=("chess",),
            sort_order=10 + index,
        )
        for index in range(8)
    ),
    Complex(
        code="fok-closed",
        name=_t("ФОК «Закрыт»", "Closed"),
        district="avtozavodsky",
        address=_t("ул. Закрытая, 1", "1 Closed st."),
        sports=("swimming",),
        active=False,
    ),
)


async def seed_catalog(storage: InMemoryStorage) -> None:
    for sport in SPORTS:
        await storage.catalog.upsert_sport(sport)
    for district in DISTRICTS:
        await storage.catalog.upsert_district(district)
    for complex_ in COMPLEXES:
        await storage.catalog.upsert_complex(complex_)

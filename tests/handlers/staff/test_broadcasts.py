"""«📣 Рассылка»: compose, preview, confirm, the progress message, cancel, and who may write to whom.

The fan-out runs here as the ``fok.broadcasts`` task runs it — ``BroadcastFanout`` over the same
services and ``TelegramBroadcastSender`` — over the harness's recording Bot API, so the residents'
chats and the author's progress message are what Telegram would show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.broadcasts import MAX_TEXT_UNITS, Broadcast, BroadcastState, RecipientState
from bot.domain.users import NotificationPreferences, Role
from bot.services.broadcasts import BroadcastFanout, FanoutPolicy, FanoutReport, reference
from bot.services.ports.broadcasts import Dispatch, SendOutcome
from bot.telegram.actions import StaffBroadcastAction
from bot.telegram.broadcast_sender import TelegramBroadcastSender
from bot.telegram.texts import t
from telegram_emulator.errors import ApiError
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person, Reply
from tests.handlers.staff.conftest import make_staff

B = StaffBroadcastAction
DENIED = t("ru", "error.permission_denied")
TEXT = "Бассейн закрыт на профилактику <до среды> & зал открыт. Подробнее: сайт"
# «Бассейн» bold, «сайт» a link; the typed «<до среды>» and «&» must arrive as text.
ENTITIES = [
    {"type": "bold", "offset": 0, "length": 7},
    {
        "type": "text_link",
        "offset": TEXT.index("сайт"),
        "length": 4,
        "url": "https://fok.example/news",
    },
]
HTML = (
    "<b>Бассейн</b> закрыт на профилактику &lt;до среды&gt; &amp; зал открыт. "
    'Подробнее: <a href="https://fok.example/news">сайт</a>'
)


async def say_formatted(person: Person, text: str, entities: list[dict[str, Any]]) -> Reply:
    """A message typed with Telegram's formatting (bold, links...): text plus entities."""
    return await person._send({"text": text, "entities": entities})


async def press(person: Person, data: str) -> Reply:
    return await person.press_data(await person.say("/menu"), data)


class Sender(TelegramBroadcastSender):
    """The real sender over the recording Bot; ``before_send`` may change a send's fate."""

    def __init__(self, harness: BotHarness) -> None:
        super().__init__(harness.services, harness.bot, None)
        self.before_send: Callable[[int, Dispatch], Any] | None = None
        self.sent_to: list[int] = []

    async def send(self, broadcast: Broadcast, user_id: int, *, dispatch: Dispatch) -> SendOutcome:
        if self.before_send is not None:
            await self.before_send(user_id, dispatch)
        outcome = await super().send(broadcast, user_id, dispatch=dispatch)
        self.sent_to.append(user_id)
        return outcome


def fanout(harness: BotHarness, sender: Sender | None = None, **policy: Any) -> BroadcastFanout:
    storage = harness.storage
    return BroadcastFanout(
        storage.broadcasts,
        storage.audiences,
        storage.users,
        sender or Sender(harness),
        harness.clock,
        policy=FanoutPolicy(**policy),
    )


async def run(harness: BotHarness, sender: Sender | None = None, **policy: Any) -> FanoutReport:
    return await fanout(harness, sender, **policy).run(
        until=harness.clock.now() + timedelta(hours=1)
    )


def broadcast_messages(person: Person) -> list[str]:
    return [m.html for m in person.messages() if m.text.startswith("Бассейн")]


def only_broadcast(harness: BotHarness) -> Broadcast:
    found = harness.storage.broadcasts.all()
    assert len(found) == 1
    return found[0]


async def residents(harness: BotHarness, *names: str) -> list[Person]:
    return [await harness.resident(name) for name in names]


# --- the whole way, as an admin --------------------------------------------------------------


async def test_admin_writes_to_everyone_previews_sends_and_sees_the_final_counts(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    anna, boris, vera = await residents(harness, "Анна", "Борис", "Вера")
    quiet = await harness.resident("Глеб")  # turned broadcasts off
    stored = await harness.storage.users.get(quiet.id)
    assert stored is not None
    await harness.storage.users.save(
        replace(stored, notifications=NotificationPreferences(broadcasts=False))
    )

    hub = await admin.say("/admin")
    home = await admin.press(hub, "📣 Рассылка")
    assert "Кому написать?" in home.text
    asked = await admin.press(home, "Всем жителям")
    # Everyone who may be reached: the three residents and the admin (a resident too), not Глеб.
    assert "Получателей сейчас: 4" in asked.text
    assert f"до {MAX_TEXT_UNITS} символов" in asked.text

    preview = await say_formatted(admin, TEXT, ENTITIES)
    assert preview.screen is not None
    assert HTML in preview.screen.html
    assert "Кому: все жители" in preview.text
    assert "Получателей: 4" in preview.text
    assert preview.screen.labels == ["✅ Отправить", "✏️ Изменить текст", "🗑 Удалить черновик"]
    assert only_broadcast(harness).state is BroadcastState.DRAFT
    assert broadcast_messages(anna) == []  # nothing goes before «Отправить»

    queued = await admin.press(preview, "Отправить")
    assert "Рассылка в очереди" in queued.text
    assert queued.screen is not None
    assert queued.screen.id == preview.screen.id
    assert queued.screen.labels == ["⛔ Остановить рассылку"]
    # Pressing «Отправить» again (a double tap on the old message) queues nothing more.
    again = await admin.press_data(preview, B.SEND.data(only_broadcast(harness).id))
    assert "Рассылка в очереди" in again.text

    report = await run(harness)
    assert (report.delivered, report.finished) == (4, True)
    for person in (anna, boris, vera, admin):
        assert broadcast_messages(person) == [HTML], person.user["first_name"]
    assert broadcast_messages(quiet) == []
    progress = admin.current(preview)
    assert "Рассылка завершена" in progress.text
    assert "Доставлено: 4" in progress.text
    assert "Получателей: 4" in progress.text
    assert "Остановить" not in " ".join(progress.labels)

    # Nothing is sent twice when the task runs again.
    assert (await run(harness)).delivered == 0
    assert broadcast_messages(anna) == [HTML]
    actions = [(e.actor_id, e.action) for e in harness.storage.audit.all()]
    assert actions == [(admin.id, "broadcast.draft"), (admin.id, "broadcast.queued")]


async def test_the_text_is_checked_and_the_step_kept_until_it_is_right(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    await harness.resident("Анна")
    asked = await press(admin, B.EVERYONE.data())
    assert "Новая рассылка" in asked.text
    too_long = await admin.say("я" * (MAX_TEXT_UNITS + 1))
    assert too_long.text == t("ru", "staff.broadcast.text_too_long", limit=MAX_TEXT_UNITS)
    # Emoji count twice (Telegram counts UTF-16 units): this is over the limit too.
    assert "Слишком длинно" in (await admin.say("😀" * (MAX_TEXT_UNITS // 2 + 1))).text
    assert harness.storage.broadcasts.all() == []
    typed_tags = await admin.say("<b>Важно</b>: зал закрыт")
    assert typed_tags.screen is not None
    assert "&lt;b&gt;Важно&lt;/b&gt;: зал закрыт" in typed_tags.screen.html
    assert "Предпросмотр" in typed_tags.text


async def test_typed_cancel_leaves_the_text_step(harness: BotHarness) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    await harness.resident("Анна")
    await press(admin, B.EVERYONE.data())
    left = await admin.say("Отмена")
    assert "Предпросмотр" not in left.text
    assert harness.storage.broadcasts.all() == []
    # The next text is not taken as a broadcast.
    assert "Предпросмотр" not in (await admin.say("Привет")).text
    assert harness.storage.broadcasts.all() == []


async def test_the_text_is_changed_or_the_draft_dropped_before_sending(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    await press(admin, B.EVERYONE.data())
    first = await admin.say("Первый вариант")
    asked = await admin.press(first, "Изменить текст")
    assert "Новая рассылка" in asked.text
    second = await admin.say("Второй вариант")
    assert "Второй вариант" in second.text
    draft = only_broadcast(harness)  # the same draft, its text replaced
    assert (draft.text, draft.state) == ("Второй вариант", BroadcastState.DRAFT)
    dropped = await admin.press(second, "Удалить черновик")
    assert dropped.text == t("ru", "staff.broadcast.discarded")
    assert only_broadcast(harness).state is BroadcastState.CANCELLED
    # The first preview's «Отправить» is stale now: refused, nothing sent.
    stale = await admin.press_data(first, B.SEND.data(draft.id))
    assert stale.is_alert
    assert (await run(harness)).delivered == 0
    assert [m.text for m in anna.messages()] == []
    actions = [e.action for e in harness.storage.audit.all()]
    assert actions == ["broadcast.draft", "broadcast.edited", "broadcast.discarded"]


# --- the progress message ----------------------------------------------------------------------


async def test_cancelled_before_it_starts_nothing_is_sent(harness: BotHarness) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    await press(admin, B.EVERYONE.data())
    preview = await admin.say("Завтра субботник")
    queued = await admin.press(preview, "Отправить")
    stopped = await admin.press(queued, "Остановить рассылку")
    assert "Рассылка остановлена" in stopped.text
    report = await run(harness)
    assert report.delivered == 0
    assert [m.text for m in anna.messages()] == []
    final = admin.current(preview)
    assert "Рассылка остановлена" in final.text
    assert "Остановить" not in " ".join(final.labels)
    assert only_broadcast(harness).final_shown
    assert [e.action for e in harness.storage.audit.all()][-1] == "broadcast.cancelled"


async def test_cancelled_while_running_it_stops_after_the_batch_in_hand(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    people = await residents(harness, *(f"Житель {i}" for i in range(6)))
    await press(admin, B.EVERYONE.data())
    preview = await admin.say("Объявление")
    await admin.press(preview, "Отправить")
    bid = only_broadcast(harness).id
    sender = Sender(harness)

    async def cancel_at_the_second(user_id: int, dispatch: Dispatch) -> None:
        if len(sender.sent_to) == 1:
            await harness.services.broadcasts.cancel(admin.id, bid)

    sender.before_send = cancel_at_the_second
    report = await run(harness, sender, batch=2, concurrency=1)
    assert (report.delivered, report.finished) == (2, True)
    got = [p for p in [*people, admin] if any(m.text == "Объявление" for m in p.messages())]
    assert len(got) == 2
    final = admin.current(preview)
    assert "Рассылка остановлена" in final.text
    assert "Доставлено: 2" in final.text
    assert "Не отправлено: 5" in final.text
    assert (await run(harness)).delivered == 0  # a later run sends nothing of it


async def test_people_who_blocked_the_bot_are_counted_and_marked_unreachable(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    anna, boris = await residents(harness, "Анна", "Борис")
    send_message = harness.api._methods["sendMessage"]

    def blocked_by_boris(params: dict[str, Any], files: Any) -> Any:
        if int(params["chat_id"]) == boris.id:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return send_message(params, files)

    harness.api._methods["sendMessage"] = blocked_by_boris
    await press(admin, B.EVERYONE.data())
    preview = await admin.say("Объявление")
    await admin.press(preview, "Отправить")
    report = await run(harness)
    assert (report.delivered, report.blocked) == (2, 1)
    final = admin.current(preview)
    assert "Заблокировали бота: 1" in final.text
    stored = await harness.storage.users.get(boris.id)
    assert stored is not None
    assert stored.unreachable
    assert [m.text for m in anna.messages()] == ["Объявление"]


async def test_a_dead_runners_message_in_flight_is_never_repeated_unless_the_author_asks(
    harness: BotHarness,
) -> None:
    """A runner dies after it dispatched Anna's message and before Telegram answered: the next run
    does not send it again (it may have arrived); the author sees it unconfirmed and may choose to
    send it again, which sends that one only."""
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    anna, boris = await residents(harness, "Анна", "Борис")
    await press(admin, B.EVERYONE.data())
    preview = await admin.say("Объявление")
    await admin.press(preview, "Отправить")
    dying = Sender(harness)

    async def die_in_flight(user_id: int, dispatch: Dispatch) -> None:
        if user_id == anna.id:
            assert await dispatch()
            raise asyncio.CancelledError  # the worker is gone, the request was on its way

    dying.before_send = die_in_flight
    with pytest.raises(asyncio.CancelledError):
        await run(harness, dying, concurrency=1)

    # The next run (another worker) takes over once the lease lapsed.
    harness.clock.advance(timedelta(seconds=31))
    report = await run(harness)
    assert report.recovered_unconfirmed == 1
    assert report.finished
    assert [m.text for m in anna.messages()] == []  # the dying send never got out here
    assert [m.text for m in boris.messages()] == ["Объявление"]
    final = admin.current(preview)
    assert "Не подтверждено: 1" in final.text
    resend = await admin.press(final, "Дослать неподтверждённым (1)")
    assert "Рассылка в очереди" in resend.text
    assert (await run(harness)).delivered == 1
    assert [m.text for m in anna.messages()] == ["Объявление"]
    assert [m.text for m in boris.messages()] == ["Объявление"]
    assert "Доставлено: 3" in admin.current(preview).text
    assert [e.action for e in harness.storage.audit.all()][-1] == "broadcast.resent"


# --- audiences and scope -----------------------------------------------------------------------


async def test_a_manager_writes_to_their_complex_and_its_sessions_only(
    harness: BotHarness,
) -> None:
    manager = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    olimp_applicant, olimp_booked, vodnik_applicant = await residents(
        harness, "Анна", "Борис", "Вера"
    )
    apps = harness.services.applications
    await apps.submit(olimp_applicant.id, OLIMP, "yoga")
    await apps.submit(vodnik_applicant.id, VODNIK, "swimming")
    yoga = await harness.add_session(complex_code=OLIMP, sport_code="yoga")
    vodnik_session = await harness.add_session(complex_code=VODNIK, sport_code="swimming")
    await harness.services.bookings.book(olimp_booked.id, yoga.id)

    home = await manager.press(await manager.say("/admin"), "📣 Рассылка")
    assert not home.screen or "Всем жителям" not in " ".join(home.screen.labels)
    complexes = await manager.press(home, "Жителям ФОК")
    assert [label for label in complexes.screen.labels if "ФОК" in label] == ["ФОК «Олимп»"]  # type: ignore[union-attr]
    asked = await manager.press(complexes, "Олимп")
    assert "Кому: жители ФОК «Олимп»\n" in asked.text
    assert "Получателей сейчас: 2" in asked.text
    preview = await manager.say("Олимп: новое расписание")
    await manager.press(preview, "Отправить")
    assert (await run(harness)).delivered == 2
    assert [m.text for m in olimp_applicant.messages()][-1] == "Олимп: новое расписание"
    assert [m.text for m in olimp_booked.messages()][-1] == "Олимп: новое расписание"
    assert all("Олимп: новое" not in m.text for m in vodnik_applicant.messages())

    # The people of one session: picked through the complex.
    picked = await manager.press(
        await manager.press(await press(manager, B.HOME.data()), "Участникам занятия"), "Олимп"
    )
    asked = await manager.press(picked, "Йога")
    assert "участники занятия" in asked.text
    assert "Получателей сейчас: 1" in asked.text

    # Forged buttons for what is not theirs: refused, nothing drafted.
    drafted = len(harness.storage.broadcasts.all())
    for data in (
        B.EVERYONE.data(),
        B.COMPLEX.data(reference(VODNIK)),
        B.SESSION.data(vodnik_session.id),
        B.SESSIONS.data(reference(VODNIK), 0),
    ):
        refused = await press(manager, data)
        assert refused.alert == DENIED, data
    assert len(harness.storage.broadcasts.all()) == drafted


async def test_a_managers_sport_audience_is_bounded_to_their_complexes(
    harness: BotHarness,
) -> None:
    manager = await make_staff(harness, "Олег", Role.MANAGER, frozenset({VODNIK}))
    at_olimp, at_vodnik = await residents(harness, "Анна", "Борис")
    await harness.services.applications.submit(at_olimp.id, OLIMP, "swimming")
    await harness.services.applications.submit(at_vodnik.id, VODNIK, "swimming")
    sports = await press(manager, B.SPORTS.data(0))
    assert "в ваших ФОК" in sports.text
    assert [label for label in sports.screen.labels if "Плавание" in label]  # type: ignore[union-attr]
    assert not [label for label in sports.screen.labels if "Йога" in label]  # type: ignore[union-attr]
    asked = await manager.press(sports, "Плавание")
    assert "занимающиеся: Плавание (в ваших ФОК)" in asked.text
    assert "Получателей сейчас: 1" in asked.text
    await manager.press(await manager.say("Бассейн Водника закрыт"), "Отправить")
    assert (await run(harness)).delivered == 1
    assert [m.text for m in at_vodnik.messages()] == ["Бассейн Водника закрыт"]
    assert at_olimp.messages() == []
    # A sport none of the manager's complexes offers is refused.
    assert (await press(manager, B.SPORT.data(reference("yoga")))).alert == DENIED


async def test_an_audience_with_nobody_to_reach_is_not_composed(harness: BotHarness) -> None:
    manager = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    shown = await press(manager, B.COMPLEX.data(reference(OLIMP)))
    assert "Сейчас некому написать" in shown.text
    assert "Предпросмотр" not in (await manager.say("Текст")).text
    assert harness.storage.broadcasts.all() == []


async def test_someone_elses_broadcast_is_refused_to_a_manager_but_an_admin_sees_it(
    harness: BotHarness,
) -> None:
    author = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    other = await make_staff(harness, "Олег", Role.MANAGER, frozenset({OLIMP}))
    admin = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    await harness.services.applications.submit(anna.id, OLIMP, "yoga")
    await press(author, B.COMPLEX.data(reference(OLIMP)))
    preview = await author.say("Олимп")
    await author.press(preview, "Отправить")
    bid = only_broadcast(harness).id
    assert (await press(other, B.CANCEL.data(bid))).alert == DENIED
    assert (await press(other, B.SEND.data(bid))).alert == DENIED
    assert (await press(admin, B.EDIT.data(bid))).alert == DENIED  # only its author edits it
    assert "Олимп" not in (await press(other, B.LIST.data(0))).text.split("\n", 1)[-1]
    listed = await press(admin, B.LIST.data(0))
    card = await admin.press(listed, "Олимп")
    assert "Автор: Ольга" in card.text
    stopped = await admin.press(card, "Остановить рассылку")
    assert "Рассылка остановлена" in stopped.text
    assert [(e.actor_id, e.action) for e in harness.storage.audit.all()][-1] == (
        admin.id,
        "broadcast.cancelled",
    )
    assert all(
        r.state is RecipientState.PENDING for r in harness.storage.broadcasts.recipients(bid)
    )


async def test_the_english_speaking_author_gets_english_screens(harness: BotHarness) -> None:
    admin = await make_staff(harness, "John", Role.ADMIN, language="en")
    await harness.resident("Анна")
    asked = await press(admin, B.EVERYONE.data())
    assert "Recipients now: 2" in asked.text
    preview = await admin.say("Pool closed")
    queued = await admin.press(preview, "Send")
    assert "Broadcast queued" in queued.text
    await run(harness)
    assert "Broadcast finished" in admin.current(preview).text

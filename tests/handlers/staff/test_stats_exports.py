"""«📥 Выгрузка в Excel»: applications with their history and bookings with attendance as .xlsx,
every row checked against the data; a large export built by the worker with its progress shown
and the file sent once; refusals, an empty period, a queue that is away."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.domain.applications import ActorKind, ApplicationStatus, new_application
from bot.domain.bookings import Attendance, BookingStatus, booking_id
from bot.domain.users import Role
from bot.services.ports.reports import ExportStatus
from bot.services.users import complex_reference
from bot.telegram.actions import StaffExportAction
from bot.telegram.export_sender import TelegramExportSender
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person, Reply
from tests.handlers.staff.conftest import make_staff

S = ApplicationStatus
B = BookingStatus
MOSCOW = ZoneInfo("Europe/Moscow")
ORIGINAL_COLUMNS = [
    "ID заявки",
    "Дата подачи",
    "Имя заявителя",
    "Телефон",
    "ФОК",
    "Район",
    "Адрес",
    "Статус",
    "Дата обновления",
    "Примечания",
]
DENIED = t("ru", "error.permission_denied")


def local(moment: datetime) -> datetime:
    return moment.astimezone(MOSCOW).replace(tzinfo=None, microsecond=0)


def workbook_of(reply: Reply) -> tuple[str, dict[str, list[list[object]]]]:
    (call,) = reply.calls_of("sendDocument")
    filename, content = call.files["document"]
    book = load_workbook(io.BytesIO(content))
    try:
        sheets = {
            name: [[cell.value for cell in row] for row in book[name].iter_rows()]
            for name in book.sheetnames
        }
    finally:
        book.close()
    return filename, sheets


def edited(reply: Reply) -> str:
    """The text the pressed message was edited into."""
    (call,) = reply.calls_of("editMessageText")
    return str(call.params["text"])


async def open_exports(person: Person) -> Reply:
    panel = await person.say("/admin")
    stats = await person.press(panel, "Статистика")
    return await person.press(stats, "Выгрузка в Excel")


async def test_applications_and_their_history_row_by_row(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    anna = await harness.resident("Анна <b>", phone="+79160000001")
    boris = await harness.resident("Борис", phone="+79160000002")
    first = (
        await harness.services.applications.submit(anna.id, OLIMP, "yoga", "по вечерам")
    ).application
    harness.clock.advance(timedelta(hours=1))
    second = (await harness.services.applications.submit(boris.id, OLIMP, "swimming")).application
    await harness.services.applications.submit(boris.id, VODNIK, "swimming")  # not hers
    harness.clock.advance(timedelta(minutes=30))
    await harness.services.applications.staff_transition(
        olga.id, first.id, S.ACCEPTED, comment="Ждём в понедельник"
    )
    menu = await open_exports(olga)
    assert "📥 Выгрузка в Excel" in menu.text
    assert "🏢 ФОК «Олимп»" in menu.text
    made = await olga.press(menu, "Заявки и история")
    assert made.methods == ["editMessageText", "answerCallbackQuery", "sendDocument"]
    assert "✅ Выгрузка «Заявки» готова: 2 строк" in edited(made)
    filename, sheets = workbook_of(made)
    assert filename == "applications_20261025_20261123.xlsx"
    assert list(sheets) == ["Заявки", "История"]
    header, *rows = sheets["Заявки"]
    assert header == [*ORIGINAL_COLUMNS, "Вид спорта"]
    stored = {a.id: a for a in harness.storage.applications.all()}
    expected = []
    for application in (stored[first.id], stored[second.id]):
        expected.append(
            [
                str(application.number),
                local(application.created_at),
                application.applicant_name,
                application.applicant_phone,
                "ФОК «Олимп»",
                "Автозаводский",
                "ул. Лескова, 12",
                t("ru", f"status.{application.status.value}"),
                local(application.updated_at),
                application.comment,
                {"yoga": "Йога", "swimming": "Плавание"}[application.sport_code],
            ]
        )
    assert rows == expected
    assert rows[0][2] == "Анна <b>"  # as typed, not escaped
    history_header, *history = sheets["История"]
    assert history_header == ["ID заявки", "Когда", "Кто", "Было", "Стало", "Комментарий"]
    expected_history = [
        [
            str(a.number),
            local(change.at),
            "заявитель"
            if change.actor_kind is ActorKind.APPLICANT
            else f"сотрудник {change.actor_id}",
            t("ru", f"status.{change.from_status.value}") if change.from_status else None,
            t("ru", f"status.{change.to_status.value}"),
            change.comment,
        ]
        for a in (stored[first.id], stored[second.id])
        for change in a.history
    ]
    assert history == expected_history
    assert len(history) == 3  # submitted, accepted; submitted
    assert history[1][2:] == [
        f"сотрудник {olga.id}",
        "На рассмотрении",
        "Принята",
        "Ждём в понедельник",
    ]
    (entry,) = [e for e in harness.storage.audit.all() if e.action == "export.applications"]
    assert (entry.actor_id, entry.target_type) == (olga.id, "report")
    assert entry.details["rows"] == 2
    assert entry.details["complexes"] == [OLIMP]


async def test_bookings_and_attendance_per_session(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    now = harness.clock.now()
    people = [
        await harness.resident(name, phone=f"+7916000000{i}") for i, name in enumerate("АБВГ")
    ]
    past = await harness.add_session(
        starts_at=now - timedelta(days=1), capacity=3, title="Йога утром"
    )
    for person, status, attendance in (
        (people[0], B.ACTIVE, Attendance.ATTENDED),
        (people[1], B.ACTIVE, Attendance.NO_SHOW),
        (people[2], B.ACTIVE, None),
        (people[3], B.WAITLISTED, None),
    ):
        bid = booking_id(past.id, person.id)
        assert await harness.storage.bookings.claim(bid, past.id, person.id, now)
        assert await harness.storage.bookings.move(bid, frozenset({B.RESERVING}), status, now)
        if attendance is not None:
            assert await harness.storage.bookings.mark_attendance(bid, attendance, ivan.id, now)
    empty = await harness.add_session(complex_code=VODNIK, sport_code="swimming", title="")
    menu = await open_exports(ivan)
    assert "🏢 все ФОК" in menu.text
    made = await ivan.press(menu, "Записи и посещаемость")
    assert "✅ Выгрузка «Записи и посещаемость» готова: 4 строк" in edited(made)
    filename, sheets = workbook_of(made)
    assert filename == "bookings_20261025_20261123.xlsx"
    assert list(sheets) == ["Записи", "Посещаемость"]
    header, *rows = sheets["Записи"]
    assert header == [
        "Занятие",
        "ФОК",
        "Вид спорта",
        "Начало",
        "Участник",
        "Телефон",
        "Telegram ID",
        "Статус записи",
        "Посещение",
        "Отмечено",
        "Записан(а)",
    ]
    stored = {b.user_id: b for b in harness.storage.bookings.all()}
    start = local(past.starts_at)
    assert rows == [
        [
            "Йога утром",
            "ФОК «Олимп»",
            "Йога",
            start,
            person.user["first_name"],
            person.phone,
            person.id,
            label,
            mark,
            local(stored[person.id].attendance_at) if stored[person.id].attendance_at else None,
            local(stored[person.id].created_at),
        ]
        for person, label, mark in (
            (people[0], "записан", "пришёл"),
            (people[1], "записан", "не пришёл"),
            (people[2], "записан", None),
            (people[3], "в листе ожидания", None),
        )
    ]
    attendance_header, *attendance = sheets["Посещаемость"]
    assert attendance_header[4:] == [
        "Мест",
        "Записано",
        "Пришли",
        "Неявки",
        "Не отмечено",
        "В листе ожидания",
        "Отменено",
    ]
    assert attendance == [["Йога утром", "ФОК «Олимп»", "Йога", start, 3, 3, 1, 1, 1, 1, "нет"]]
    assert empty.id not in str(sheets)  # a session in two days is outside the period


async def large(harness: BotHarness, count: int) -> None:
    """``count`` applications at Олимп in the last days, each by another person."""
    now = harness.clock.now()
    for index in range(count):
        made = new_application(
            application_id=f"{index:024x}",
            user_id=100_000 + index,
            complex_code=OLIMP,
            sport_code="yoga",
            at=now - timedelta(minutes=index),
            comment=None,
            applicant_name=f"Житель {index}",
            applicant_phone=None,
            number=index + 1,
        )
        await harness.storage.applications.insert(made)


async def test_a_large_export_is_built_by_the_worker_with_its_progress_and_sent_once(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    await large(harness, 1203)
    menu = await open_exports(ivan)
    asked = await ivan.press(menu, "Заявки и история")
    assert asked.methods == ["editMessageText", "answerCallbackQuery"]  # no file yet
    assert "большая (1203 строк): собираю её в фоне" in asked.text
    (job_id,) = harness.reports.queue.queued
    (job,) = harness.reports.jobs.all()
    assert (job.status, job.rows, job.chat_id, job.actor_id) == (
        ExportStatus.QUEUED,
        1203,
        ivan.id,
        ivan.id,
    )

    before = len(harness.api.calls)
    sender = TelegramExportSender(harness.bot)
    assert await harness.services.exports.run_job(job_id, sender) is ExportStatus.DONE
    calls = harness.api.calls[before:]
    assert all(call.error is None for call in calls)
    methods = [call.method for call in calls]
    assert methods[0] == "sendMessage"
    assert methods[-2:] == ["sendDocument", "editMessageText"]
    progress = [c.params["text"] for c in calls if c.method in ("sendMessage", "editMessageText")]
    assert progress[0] == "⏳ Собираю выгрузку «Заявки»: 0 из 1203 строк…"
    assert "⏳ Собираю выгрузку «Заявки»: 500 из 1203 строк…" in progress
    assert progress[-1] == "✅ Выгрузка «Заявки» готова: 1203 строк."
    assert len(progress) <= 2 + 5  # a few steps, not one edit per row
    progress_id = calls[0].result["message_id"]
    assert {c.params["message_id"] for c in calls if c.method == "editMessageText"} == {progress_id}
    document = next(c for c in calls if c.method == "sendDocument")
    assert document.params["caption"].startswith(
        "📊 Заявки\n📅 25.10.2026 – 23.11.2026\n🏢 все ФОК"
    )
    _, content = document.files["document"]
    book = load_workbook(io.BytesIO(content), read_only=True)
    try:
        rows = list(book["Заявки"].iter_rows(values_only=True))
    finally:
        book.close()
    assert len(rows) == 1 + 1203
    assert [row[0] for row in rows[1:4]] == ["1203", "1202", "1201"]  # oldest first
    (done,) = harness.reports.jobs.all()
    assert done.status is ExportStatus.DONE
    assert done.progress_message_id == progress_id
    # Delivered again by the broker (acks_late): nothing is built or sent twice.
    again = len(harness.api.calls)
    assert await harness.services.exports.run_job(job_id, sender) is None
    assert len(harness.api.calls) == again
    (entry,) = [e for e in harness.storage.audit.all() if e.action == "export.applications"]
    assert entry.details["built"] == "queued"
    assert entry.details["job"] == job_id


async def test_a_requester_who_lost_the_role_before_the_worker_ran_gets_no_file(
    harness: BotHarness,
) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    await large(harness, 600)
    asked = await ivan.press(await open_exports(ivan), "Заявки и история")
    assert "собираю её в фоне" in asked.text
    (job_id,) = harness.reports.queue.queued
    await harness.services.users.set_role(None, ivan.id, None)
    before = len(harness.api.calls)
    status = await harness.services.exports.run_job(job_id, TelegramExportSender(harness.bot))
    assert status is ExportStatus.FAILED
    calls = harness.api.calls[before:]
    assert [c.method for c in calls] == ["sendMessage"]
    assert (
        calls[0].params["text"]
        == "❌ Не удалось собрать выгрузку «Заявки». Попробуйте ещё раз позже."
    )


async def test_an_empty_period_a_queue_that_is_away_and_refusals(harness: BotHarness) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    menu = await open_exports(olga)
    today = await olga.press_data(menu, StaffExportAction.RUN.data("a", "t", "-"))
    assert today.text == "📭 За 23.11.2026 – 23.11.2026 выгружать нечего: строк нет."
    assert not today.calls_of("sendDocument")

    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    await large(harness, 501)
    harness.reports.queue.down = True
    away = await ivan.press(await open_exports(ivan), "Заявки и история")
    assert away.text == t("ru", "staff.export.unavailable")
    (job,) = harness.reports.jobs.all()
    assert job.status is ExportStatus.FAILED
    assert [e for e in harness.storage.audit.all() if e.action.startswith("export.")] == []

    forged = await olga.press_data(
        menu, StaffExportAction.RUN.data("a", "m", complex_reference(VODNIK))
    )
    assert forged.alert == DENIED
    anna = await harness.resident("Анна")
    refused = await anna.press_data(
        await anna.say("/menu"), StaffExportAction.RUN.data("b", "m", "-")
    )
    assert refused.alert == DENIED
    menu_refused = await anna.press_data(
        await anna.say("/menu"), StaffExportAction.MENU.data("m", "-")
    )
    assert menu_refused.alert == DENIED
    outdated = await olga.press_data(menu, StaffExportAction.RUN.data("z", "m", "-"))
    assert outdated.alert == t("ru", "fallback.outdated")

"""The staff side in a real browser: headless Chromium on the emulator's chat page, against the
whole local cluster (`python -m devcluster up`: three bot instances behind HAProxy, SecantusDB,
the Redis Cluster, Celery workers and beats).

A resident registers and applies to a section; the operator makes a staff member the manager of
that complex with `scripts/admin_tools.py users grant`; the manager, in their own page, opens
«🛠 Управление», finds the application and accepts it (the resident's page then shows the notice
the workers delivered), sets a session up, the resident books it, and the manager marks them
present. The second test walks the panel's other sections as the manager and the super admin.
What the pages show is checked against bot/telegram/texts.py (Russian); what is stored, with
PyMongo against the cluster's SecantusDB.

With FOK_WRITE_GUIDE_SCREENSHOTS=1 the same run writes docs/img/staff-guide/*.png, the staff
guide's illustrations (scripts/staff-guide-screenshots.sh).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from pymongo import MongoClient

from bot.telegram.texts import t
from tests.browser.conftest import NOTICE_TIMEOUT_MS, ChatPage, Cluster

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

COMPLEX = "fok-avtozavodsky-1"  # ФОК «Олимп», Europe/Moscow
COMPLEX_NAME = "ФОК «Олимп»"
MOSCOW = ZoneInfo("Europe/Moscow")
SUPER_ADMIN_ID = 100001  # devcluster's own (APP_SUPER_ADMIN_IDS)
RESIDENT_ID, RESIDENT = 500001, "Анна Смирнова"
MANAGER_ID, MANAGER = 500002, "Ольга Петрова"
COMMENT = "Ждём вас в понедельник в 18:00"


def ru(key: str, **values: object) -> str:
    """A text of bot/telegram/texts.py as the page shows it: tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", t("ru", key, **values)))


def first_line(key: str, **values: object) -> str:
    return ru(key, **values).strip().splitlines()[0]


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Iterator[Any]:
    client: MongoClient[dict[str, Any]]
    with MongoClient(cluster.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        yield client[cluster.bot_env()["MONGO_DATABASE"]]


def register(page: ChatPage, name: str) -> None:
    """/start, the name, the phone (the reply keyboard's contact button), the consent."""
    page.say("/start")
    page.expect_last("Для начала скажите, как к вам обращаться?")
    page.say(name)
    page.expect_last(first_line("start.ask_phone", name=name))
    page.press_reply(t("ru", "button.share_phone"))
    page.expect_last(first_line("start.ask_consent"))
    page.press(t("ru", "start.agree"))
    page.expect_last(ru("start.done"), name)


def open_complex(page: ChatPage) -> None:
    page.say("/menu")
    page.press(t("ru", "menu.catalog"))
    page.expect_last(first_line("catalog.districts"))
    page.press("📍 Автозаводский")
    page.press(f"🏢 {COMPLEX_NAME}")
    page.expect_last(COMPLEX_NAME, "ул. Лескова, 12")


def start_of_session() -> datetime:
    """In 40 minutes (arrivals may be marked from an hour before), Moscow time, on a minute the
    seeded weekly slots (on the hour and half hour) never use."""
    starts = (datetime.now(UTC) + timedelta(minutes=40)).astimezone(MOSCOW)
    starts = starts.replace(second=0, microsecond=0)
    return starts + timedelta(minutes=1) if starts.minute % 30 == 0 else starts


def test_resident_applies_manager_accepts_sets_up_a_session_and_marks_attendance(
    cluster: Cluster, browser: Browser, db: Any
) -> None:
    resident = ChatPage.open_new_user(browser, cluster, RESIDENT_ID, "Анна")
    manager = ChatPage.open_new_user(browser, cluster, MANAGER_ID, "Ольга")
    try:
        # The resident registers and applies to the swimming section of «Олимп».
        register(resident, RESIDENT)
        assert resident.button(t("ru", "staff.menu_entry")).count() == 0  # no staff entry
        open_complex(resident)
        resident.press(t("ru", "catalog.apply"))
        resident.press("Плавание")
        resident.press(t("ru", "apply.no_comment"))
        resident.expect_last(first_line("apply.submitted", complex=COMPLEX_NAME, sport="Плавание"))

        # The staff member registers like anyone; the operator grants the manager's role.
        register(manager, MANAGER)
        granted = cluster.admin_tools(
            "users", "grant", str(MANAGER_ID), "manager", "--complex", COMPLEX
        )
        assert f"user {MANAGER_ID} is now manager for {COMPLEX}" in granted

        # «🛠 Управление» appears in the manager's main menu and opens the panel.
        manager.say("/menu")
        manager.expect_last(MANAGER)
        manager.shot("main-menu-staff-entry")
        manager.press(t("ru", "staff.menu_entry"))
        hub = manager.expect_last("Панель администратора", "Роль: менеджер", COMPLEX_NAME)
        for entry in ("staff.hub.applications", "staff.sessions.hub_entry", "staff.hub.stats"):
            assert manager.button(t("ru", entry)).count() == 1
        assert manager.button(t("ru", "staff.hub.audit")).count() == 0  # super admins only
        assert hub.locator(".inline-button").count() == 7
        manager.shot("hub-manager")
        manager.shot_page("chat-page-manager")

        # The new application: the list by status, then its card.
        manager.press(t("ru", "staff.hub.applications"))
        manager.expect_last(first_line("staff.apps.menu"))
        manager.shot("applications-menu")
        manager.press("⏳ На рассмотрении (1)")
        manager.expect_last("⏳ На рассмотрении: 1")
        manager.press(f"⏳ № 1 · {COMPLEX_NAME} · {RESIDENT}")
        manager.expect_last("📋 Заявка № 1", RESIDENT, "+79000500001", "Плавание")
        manager.shot("application-card")
        manager.press(t("ru", "staff.apps.do.accepted"))
        manager.expect_last("Напишите комментарий для заявителя")
        manager.shot("application-accept-comment")
        manager.say(COMMENT)
        manager.expect_last(
            t("ru", "staff.apps.done.accepted"),
            f"{MANAGER}: ⏳ На рассмотрении → ✅ Принята",
            COMMENT,
        )
        manager.shot("application-accepted")

        # The workers deliver the notice; the resident's page shows it.
        resident.expect_last("📋 Заявка №1 обновлена", COMMENT, timeout=NOTICE_TIMEOUT_MS)
        resident.shot("resident-accepted-notice")

        # A one-off session today, in 40 minutes: sport, date, start, length, seats, confirm.
        starts = start_of_session()
        manager.press(t("ru", "staff.hub.to_hub"))
        manager.press(t("ru", "staff.sessions.hub_entry"))
        manager.press(COMPLEX_NAME)
        manager.expect_last(f"📅 {COMPLEX_NAME}", "Ближайшие занятия")
        manager.shot("sessions-schedule")
        manager.press("➕ Разовое занятие")
        manager.press("Йога")
        manager.expect_last("Введите дату занятия")
        manager.say(f"{starts:%d.%m.%Y}")
        manager.expect_last("Введите время начала")
        manager.say(f"{starts:%H:%M}")
        manager.press("60")
        manager.expect_last("Сколько мест?")
        manager.say("5")
        manager.expect_last("👥 Мест: 5", "Всё верно?")
        manager.shot("session-summary")
        manager.press(t("ru", "staff.sessions.create"))
        manager.expect_last("✅ Занятие создано: ", f"{starts:%H:%M}, Йога")
        session = db.sessions.find_one(
            {"complex_code": COMPLEX, "starts_at": starts.astimezone(UTC).replace(tzinfo=None)}
        )
        assert session is not None, "the session is not stored"

        # The resident books it from the complex's schedule.
        open_complex(resident)
        resident.press(t("ru", "catalog.schedule"))
        today = datetime.now(UTC).astimezone(MOSCOW).date()
        if starts.date() != today:  # 40 minutes before midnight: tomorrow's page
            resident.press(t("ru", "nav.next"))
        resident.press(f"{starts:%H:%M}", exact=False)
        resident.press(t("ru", "session.book"))
        resident.expect_last("✅ Вы записаны!", "Код для отметки на входе")

        # The manager opens the session's card and marks the resident present.
        manager.press(t("ru", "staff.hub.to_hub"))
        manager.press(t("ru", "staff.sessions.hub_entry"))
        manager.press(COMPLEX_NAME)
        manager.press(f"{starts:%d.%m %H:%M} Йога — 1/5", exact=False)
        manager.expect_last("👥 Записано: 1 из 5", RESIDENT)
        manager.shot("session-roster")
        manager.press(t("ru", "staff.sessions.came_button", name=RESIDENT))
        manager.expect_last(f"✅ {RESIDENT}")
        manager.shot("session-attendance-marked")
    finally:
        resident.close()
        manager.close()

    # What is stored: the numbered application and its history, the role the operator gave,
    # the session, the attendance mark, the audit entries and the delivered notice.
    (application,) = db.applications.find({"user_id": RESIDENT_ID})
    assert (application["number"], application["status"]) == (1, "accepted")
    assert [(h["from"], h["to"], h["actor_id"], h["comment"]) for h in application["history"]] == [
        (None, "pending", RESIDENT_ID, None),
        ("pending", "accepted", MANAGER_ID, COMMENT),
    ]
    staff = db.users.find_one({"_id": MANAGER_ID})
    assert staff is not None
    assert (staff["role"], staff["managed_complexes"]) == ("manager", [COMPLEX])
    booking = db.bookings.find_one({"session_id": session["_id"], "user_id": RESIDENT_ID})
    assert booking is not None
    assert (booking["status"], booking["attendance"], booking["attendance_by"]) == (
        "active",
        "attended",
        MANAGER_ID,
    )
    actions = {(e["actor_id"], e["action"]) for e in db.audit_log.find({})}
    assert {
        (0, "user.role"),
        (MANAGER_ID, "application.accepted"),
        (MANAGER_ID, "session.create"),
        (MANAGER_ID, "booking.attendance"),
    } <= actions
    told = db.outbox.find_one({"kind": "application_status", "user_id": RESIDENT_ID})
    assert told is not None
    assert told["status"] == "sent"


SUPER_ADMIN = "Сергей Админов"
NEIGHBOUR_ID, NEIGHBOUR = 500003, "Борис Иванов"
BROADCAST = "Бассейн закрыт на санобработку 5 декабря."
NEW_PHONE = "+7 831 295-12-05"


def test_super_admin_finds_a_person_edits_the_catalog_exports_broadcasts_and_reads_the_audit(
    cluster: Cluster, browser: Browser, db: Any
) -> None:
    resident = ChatPage.open_new_user(browser, cluster, NEIGHBOUR_ID, "Борис")
    admin = ChatPage.open_existing_user(browser, cluster, SUPER_ADMIN_ID)
    try:
        # The super admin (devcluster's APP_SUPER_ADMIN_IDS) sees every section of the panel.
        register(admin, SUPER_ADMIN)
        admin.say("/admin")
        hub = admin.expect_last("Роль: супер-администратор", "ФОК: все")
        assert hub.locator(".inline-button").count() == 9
        for entry in ("staff.hub.users", "staff.hub.audit", "staff.catalog.hub_entry"):
            assert admin.button(t("ru", entry)).count() == 1
        admin.shot("hub-super-admin")

        # A resident of «Олимп» applies to volleyball there: in that complex's audience from now
        # on, and everyone responsible for the complex is told (the workers' delivery).
        register(resident, NEIGHBOUR)
        open_complex(resident)
        resident.press(t("ru", "catalog.apply"))
        resident.press("Волейбол")
        resident.press(t("ru", "apply.no_comment"))
        resident.expect_last(first_line("apply.submitted", complex=COMPLEX_NAME, sport="Волейбол"))
        notice = admin.expect_last(
            "🆕 Новая заявка № ", f"👤 {NEIGHBOUR}", "Волейбол", timeout=NOTICE_TIMEOUT_MS
        )
        labels = notice.locator(".inline-button").all_inner_texts()
        assert [label.strip() for label in labels] == [
            t("ru", "staff.apps.do.accepted"),
            t("ru", "staff.apps.do.rejected"),
            t("ru", "staff.notify.open"),
        ]
        admin.shot("new-application-notice")

        # «👥 Пользователи»: a person by part of the name, their card.
        admin.say("/admin")
        admin.press(t("ru", "staff.hub.users"))
        admin.expect_last("Введите имя, телефон или Telegram ID")
        admin.say("Борис")
        admin.expect_last("найдено: 1")
        admin.press(f"{NEIGHBOUR} · +79000500003 · {NEIGHBOUR_ID}")
        admin.expect_last(
            f"👤 {NEIGHBOUR}", "🎖 Роль: нет (житель)", f"{COMPLEX_NAME}: ⏳ На рассмотрении"
        )
        admin.shot("user-card")

        # «🏢 Каталог»: the complex's card, one field typed anew.
        admin.say("/admin")
        admin.press(t("ru", "staff.catalog.hub_entry"))
        admin.expect_last("ФОК, районы и виды спорта.")
        admin.shot("catalog-menu")
        admin.press("🏢 ФОК")
        admin.press(COMPLEX_NAME)
        admin.expect_last(f"Код: {COMPLEX}", "🌍 Часовой пояс: Europe/Moscow")
        admin.press("✏️ Телефон")
        admin.expect_last("Введите телефон")
        admin.say(NEW_PHONE)
        admin.expect_last("✅ Сохранено: ✏️ Телефон", f"📞 Телефон: {NEW_PHONE}")
        admin.shot("complex-card")

        # «📊 Статистика» and its Excel export: the file arrives in the chat.
        admin.say("/admin")
        admin.press(t("ru", "staff.hub.stats"))
        admin.expect_last("📊 Статистика", "🔥 Популярные ФОК", COMPLEX_NAME)
        admin.shot("statistics")
        admin.press(t("ru", "staff.stats.export"))
        admin.expect_last("Что выгрузить?")
        admin.press("📋 Заявки и история")
        download = admin.page.locator("a.download").last
        expect(download).to_contain_text(re.compile(r"📎 applications_\d{8}_\d{8}\.xlsx"))
        admin.shot("export-file")

        # «📣 Рассылка» to the residents of «Олимп»: the preview, sent, and the resident has it.
        admin.say("/admin")
        admin.press(t("ru", "staff.broadcast.hub_entry"))
        admin.press("🏢 Жителям ФОК")
        admin.press(COMPLEX_NAME)
        admin.expect_last("✍️ Новая рассылка", "Получателей сейчас:")
        admin.say(BROADCAST)
        admin.expect_last("👁 Предпросмотр", BROADCAST, "Отправить это сообщение?")
        admin.shot("broadcast-preview")
        admin.press("✅ Отправить")
        admin.expect_last("✅ Рассылка завершена", "✅ Доставлено:", timeout=NOTICE_TIMEOUT_MS)
        admin.shot("broadcast-done")
        resident.expect_last(BROADCAST, timeout=NOTICE_TIMEOUT_MS)

        # «📊 Еженедельный отчёт»: the schedule, on for every staff member.
        admin.say("/admin")
        admin.press(t("ru", "report.hub_entry"))
        admin.expect_last("Каждый понедельник в 09:00 (Europe/Moscow)", "Сейчас: 🔔 присылать")
        admin.shot("weekly-report")

        # «📜 Журнал действий»: newest first, who did what.
        admin.say("/admin")
        admin.press(t("ru", "staff.hub.audit"))
        admin.expect_last("📜 Журнал действий", f"{SUPER_ADMIN} ({SUPER_ADMIN_ID})")
        admin.shot("audit-log")
    finally:
        resident.close()
        admin.close()

    complex_doc = db.complexes.find_one({"_id": COMPLEX})
    assert complex_doc is not None
    assert complex_doc["phone"] == NEW_PHONE
    (broadcast,) = db.broadcasts.find({"author_id": SUPER_ADMIN_ID, "text": BROADCAST})
    assert broadcast["state"] == "done"
    assert broadcast["audience"]["complex_code"] == COMPLEX
    assert broadcast["counts"]["delivered"] == broadcast["counts"]["total"] >= 1
    delivered = db.broadcast_recipients.find_one(
        {"broadcast_id": broadcast["_id"], "user_id": NEIGHBOUR_ID}
    )
    assert delivered is not None
    assert delivered["state"] == "delivered"
    actions = {e["action"] for e in db.audit_log.find({"actor_id": SUPER_ADMIN_ID})}
    assert {"complex.update", "stats.view", "export.applications", "broadcast.queued"} <= actions

"""Applications: apply from the card (sport, phone on the spot, comment), repeats and double taps,
my applications (paged, card with history), cancelling with confirmation, a staff decision
reaching the user through the outbox, and a confirmation drawn before that decision refused."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.applications import ApplicationStatus
from bot.domain.users import Role
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, OWN_PHONE, VODNIK, BotHarness, Person, Reply

S = ApplicationStatus


async def open_card(person: Person, name: str = "Олимп") -> Reply:
    districts = await person.press(await person.say("/menu"), "Каталог ФОК")
    return await person.press(await person.press(districts, "Автозаводский"), name)


async def test_apply_with_the_phone_added_on_the_spot_and_a_typed_comment(
    harness: BotHarness,
) -> None:
    anna = await harness.resident("Анна", phone=None)
    card = await open_card(anna)
    sports = await anna.press(card, "Подать заявку")
    assert "Заявка в ФОК «Олимп»" in sports.text
    assert sports.screen is not None
    assert sports.screen.labels == ["Плавание", "Йога", "Волейбол", "🔙 Назад"]

    need_phone = await anna.press(sports, "Плавание")
    assert need_phone.text == t("ru", "apply.need_phone")
    assert anna.reply_keyboard is not None
    assert anna.reply_keyboard["keyboard"][0][0]["request_contact"] is True
    assert anna.reply_keyboard["keyboard"][1][0]["text"] == "Отмена"  # no «Пропустить» here

    someone_else = harness.person("Чужой", phone="+79990002233")
    refused = await anna.share_contact(of_user_id=someone_else.id, phone=someone_else.phone)
    assert refused.text == t("ru", "phone.not_own")

    ask_comment = await anna.share_contact()
    assert f"✅ Номер сохранён: {OWN_PHONE}" in ask_comment.text
    assert "ФОК «Олимп», Плавание" in ask_comment.text
    assert "Напишите комментарий" in ask_comment.text
    assert ask_comment.screen is not None
    assert ask_comment.screen.labels == ["➡️ Без комментария"]

    submitted = await anna.say("Вечером после 18:00 <удобно> & рядом")
    assert submitted.text.startswith("✅ Заявка подана: ФОК «Олимп», Плавание.")
    assert submitted.screen is not None
    assert submitted.screen.labels == ["📋 Мои заявки", "🏠 Главное меню"]
    (stored,) = harness.storage.applications.all()
    assert (stored.user_id, stored.complex_code, stored.sport_code) == (anna.id, OLIMP, "swimming")
    assert stored.status is S.PENDING
    assert stored.comment == "Вечером после 18:00 <удобно> & рядом"
    assert (stored.applicant_name, stored.applicant_phone) == ("Анна", OWN_PHONE)
    user = await harness.storage.users.get(anna.id)
    assert user is not None
    assert user.phone == OWN_PHONE
    state = await harness.dialogs.get(anna.id, anna.id)
    assert state is not None
    assert state.step == ""

    # A repeat for the same sport is told, not duplicated.
    again = await anna.press(await anna.press(await open_card(anna), "Подать заявку"), "Плавание")
    repeat = await anna.press(again, "Без комментария")
    assert "У вас уже есть активная заявка: ФОК «Олимп», Плавание — На рассмотрении" in repeat.text
    assert len(harness.storage.applications.all()) == 1


async def test_a_single_sport_complex_skips_the_choice_and_a_long_comment_is_refused(
    harness: BotHarness,
) -> None:
    boris = await harness.resident("Борис")
    ask_comment = await boris.press(await open_card(boris, "Водник"), "Подать заявку")
    assert "ФОК «Водник», Плавание" in ask_comment.text
    too_long = await boris.say("я" * 501)
    assert too_long.text == t("ru", "apply.comment_too_long")
    assert harness.storage.applications.all() == []
    submitted = await boris.press(ask_comment, "Без комментария")
    assert submitted.text.startswith("✅ Заявка подана: ФОК «Водник», Плавание.")
    (stored,) = harness.storage.applications.all()
    assert (stored.complex_code, stored.comment) == (VODNIK, None)


async def test_a_double_tap_creates_one_application(harness: BotHarness) -> None:
    vera = await harness.resident("Вера")
    ask_comment = await vera.press(
        await vera.press(await open_card(vera), "Подать заявку"), "Волейбол"
    )
    go = ask_comment.screen.data("Без комментария")  # type: ignore[union-attr]
    first = await vera.press_data(ask_comment, go)
    second = await vera.press_data(ask_comment, go)
    assert "Заявка подана" in first.text
    assert "уже есть активная заявка" in second.text
    assert len(harness.storage.applications.all()) == 1


async def test_applying_needs_registration(harness: BotHarness) -> None:
    guest = harness.person("Гость")
    refused = await guest.press(await open_card(guest), "Подать заявку")
    assert refused.alert == t("ru", "error.consent_required")
    assert harness.storage.applications.all() == []


async def test_cancelling_the_phone_prompt_leaves_nothing_behind(harness: BotHarness) -> None:
    anna = await harness.resident("Анна", phone=None)
    await anna.press(await anna.press(await open_card(anna), "Подать заявку"), "Йога")
    typed = await anna.say("89161234567")  # a typed number is not accepted, the button is
    assert typed.text == t("ru", "apply.need_phone")
    cancelled = await anna.say("Отмена")
    assert cancelled.text.startswith("Ввод отменён.")
    assert anna.reply_keyboard is None
    assert harness.storage.applications.all() == []
    after = await anna.say("комментарий")
    assert after.text == t("ru", "fallback.unknown")


async def test_my_applications_page_card_and_cancel_with_confirmation(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    services = harness.services.applications
    codes = [(OLIMP, "swimming"), (OLIMP, "yoga"), (OLIMP, "volleyball"), (VODNIK, "swimming")]
    codes += [("fok-kanavino", "boxing"), ("fok-kanavino", "chess"), ("fok-lenin", "yoga")]
    for complex_code, sport in codes:
        await services.submit(anna.id, complex_code, sport, "коммент <b>")
        harness.clock.advance(timedelta(minutes=1))

    mine = await anna.press(await anna.say("/menu"), "Мои заявки")
    assert "Мои заявки" in mine.text
    assert "Всего: 7" in mine.text
    assert mine.screen is not None
    items = mine.screen.data_starting("1|ap|v|")
    assert len(items) == 6
    assert mine.screen.labels[0] == "⏳ ФОК «Ленинец» — Йога"  # newest first
    rest = await anna.press(mine, "➡️")
    assert rest.screen is not None
    assert rest.screen.labels[0] == "⏳ ФОК «Олимп» — Плавание"
    assert len(rest.screen.data_starting("1|ap|v|")) == 1

    card = await anna.press(rest, "Олимп")
    (oldest,) = [
        a
        for a in harness.storage.applications.all()
        if a.sport_code == "swimming" and a.complex_code == OLIMP
    ]
    assert f"Заявка №{oldest.number}" in card.text
    assert "Статус: ⏳ На рассмотрении" in card.text
    assert "💬 коммент <b>" in card.text
    assert "• пн, 23.11 12:00: На рассмотрении" in card.text  # history in Moscow time
    confirm = await anna.press(card, "Отменить заявку")
    assert "⚠️ Это действие нельзя отменить." in confirm.text
    kept = await anna.press(confirm, "Нет, оставить")
    assert "Статус: ⏳ На рассмотрении" in kept.text
    cancelled = await anna.press(await anna.press(kept, "Отменить заявку"), "Да, отменить")
    assert f"✅ Заявка №{oldest.number} отменена." in cancelled.text
    assert "Статус: ❌ Отменена" in cancelled.text
    assert cancelled.screen is not None
    assert not cancelled.screen.has_button("Отменить заявку")
    stored = await harness.storage.applications.get(oldest.id)
    assert stored is not None
    assert stored.status is S.CANCELLED
    assert [c.to_status for c in stored.history] == [S.PENDING, S.CANCELLED]


async def test_no_applications_yet(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    mine = await anna.press(await anna.say("/menu"), "Мои заявки")
    assert mine.text == t("ru", "apps.empty")
    assert mine.screen is not None
    assert mine.screen.labels == ["📝 Подать первую заявку", "🏠 Главное меню"]


async def test_a_staff_decision_reaches_the_user_and_a_stale_confirmation_is_refused(
    harness: BotHarness,
) -> None:
    vera = await harness.resident("Вера")
    result = await harness.services.applications.submit(vera.id, OLIMP, "yoga")
    application = result.application
    mine = await vera.press(await vera.say("/menu"), "Мои заявки")
    confirm = await vera.press(await vera.press(mine, "Олимп"), "Отменить заявку")  # pending

    staff = await harness.resident("Сотрудник")
    await harness.services.users.set_role(
        None, staff.id, role=__import__("bot.domain.users", fromlist=["Role"]).Role.ADMIN
    )
    await harness.services.applications.staff_transition(
        staff.id,
        application.id,
        S.ACCEPTED,
        expected_status=S.PENDING,
        comment="Ждём вас в понедельник <в 18:00>",
    )
    (entry,) = harness.storage.outbox.entries()
    assert (entry.kind, entry.user_id, entry.status) == ("application_status", vera.id, "pending")
    report = await harness.deliver_notices()
    assert report.sent == 1
    notice = vera.last
    assert f"📋 Заявка №{application.number} обновлена" in notice.text
    assert "✅ Ваша заявка принята к рассмотрению!" in notice.text
    assert "💬 Ждём вас в понедельник <в 18:00>" in notice.text
    assert notice.labels == ["📋 Открыть заявку"]
    assert harness.storage.outbox.entries()[0].status == "sent"

    stale = await vera.press(confirm, "Да, отменить")
    assert stale.alert == t("ru", "error.stale_action")
    assert stale.is_alert
    stored = await harness.storage.applications.get(application.id)
    assert stored is not None
    assert stored.status is S.ACCEPTED

    opened = await vera.press(notice, "Открыть заявку")
    assert "Статус: ✅ Принята" in opened.text
    assert "Ждём вас в понедельник" in opened.text
    assert opened.screen is not None
    assert opened.screen.id == notice.id


async def test_opted_out_users_get_no_status_notice(harness: BotHarness) -> None:
    vera = await harness.resident("Вера")
    profile = await vera.press(await vera.say("/menu"), "Профиль")
    await vera.press(profile, "Статусы заявок")
    application = (await harness.services.applications.submit(vera.id, OLIMP, "yoga")).application
    admin = await harness.resident("Админ")
    await harness.services.users.set_role(None, admin.id, Role.ADMIN)
    await harness.services.applications.staff_transition(admin.id, application.id, S.REJECTED)
    before = len(vera.messages())
    report = await harness.deliver_notices()
    assert (report.sent, report.skipped) == (0, 1)
    assert len(vera.messages()) == before

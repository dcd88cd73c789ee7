"""Staff applications: the notice of a new application to everyone responsible for its complex
(each person once), one-tap decisions with an optional comment, the resident told, stale buttons
refused, lists by every status newest first, search, and the card with applicant, other
applications and full history."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain.applications import Application, ApplicationStatus
from bot.domain.users import Role
from bot.telegram.texts import t
from telegram_emulator.errors import ApiError
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person
from tests.handlers.staff.conftest import make_staff

S = ApplicationStatus


async def apply(harness: BotHarness, person: Person, complex_code: str, sport: str) -> Application:
    result = await harness.services.applications.submit(person.id, complex_code, sport, "после 18")
    assert result.created
    return result.application


async def test_a_new_application_reaches_each_responsible_person_once_and_is_accepted_from_the_notice(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    other = await make_staff(harness, "Олег", Role.MANAGER, frozenset({VODNIK}))
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    blocked = await make_staff(harness, "Борис", Role.ADMIN)
    stored = await harness.storage.users.get(blocked.id)
    assert stored is not None
    await harness.storage.users.save(replace(stored, blocked=True))
    anna = await harness.resident("Анна <b>")

    application = await apply(harness, anna, OLIMP, "yoga")
    assert application.number == 1
    staff_entries = [
        e for e in harness.storage.outbox.entries() if e.kind == "staff_new_application"
    ]
    assert sorted(e.user_id for e in staff_entries) == sorted([olga.id, ivan.id, sofia.id])
    report = await harness.deliver_notices()
    assert report.sent == 3
    assert not other.messages()
    assert not blocked.messages()
    for person in (olga, ivan, sofia):
        (notice,) = person.messages()
        assert notice.text.startswith("🆕 Новая заявка № 1")
        assert "👤 Анна <b>" in notice.text  # escaped, shown as typed
        assert "📱 +79161234567" in notice.text
        assert "🏢 ФОК «Олимп»" in notice.text
        assert "⚽ Йога" in notice.text
        assert "💬 Сообщение: после 18" in notice.text
        assert notice.labels == ["✅ Принять", "🚫 Отклонить", "📋 Открыть заявку"]

    (notice,) = olga.messages()
    asked = await olga.press(notice, "Принять")
    assert "Принять</b>: заявка № 1" in asked.screen.html  # type: ignore[union-attr]
    assert "Напишите комментарий" in asked.text
    assert asked.screen is not None
    assert asked.screen.labels == ["➡️ Без комментария", "✖️ Отмена"]
    assert (await harness.storage.applications.get(application.id)).status is S.PENDING  # type: ignore[union-attr]

    done = await olga.say("Ждём вас в понедельник <в 18:00>")
    assert done.text.startswith("✅ Заявка принята!")
    assert "📋 Заявка № 1" in done.text
    assert "✅ Принята" in done.text
    assert "Ольга: ⏳ На рассмотрении → ✅ Принята" in done.text
    assert "💬 Ждём вас в понедельник <в 18:00>" in done.text
    assert done.screen is not None
    assert done.screen.labels[:2] == ["📤 Передать", "🚫 Отклонить"]
    accepted = await harness.storage.applications.get(application.id)
    assert accepted is not None
    assert accepted.status is S.ACCEPTED
    assert (accepted.history[-1].actor_id, accepted.history[-1].comment) == (
        olga.id,
        "Ждём вас в понедельник <в 18:00>",
    )
    (entry,) = [e for e in harness.storage.audit.all() if e.target_id == application.id]
    assert (entry.actor_id, entry.action) == (olga.id, "application.accepted")
    assert dict(entry.details) == {
        "before": {"status": "pending"},
        "after": {"status": "accepted"},
        "comment": "Ждём вас в понедельник <в 18:00>",
        "number": 1,
    }

    # The resident is told (the existing status notice) and the others' late taps are refused.
    report = await harness.deliver_notices()
    assert report.sent == 1
    assert "Заявка №1 обновлена" in anna.last.text
    assert "Ждём вас в понедельник <в 18:00>" in anna.last.text
    (ivan_notice,) = ivan.messages()
    late = await ivan.press(ivan_notice, "Отклонить")
    assert late.alert == (
        "⚠️ Заявку № 1 уже изменил другой сотрудник: сейчас она «Принята». Ничего не изменено."
    )
    assert late.is_alert
    assert "Ольга: ⏳ На рассмотрении → ✅ Принята" in ivan.current(late).text  # the card, now
    assert ivan.current(late).labels[:2] == ["📤 Передать", "🚫 Отклонить"]
    still = await harness.storage.applications.get(application.id)
    assert still == accepted
    assert len(harness.storage.audit.all()) == 1


async def test_a_decision_without_comment_and_a_stale_one_after_the_question(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна")
    application = await apply(harness, anna, OLIMP, "yoga")
    olga_card = await olga.press(await olga.say("/admin"), "Заявки")
    olga_card = await olga.press(olga_card, "На рассмотрении (1)")
    olga_card = await olga.press(olga_card, "№ 1")
    ivan_card = await ivan.press(await ivan.press(await ivan.say("/admin"), "Заявки"), "Все заявки")
    ivan_card = await ivan.press(ivan_card, "№ 1")

    asked = await ivan.press(ivan_card, "Отклонить")  # Иван is asked for a comment...
    accepted = await olga.press(await olga.press(olga_card, "Принять"), "Без комментария")
    assert accepted.alert == "✅ Заявка принята!"
    assert not accepted.is_alert
    assert "Ольга: ⏳ На рассмотрении → ✅ Принята" in accepted.text
    # ...and his comment arrives after Ольга decided: refused, nothing changed, the card shown.
    late = await ivan.say("не подходит по возрасту")
    assert late.text.startswith("⚠️ Заявку № 1 уже изменил другой сотрудник")
    assert "✅ Принята" in late.text
    stored = await harness.storage.applications.get(application.id)
    assert stored is not None
    assert [c.to_status for c in stored.history] == [S.PENDING, S.ACCEPTED]
    assert stored.history[-1].comment is None
    # The question's «Без комментария» is as stale as the typed comment.
    stale = await ivan.press(asked, "Без комментария")
    assert stale.alert is not None
    assert stale.alert.startswith("⚠️ Заявку № 1")
    after = await ivan.say("ещё текст")  # the comment step was left
    assert after.text == t("ru", "fallback.unknown")

    # Passed on, then completed: the whole path, each by a tap.
    card = await olga.press(accepted, "Передать")
    passed = await olga.press(card, "Без комментария")
    assert passed.alert == "📤 Заявка передана в учреждение!"
    completed = await olga.press(await olga.press(passed, "Выполнено"), "Без комментария")
    assert completed.alert == "🎉 Заявка выполнена!"
    assert completed.screen is not None
    assert not completed.screen.has_button("Принять")  # terminal: no decisions left
    final = await harness.storage.applications.get(application.id)
    assert final is not None
    assert final.status is S.COMPLETED
    await harness.deliver_notices()
    assert [m.text.split("\n")[0] for m in anna.messages()] == [
        "📋 Заявка №1 обновлена",
        "📋 Заявка №1 обновлена",
        "📋 Заявка №1 обновлена",
    ]


async def test_a_comment_too_long_is_asked_again_and_cancel_leaves_it_unsaid(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    anna = await harness.resident("Анна")
    application = await apply(harness, anna, OLIMP, "yoga")
    card = await olga.press(await olga.press(await olga.say("/admin"), "Заявки"), "Все заявки")
    card = await olga.press(card, "№ 1")
    await olga.press(card, "Отклонить")
    too_long = await olga.say("x" * 501)
    assert too_long.text == t("ru", "apply.comment_too_long")
    cancelled = await olga.say("Отмена")
    assert cancelled.text.startswith(t("ru", "apply.input_cancelled"))
    stored = await harness.storage.applications.get(application.id)
    assert stored is not None
    assert stored.status is S.PENDING
    assert harness.storage.audit.all() == []


async def test_lists_by_every_status_newest_first_in_pages_within_the_manager_s_scope(
    harness: BotHarness,
) -> None:
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    residents = [await harness.resident(f"Житель {i}") for i in range(10)]
    applications = []
    for index, person in enumerate(residents):
        harness.clock.advance(timedelta(minutes=1))
        code = VODNIK if index == 9 else OLIMP
        sport = "swimming" if index == 9 else "yoga"
        applications.append(await apply(harness, person, code, sport))
    rejected = await harness.services.applications.staff_transition(
        olga.id, applications[0].id, S.REJECTED, comment="мест нет"
    )
    assert rejected.status is S.REJECTED

    menu = await olga.press(await olga.say("/admin"), "Заявки")
    assert menu.screen is not None
    assert menu.screen.labels == [
        "⏳ На рассмотрении (8)",
        "✅ Принята (0)",
        "📤 Передана в ФОК (0)",
        "🎉 Выполнена (0)",
        "🚫 Отклонена (1)",
        "❌ Отменена (0)",
        "📊 Все заявки (9)",  # Водник's is not hers
        "🔍 Поиск заявок",
        "🔙 В панель",
    ]
    pending = await olga.press(menu, "На рассмотрении")
    assert "⏳ На рассмотрении: 8" in pending.text
    assert pending.screen is not None
    numbers = [label.split(" · ")[0] for label in pending.screen.labels if "№" in label]
    assert numbers == [
        "⏳ № 9",
        "⏳ № 8",
        "⏳ № 7",
        "⏳ № 6",
        "⏳ № 5",
        "⏳ № 4",
        "⏳ № 3",
        "⏳ № 2",
    ]
    assert "⏳ № 9 · ФОК «Олимп» · Житель 8" in pending.screen.labels
    rejected_list = await olga.press(await olga.press(pending, "К заявкам"), "Отклонена")
    assert rejected_list.screen is not None
    assert "🚫 № 1 · ФОК «Олимп» · Житель 0" in rejected_list.screen.labels
    everything = await olga.press(await olga.press(rejected_list, "К заявкам"), "Все заявки")
    assert "📊 Все заявки: 9" in everything.text
    second = await olga.press(everything, "➡️")
    assert second.screen is not None
    assert [label for label in second.screen.labels if "№" in label] == [
        "🚫 № 1 · ФОК «Олимп» · Житель 0"
    ]
    # A page past the end (an old button) shows the last page.
    current_page = second.screen.data("Стр. 2 из 2")
    assert current_page == "1|sa|l|all|1"
    past = await olga.press_data(second, "1|sa|l|all|7")
    assert past.screen is not None
    assert [label for label in past.screen.labels if "№" in label] == [
        "🚫 № 1 · ФОК «Олимп» · Житель 0"
    ]
    # Vodnik's application is not hers: a forged card is refused, nothing shown.
    forged = await olga.press_data(past, f"1|sa|v|{applications[9].id}")
    assert forged.alert == t("ru", "error.permission_denied")


async def test_search_by_number_phone_name_and_complex(harness: BotHarness) -> None:
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    anna = await harness.resident("Анна Петрова", phone="+79161112233")
    boris = await harness.resident("Борис", phone="+79035550011")
    first = await apply(harness, anna, OLIMP, "yoga")
    harness.clock.advance(timedelta(minutes=1))
    await apply(harness, boris, VODNIK, "swimming")
    harness.clock.advance(timedelta(minutes=1))
    await apply(harness, anna, VODNIK, "swimming")

    menu = await ivan.press(await ivan.say("/admin"), "Заявки")
    prompt = await ivan.press(menu, "Поиск заявок")
    assert prompt.text == t("ru", "staff.apps.search_ask")

    async def found(query: str) -> list[str]:
        reply = await ivan.say(query)
        assert reply.screen is not None
        return [label for label in reply.screen.labels if "№" in label]

    assert await found("№ 1") == ["⏳ № 1 · ФОК «Олимп» · Анна Петрова"]
    await ivan.press(ivan.last, "Новый поиск")
    assert await found("+7 (916) 111-22-33") == [
        "⏳ № 3 · ФОК «Водник» · Анна Петрова",
        "⏳ № 1 · ФОК «Олимп» · Анна Петрова",
    ]
    await ivan.press(ivan.last, "Новый поиск")
    assert await found("борис") == ["⏳ № 2 · ФОК «Водник» · Борис"]
    await ivan.press(ivan.last, "Новый поиск")
    assert await found("водник") == [
        "⏳ № 3 · ФОК «Водник» · Анна Петрова",
        "⏳ № 2 · ФОК «Водник» · Борис",
    ]
    await ivan.press(ivan.last, "Новый поиск")
    nothing = await ivan.say("Зинаида")
    assert nothing.text == "🔍 По запросу «Зинаида» заявок нет. Попробуйте иначе:"
    retry = await found("Олимп")  # still searching: the next text is another try
    assert retry == ["⏳ № 1 · ФОК «Олимп» · Анна Петрова"]
    card = await ivan.press(ivan.last, "№ 1")
    assert "📋 Заявка № 1" in card.text
    assert first.id in ivan.current(card).data("Принять")


async def test_the_card_shows_the_applicant_their_other_applications_and_the_history(
    harness: BotHarness,
) -> None:
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    anna = await harness.resident("Анна")
    first = await apply(harness, anna, OLIMP, "yoga")
    harness.clock.advance(timedelta(hours=1))
    await apply(harness, anna, VODNIK, "swimming")
    harness.clock.advance(timedelta(hours=1))
    second = await apply(harness, anna, OLIMP, "swimming")
    await harness.services.applications.staff_transition(olga.id, first.id, S.ACCEPTED)
    harness.clock.advance(timedelta(hours=1))
    await harness.services.applications.staff_transition(
        sofia.id, first.id, S.REJECTED, comment="группа набрана"
    )

    card = await sofia.press_data(await sofia.say("/admin"), f"1|sa|v|{first.id}")
    text = card.text
    assert "📋 Заявка № 1\n🚫 Отклонена" in text
    assert "👤 Анна\n📱 +79161234567\n🆔 " + str(anna.id) in text
    assert "📅 Подана: пн, 23.11 12:00" in text
    assert "• пн, 23.11 12:00 — заявитель Анна: подана" in text
    assert "• пн, 23.11 14:00 — Ольга: ⏳ На рассмотрении → ✅ Принята" in text
    assert "• пн, 23.11 15:00 — София: ✅ Принята → 🚫 Отклонена\n   💬 группа набрана" in text
    assert "Другие заявки заявителя:" in text
    assert "• № 3 — ФОК «Олимп», Плавание: ⏳ На рассмотрении" in text
    assert "• № 2 — ФОК «Водник», Плавание: ⏳ На рассмотрении" in text
    assert card.screen is not None
    assert card.screen.labels == [
        "⏳ № 3",
        "⏳ № 2",
        "👤 Профиль пользователя",
        "📜 Журнал по заявке",
        "🔙 К списку",
        "🔙 В панель",
    ]
    # A manager sees only the other applications of her complexes, and no super admin buttons.
    hers = await olga.press_data(await olga.say("/admin"), f"1|sa|v|{first.id}")
    assert "• № 3 — ФОК «Олимп»" in hers.text
    assert "№ 2" not in hers.text
    assert hers.screen is not None
    assert hers.screen.labels == ["⏳ № 3", "🔙 К списку", "🔙 В панель"]
    other = await olga.press(hers, "№ 3")
    assert "📋 Заявка № 3" in other.text
    assert second.id in olga.current(other).data("Принять")


async def test_a_decision_whose_reply_failed_is_answered_again_when_telegram_redelivers_it(
    harness: BotHarness,
) -> None:
    """Telegram throttled the reply (429): the update is handed back and delivered again. The
    decision is made once, and the second delivery answers with the card, not a refusal."""
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    anna = await harness.resident("Анна")
    application = await apply(harness, anna, OLIMP, "yoga")
    card = await olga.press_data(await olga.say("/admin"), f"1|sa|v|{application.id}")
    await olga.press(card, "Принять")

    send_message = harness.api._methods["sendMessage"]
    throttled = []

    def once_429(params: dict[str, object], files: dict[str, tuple[str, bytes]]) -> object:
        if not throttled:
            throttled.append(params)
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        return send_message(params, files)

    harness.api._methods["sendMessage"] = once_429
    message = harness.api.user_message(olga.id, {"text": "Ждём вас"})
    await harness.feed({"message": message}, expect_errors=True)
    assert [type(e).__name__ for e in harness.errors] == ["RetryAfter"]
    assert throttled  # the card was what failed to go out
    await harness.feed({"message": message})  # delivered again
    answered = olga.last
    assert answered.text.startswith("✅ Заявка принята!")
    assert "💬 Ждём вас" in answered.text
    stored = await harness.storage.applications.get(application.id)
    assert stored is not None
    assert [c.to_status for c in stored.history] == [S.PENDING, S.ACCEPTED]
    assert len(harness.storage.audit.all()) == 1
    assert len([e for e in harness.storage.outbox.entries() if e.kind == "application_status"]) == 1
    after = await olga.say("ещё текст")  # the comment step was left once answered
    assert after.text == t("ru", "fallback.unknown")

"""Every user-facing string, in Russian and English, as Telegram HTML.

Templates use ``str.format`` fields. :func:`t` escapes every interpolated value with
``html.escape`` unless it is :class:`Markup` (a fragment this module already rendered), so a name
like ``<b`` or ``&`` can never break a message ("can't parse entities").
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, pick_language

MAX_MESSAGE_LENGTH = 4096


class Markup(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""

    __slots__ = ()


TEXTS: dict[str, dict[str, str]] = {
    # --- registration -------------------------------------------------------------------
    "start.greeting": {
        "ru": "👋 Добро пожаловать в бот физкультурно-оздоровительных комплексов (ФОК)!\n\n"
        "Здесь можно найти ФОК, подать заявку в секцию и записаться на занятие.\n\n"
        "Для начала скажите, как к вам обращаться?",
        "en": "👋 Welcome to the municipal sports complexes bot!\n\n"
        "Find a sports complex, apply to a section and book a session.\n\n"
        "First, what should we call you?",
    },
    "start.name_invalid": {
        "ru": "❌ Введите имя от 2 до 64 символов обычным текстом.",
        "en": "❌ Please type a name of 2 to 64 characters as plain text.",
    },
    "start.ask_phone": {
        "ru": "Приятно познакомиться, <b>{name}</b>! 😊\n\n"
        "Поделитесь номером телефона кнопкой ниже — он нужен, чтобы подавать заявки. "
        "Можно пропустить и добавить номер позже в профиле.",
        "en": "Nice to meet you, <b>{name}</b>! 😊\n\n"
        "Share your phone number with the button below: applications need it. "
        "You can skip this and add it later in your profile.",
    },
    "start.nice_to_meet": {
        "ru": "Приятно познакомиться, <b>{name}</b>! 😊",
        "en": "Nice to meet you, <b>{name}</b>! 😊",
    },
    "start.ask_name_after_phone": {
        "ru": "Как к вам обращаться? Напишите имя.",
        "en": "What should we call you? Type your name.",
    },
    "start.use_buttons": {
        "ru": "Пожалуйста, воспользуйтесь кнопками ниже: «Поделиться номером» или «Пропустить».",
        "en": "Please use the buttons below: “Share my number” or “Skip”.",
    },
    "start.ask_consent": {
        "ru": "📄 Последний шаг. Мы храним ваше имя и номер телефона, чтобы передавать заявки в ФОК "
        "и напоминать о занятиях. Данные можно удалить в любой момент в профиле.\n\n"
        "Вы согласны на обработку персональных данных?",
        "en": "📄 One last step. We keep your name and phone number to pass applications to the "
        "complexes and to remind you of sessions. You can delete them at any time in your profile.\n\n"
        "Do you consent to the processing of your personal data?",
    },
    "start.agree": {"ru": "✅ Согласен", "en": "✅ I agree"},
    "start.disagree": {"ru": "Не согласен", "en": "I do not agree"},
    "start.phone_skipped": {
        "ru": "Хорошо, номер можно добавить позже в профиле.",
        "en": "OK, you can add your number later in the profile.",
    },
    "start.consent_declined": {
        "ru": "Без согласия на обработку данных регистрация невозможна. "
        "Каталог ФОК доступен и так: /menu. Чтобы зарегистрироваться позже, отправьте /start.",
        "en": "Registration needs your consent to data processing. "
        "You can still browse the catalog: /menu. Send /start to register later.",
    },
    "start.done": {
        "ru": "✅ Регистрация завершена!",
        "en": "✅ Registration complete!",
    },
    "start.done_no_phone": {
        "ru": "✅ Регистрация завершена. Чтобы подавать заявки, добавьте номер телефона в профиле.",
        "en": "✅ Registration complete. Add your phone number in the profile to submit applications.",
    },
    "phone.saved": {
        "ru": "✅ Номер сохранён: {phone}",
        "en": "✅ Number saved: {phone}",
    },
    "phone.not_own": {
        "ru": "❌ Можно отправить только свой номер — нажмите кнопку «📱 Поделиться номером».",
        "en": "❌ Only your own number is accepted: press “📱 Share my number”.",
    },
    "phone.invalid": {
        "ru": "❌ Не удалось распознать номер телефона. Попробуйте ещё раз кнопкой ниже.",
        "en": "❌ That phone number is not valid. Please try again with the button below.",
    },
    # --- reply-keyboard buttons ---------------------------------------------------------
    "button.share_phone": {"ru": "📱 Поделиться номером", "en": "📱 Share my number"},
    "button.skip": {"ru": "Пропустить", "en": "Skip"},
    "button.cancel_input": {"ru": "Отмена", "en": "Cancel"},
    "button.share_location": {"ru": "📍 Отправить геопозицию", "en": "📍 Send my location"},
    # --- main menu ----------------------------------------------------------------------
    "menu.title": {
        "ru": "🏢 <b>Каталог ФОК</b>\n\n{greeting}, {name}! 👋\nВыберите раздел:",
        "en": "🏢 <b>Sports complexes</b>\n\n{greeting}, {name}! 👋\nChoose a section:",
    },
    "menu.title_guest": {
        "ru": "🏢 <b>Каталог ФОК</b>\n\nВыберите раздел. Чтобы подавать заявки и записываться "
        "на занятия, зарегистрируйтесь: /start",
        "en": "🏢 <b>Sports complexes</b>\n\nChoose a section. To apply and book sessions, "
        "register first: /start",
    },
    "greeting.morning": {"ru": "Доброе утро", "en": "Good morning"},
    "greeting.day": {"ru": "Добрый день", "en": "Good afternoon"},
    "greeting.evening": {"ru": "Добрый вечер", "en": "Good evening"},
    "greeting.night": {"ru": "Доброй ночи", "en": "Good night"},
    "menu.catalog": {"ru": "🏢 Каталог ФОК", "en": "🏢 Complexes"},
    "menu.search": {"ru": "🔍 По видам спорта", "en": "🔍 By sport"},
    "menu.nearest": {"ru": "📍 Рядом со мной", "en": "📍 Near me"},
    "menu.applications": {"ru": "📋 Мои заявки", "en": "📋 My applications"},
    "menu.bookings": {"ru": "🗓 Мои записи", "en": "🗓 My bookings"},
    "menu.profile": {"ru": "👤 Профиль", "en": "👤 Profile"},
    "menu.help": {"ru": "ℹ️ Помощь", "en": "ℹ️ Help"},
    "nav.menu": {"ru": "🏠 Главное меню", "en": "🏠 Main menu"},
    "nav.back": {"ru": "🔙 Назад", "en": "🔙 Back"},
    "nav.previous": {"ru": "⬅️", "en": "⬅️"},
    "nav.next": {"ru": "➡️", "en": "➡️"},
    "nav.page": {"ru": "Стр. {page} из {pages}", "en": "Page {page} of {pages}"},
    # --- catalog ------------------------------------------------------------------------
    "catalog.districts": {
        "ru": "🏢 <b>Районы</b>\n\nВыберите район:",
        "en": "🏢 <b>Districts</b>\n\nChoose a district:",
    },
    "catalog.no_districts": {
        "ru": "Районы пока не добавлены.",
        "en": "No districts yet.",
    },
    "catalog.district": {
        "ru": "🏢 <b>ФОК района: {district}</b>\nНайдено: {total}",
        "en": "🏢 <b>Complexes in {district}</b>\nFound: {total}",
    },
    "catalog.district_empty": {
        "ru": "🏢 <b>{district}</b>\n\nВ этом районе пока нет ФОК.",
        "en": "🏢 <b>{district}</b>\n\nNo complexes in this district yet.",
    },
    "catalog.card": {
        "ru": "🏢 <b>{name}</b>\n\n📍 Район: {district}\n🏠 Адрес: {address}\n"
        "📞 Телефон: {phone}\n🕐 Режим работы: {hours}\n⚽ Виды спорта: {sports}"
        "{description}",
        "en": "🏢 <b>{name}</b>\n\n📍 District: {district}\n🏠 Address: {address}\n"
        "📞 Phone: {phone}\n🕐 Opening hours: {hours}\n⚽ Sports: {sports}"
        "{description}",
    },
    "catalog.card_description": {"ru": "\n\n📝 {text}", "en": "\n\n📝 {text}"},
    "catalog.not_specified": {"ru": "не указано", "en": "not specified"},
    "catalog.apply": {"ru": "📝 Подать заявку", "en": "📝 Apply"},
    "catalog.schedule": {"ru": "📅 Расписание", "en": "📅 Schedule"},
    "catalog.map": {"ru": "🗺 На карте", "en": "🗺 On the map"},
    "catalog.to_district": {"ru": "🔙 К ФОК района", "en": "🔙 Back to the district"},
    "catalog.to_districts": {"ru": "🔙 К районам", "en": "🔙 Back to districts"},
    "catalog.no_location": {
        "ru": "Для этого ФОК координаты не указаны.",
        "en": "This complex has no location on file.",
    },
    "search.choose": {
        "ru": "🔍 <b>Поиск по видам спорта</b>\n\nОтметьте один или несколько видов спорта и "
        "нажмите «Найти».",
        "en": "🔍 <b>Search by sport</b>\n\nTick one or more sports and press “Find”.",
    },
    "search.find": {"ru": "🔍 Найти", "en": "🔍 Find"},
    "search.clear": {"ru": "🗑 Очистить", "en": "🗑 Clear"},
    "search.results": {
        "ru": "🔍 <b>Результаты поиска</b>\nВиды спорта: {sports}\nНайдено ФОК: {total}",
        "en": "🔍 <b>Search results</b>\nSports: {sports}\nComplexes found: {total}",
    },
    "search.nothing": {
        "ru": "🔍 По выбранным видам спорта ({sports}) ФОК не найдены.",
        "en": "🔍 No complexes offer the chosen sports ({sports}).",
    },
    "search.empty_selection": {
        "ru": "Сначала отметьте хотя бы один вид спорта.",
        "en": "Tick at least one sport first.",
    },
    "search.to_search": {"ru": "🔙 К поиску", "en": "🔙 Back to search"},
    "nearest.ask": {
        "ru": "📍 Отправьте геопозицию кнопкой ниже (или через 📎 → Геопозиция), и я покажу "
        "ближайшие ФОК.",
        "en": "📍 Send your location with the button below (or 📎 → Location) and I will show "
        "the nearest complexes.",
    },
    "nearest.results": {
        "ru": "📍 <b>Ближайшие ФОК</b>\n\n{lines}",
        "en": "📍 <b>Nearest complexes</b>\n\n{lines}",
    },
    "nearest.line": {
        "ru": "{index}. {name} — {distance} км",
        "en": "{index}. {name} — {distance} km",
    },
    "nearest.none": {
        "ru": "Рядом не нашлось ФОК с указанными координатами.",
        "en": "No complexes with a known location were found.",
    },
    # --- applications -------------------------------------------------------------------
    "apply.choose_sport": {
        "ru": "📝 <b>Заявка в {complex}</b>\n\nВыберите вид спорта:",
        "en": "📝 <b>Application to {complex}</b>\n\nChoose a sport:",
    },
    "apply.need_phone": {
        "ru": "📱 Для подачи заявки нужен номер телефона. Поделитесь им кнопкой ниже — "
        "и заявка продолжится.",
        "en": "📱 Applications need your phone number. Share it with the button below and the "
        "application will continue.",
    },
    "apply.ask_comment": {
        "ru": "📝 <b>{complex}</b>, {sport}\n\nНапишите комментарий к заявке (например, удобное "
        "время или возраст ребёнка) или нажмите «Без комментария».",
        "en": "📝 <b>{complex}</b>, {sport}\n\nWrite a comment for the staff (for example, a "
        "convenient time) or press “No comment”.",
    },
    "apply.no_comment": {"ru": "➡️ Без комментария", "en": "➡️ No comment"},
    "apply.comment_too_long": {
        "ru": "❌ Комментарий слишком длинный (до 500 символов). Сократите его.",
        "en": "❌ The comment is too long (500 characters at most). Please shorten it.",
    },
    "apply.submitted": {
        "ru": "✅ Заявка подана: <b>{complex}</b>, {sport}.\nМы сообщим, когда её рассмотрят.",
        "en": "✅ Application submitted: <b>{complex}</b>, {sport}.\nWe will let you know once "
        "it is reviewed.",
    },
    "apply.already": {
        "ru": "ℹ️ У вас уже есть активная заявка: <b>{complex}</b>, {sport} — {status}.",
        "en": "ℹ️ You already have an active application: <b>{complex}</b>, {sport} — {status}.",
    },
    "apply.input_cancelled": {"ru": "Ввод отменён.", "en": "Cancelled."},
    "apps.title": {
        "ru": "📋 <b>Мои заявки</b>\nВсего: {total}",
        "en": "📋 <b>My applications</b>\nTotal: {total}",
    },
    "apps.empty": {
        "ru": "📋 У вас пока нет заявок. Найдите ФОК в каталоге и подайте первую!",
        "en": "📋 You have no applications yet. Find a complex in the catalog and apply!",
    },
    "apps.first": {"ru": "📝 Подать первую заявку", "en": "📝 Submit the first one"},
    "apps.item": {"ru": "{emoji} {complex} — {sport}", "en": "{emoji} {complex} — {sport}"},
    "apps.card": {
        "ru": "📋 <b>Заявка №{number}</b>\n\n🏢 {complex}\n⚽ {sport}\n"
        "Статус: {emoji} <b>{status}</b>\n📅 Подана: {created}{comment}\n\n<b>История</b>\n{history}",
        "en": "📋 <b>Application #{number}</b>\n\n🏢 {complex}\n⚽ {sport}\n"
        "Status: {emoji} <b>{status}</b>\n📅 Submitted: {created}{comment}\n\n<b>History</b>\n{history}",
    },
    "apps.comment": {"ru": "\n💬 {text}", "en": "\n💬 {text}"},
    "apps.history_comment": {"ru": " — «{text}»", "en": " — “{text}”"},
    "apps.history_line": {"ru": "• {at}: {status}{comment}", "en": "• {at}: {status}{comment}"},
    "apps.cancel": {"ru": "❌ Отменить заявку", "en": "❌ Cancel the application"},
    "apps.to_list": {"ru": "🔙 К моим заявкам", "en": "🔙 Back to my applications"},
    "apps.confirm_cancel": {
        "ru": "❓ Отменить заявку №{number} ({complex}, {sport})?\n\n⚠️ Это действие нельзя отменить.",
        "en": "❓ Cancel application #{number} ({complex}, {sport})?\n\n⚠️ This cannot be undone.",
    },
    "apps.yes_cancel": {"ru": "✅ Да, отменить", "en": "✅ Yes, cancel"},
    "apps.no_keep": {"ru": "❌ Нет, оставить", "en": "❌ No, keep it"},
    "apps.cancelled": {
        "ru": "✅ Заявка №{number} отменена.",
        "en": "✅ Application #{number} cancelled.",
    },
    "status.pending": {"ru": "На рассмотрении", "en": "Pending"},
    "status.accepted": {"ru": "Принята", "en": "Accepted"},
    "status.transferred": {"ru": "Передана в ФОК", "en": "Passed to the complex"},
    "status.completed": {"ru": "Выполнена", "en": "Completed"},
    "status.cancelled": {"ru": "Отменена", "en": "Cancelled"},
    "status.rejected": {"ru": "Отклонена", "en": "Rejected"},
    # --- notifications ------------------------------------------------------------------
    "notify.application": {
        "ru": "📋 <b>Заявка №{number} обновлена</b>\n\n{line}\n\n🏢 {complex}\n⚽ {sport}{comment}",
        "en": "📋 <b>Application #{number} updated</b>\n\n{line}\n\n🏢 {complex}\n⚽ {sport}{comment}",
    },
    "notify.accepted": {
        "ru": "✅ Ваша заявка принята к рассмотрению!",
        "en": "✅ Your application has been accepted!",
    },
    "notify.transferred": {
        "ru": "📤 Ваша заявка передана в ФОК для оформления.",
        "en": "📤 Your application has been passed to the complex.",
    },
    "notify.completed": {
        "ru": "🎉 Заявка выполнена — вы можете посещать занятия!",
        "en": "🎉 Your application is complete: you can attend!",
    },
    "notify.rejected": {
        "ru": "🚫 К сожалению, ваша заявка отклонена.",
        "en": "🚫 Unfortunately, your application was rejected.",
    },
    "notify.cancelled": {"ru": "Заявка отменена.", "en": "The application was cancelled."},
    "notify.pending": {"ru": "Заявка на рассмотрении.", "en": "The application is pending."},
    "notify.open_application": {"ru": "📋 Открыть заявку", "en": "📋 Open the application"},
    "offer.text": {
        "ru": "🎉 <b>Освободилось место!</b>\n\n{session}\n\nМесто держится за вами до {until}. "
        "Берёте?",
        "en": "🎉 <b>A seat is free!</b>\n\n{session}\n\nIt is held for you until {until}. "
        "Will you take it?",
    },
    "offer.take": {"ru": "✅ Беру", "en": "✅ Take it"},
    "offer.decline": {"ru": "❌ Отказаться", "en": "❌ Decline"},
    "offer.taken": {
        "ru": "✅ Место ваше! Вы записаны:\n\n{session}",
        "en": "✅ The seat is yours! You are booked:\n\n{session}",
    },
    "offer.declined": {
        "ru": "Вы отказались от места. Оно передано следующему в очереди.",
        "en": "You declined the seat. It went to the next person in line.",
    },
    "reminder.day_before": {
        "ru": "⏰ <b>Напоминание:</b> завтра занятие\n\n{session}\n\nПридёте?",
        "en": "⏰ <b>Reminder:</b> your session is tomorrow\n\n{session}\n\nWill you come?",
    },
    "reminder.hours_before": {
        "ru": "⏰ <b>Напоминание:</b> скоро занятие\n\n{session}\n\nПридёте?",
        "en": "⏰ <b>Reminder:</b> your session starts soon\n\n{session}\n\nWill you come?",
    },
    "reminder.coming": {"ru": "✅ Приду", "en": "✅ I'll come"},
    "reminder.cancel": {"ru": "❌ Отменить", "en": "❌ Cancel"},
    "reminder.confirmed": {
        "ru": "✅ Отлично, ждём вас!\n\n{session}",
        "en": "✅ Great, see you there!\n\n{session}",
    },
    # --- sessions and bookings ----------------------------------------------------------
    "schedule.day": {
        "ru": "📅 <b>{complex}</b>\n{day}{sport}\n\n{lines}",
        "en": "📅 <b>{complex}</b>\n{day}{sport}\n\n{lines}",
    },
    "schedule.sport_filter": {"ru": " · {sport}", "en": " · {sport}"},
    "schedule.empty": {"ru": "В этот день занятий нет.", "en": "No sessions on this day."},
    "schedule.line": {
        "ru": "{time} {sport}{title} — {seats}",
        "en": "{time} {sport}{title} — {seats}",
    },
    "schedule.seats": {"ru": "мест: {left} из {capacity}", "en": "{left} of {capacity} seats"},
    "schedule.full": {"ru": "мест нет", "en": "full"},
    "schedule.past": {"ru": "прошло", "en": "over"},
    "schedule.all_sports": {"ru": "Все виды", "en": "All sports"},
    "schedule.to_complex": {"ru": "🔙 К ФОК", "en": "🔙 Back to the complex"},
    "session.card": {"ru": "🗓 {session}\n\n{seats}", "en": "🗓 {session}\n\n{seats}"},
    "session.block": {"ru": "<b>{title}</b>\n{details}", "en": "<b>{title}</b>\n{details}"},
    "session.details": {
        "ru": "🏢 {complex}\n🏠 {address}\n⚽ {sport}\n🕐 {when} ({timezone})",
        "en": "🏢 {complex}\n🏠 {address}\n⚽ {sport}\n🕐 {when} ({timezone})",
    },
    "session.seats_left": {
        "ru": "Свободно мест: {left} из {capacity}",
        "en": "Seats left: {left} of {capacity}",
    },
    "session.full": {
        "ru": "Мест нет — можно встать в лист ожидания.",
        "en": "Full: you can join the waitlist.",
    },
    "session.unavailable": {
        "ru": "Запись на это занятие закрыта.",
        "en": "This session is closed for booking.",
    },
    "session.book": {"ru": "✅ Записаться", "en": "✅ Book"},
    "session.join_waitlist": {"ru": "⏳ В лист ожидания", "en": "⏳ Join the waitlist"},
    "session.to_day": {"ru": "🔙 К расписанию", "en": "🔙 Back to the schedule"},
    "booking.booked": {
        "ru": "✅ Вы записаны!\n\n{session}\n\nОтменить запись можно не позднее чем за {window} ч "
        "до начала.",
        "en": "✅ You are booked!\n\n{session}\n\nYou can cancel up to {window} h before the start.",
    },
    "booking.waitlisted": {
        "ru": "⏳ Мест нет — вы в листе ожидания, ваша позиция: <b>{position}</b>.\n\n{session}\n\n"
        "Если место освободится, я пришлю предложение.",
        "en": "⏳ The session is full: you are on the waitlist, position <b>{position}</b>.\n\n"
        "{session}\n\nIf a seat frees up, I will send you an offer.",
    },
    "booking.card": {
        "ru": "🗓 <b>Запись</b> — {status}\n\n{session}{extra}",
        "en": "🗓 <b>Booking</b> — {status}\n\n{session}{extra}",
    },
    "booking.position": {
        "ru": "\n\nВаша позиция в очереди: <b>{position}</b>",
        "en": "\n\nYour place in the queue: <b>{position}</b>",
    },
    "booking.offer_until": {
        "ru": "\n\nМесто держится за вами до {until}.",
        "en": "\n\nThe seat is held for you until {until}.",
    },
    "booking.confirmed_mark": {
        "ru": "\n\n✅ Вы подтвердили, что придёте.",
        "en": "\n\n✅ You confirmed you will come.",
    },
    "booking.status.reserving": {"ru": "оформляется", "en": "being booked"},
    "booking.status.active": {"ru": "✅ вы записаны", "en": "✅ booked"},
    "booking.status.waitlisted": {"ru": "⏳ лист ожидания", "en": "⏳ waitlist"},
    "booking.status.offered": {"ru": "🎉 предложено место", "en": "🎉 seat offered"},
    "booking.status.cancelled": {"ru": "отменена", "en": "cancelled"},
    "booking.status.declined": {"ru": "отказ от места", "en": "declined"},
    "booking.status.expired": {"ru": "предложение истекло", "en": "offer expired"},
    "booking.cancel": {"ru": "❌ Отменить запись", "en": "❌ Cancel booking"},
    "booking.leave_waitlist": {"ru": "❌ Выйти из очереди", "en": "❌ Leave the waitlist"},
    "booking.ics": {"ru": "📆 В календарь (.ics)", "en": "📆 Add to calendar (.ics)"},
    "booking.confirm_cancel": {
        "ru": "❓ Отменить запись?\n\n{session}",
        "en": "❓ Cancel this booking?\n\n{session}",
    },
    "booking.yes_cancel": {"ru": "✅ Да, отменить", "en": "✅ Yes, cancel"},
    "booking.no_keep": {"ru": "❌ Нет, оставить", "en": "❌ No, keep it"},
    "booking.cancelled": {
        "ru": "✅ Запись отменена.\n\n{session}",
        "en": "✅ Booking cancelled.\n\n{session}",
    },
    "booking.left_waitlist": {
        "ru": "✅ Вы вышли из листа ожидания.\n\n{session}",
        "en": "✅ You left the waitlist.\n\n{session}",
    },
    "booking.ics_caption": {"ru": "📆 {title}", "en": "📆 {title}"},
    "bookings.title": {
        "ru": "🗓 <b>Мои записи</b>\nВсего: {total}",
        "en": "🗓 <b>My bookings</b>\nTotal: {total}",
    },
    "bookings.empty": {
        "ru": "🗓 У вас нет предстоящих записей. Откройте ФОК в каталоге и выберите «Расписание».",
        "en": "🗓 You have no upcoming bookings. Open a complex in the catalog and press “Schedule”.",
    },
    "bookings.item": {"ru": "{when} · {complex}", "en": "{when} · {complex}"},
    "bookings.to_list": {"ru": "🔙 К моим записям", "en": "🔙 Back to my bookings"},
    # --- profile ------------------------------------------------------------------------
    "profile.card": {
        "ru": "👤 <b>Профиль</b>\n\nИмя: {name}\nТелефон: {phone}\nЯзык: {lang_name}\n\n"
        "<b>Уведомления</b>\n{reminders} Напоминания о занятиях\n{updates} Статусы заявок\n"
        "{broadcasts} Новости ФОК",
        "en": "👤 <b>Profile</b>\n\nName: {name}\nPhone: {phone}\nLanguage: {lang_name}\n\n"
        "<b>Notifications</b>\n{reminders} Session reminders\n{updates} Application updates\n"
        "{broadcasts} Complex news",
    },
    "profile.no_phone": {"ru": "не указан", "en": "not set"},
    "profile.edit_name": {"ru": "✏️ Изменить имя", "en": "✏️ Change name"},
    "profile.edit_phone": {"ru": "📱 Изменить телефон", "en": "📱 Change phone"},
    "profile.language": {"ru": "🌐 English", "en": "🌐 Русский"},
    "profile.toggle_reminders": {"ru": "{mark} Напоминания", "en": "{mark} Reminders"},
    "profile.toggle_updates": {"ru": "{mark} Статусы заявок", "en": "{mark} Application updates"},
    "profile.toggle_broadcasts": {"ru": "{mark} Новости", "en": "{mark} News"},
    "profile.delete": {"ru": "🗑 Удалить мои данные", "en": "🗑 Delete my data"},
    "profile.ask_name": {
        "ru": "✏️ Введите новое имя (от 2 до 64 символов):",
        "en": "✏️ Type your new name (2 to 64 characters):",
    },
    "profile.ask_phone": {
        "ru": "📱 Поделитесь номером кнопкой ниже:",
        "en": "📱 Share your number with the button below:",
    },
    "profile.name_saved": {"ru": "✅ Имя изменено: {name}", "en": "✅ Name changed: {name}"},
    "profile.language_name": {"ru": "русский", "en": "English"},
    "profile.confirm_delete": {
        "ru": "⚠️ <b>Удалить ваши данные?</b>\n\nИмя и телефон будут стёрты, история заявок "
        "обезличена. Это нельзя отменить.",
        "en": "⚠️ <b>Delete your data?</b>\n\nYour name and phone will be erased and your "
        "application history anonymised. This cannot be undone.",
    },
    "profile.yes_delete": {"ru": "🗑 Да, удалить", "en": "🗑 Yes, delete"},
    "profile.no_keep": {"ru": "Нет, оставить", "en": "No, keep them"},
    "profile.deleted": {
        "ru": "✅ Ваши данные удалены. Чтобы снова пользоваться ботом, отправьте /start.",
        "en": "✅ Your data has been deleted. Send /start to use the bot again.",
    },
    # --- staff: sessions and attendance (bot/telegram/staff/sessions.py) ---------------------
    "staff.sessions.hub_entry": {"ru": "📅 Занятия", "en": "📅 Sessions"},
    "staff.sessions.complexes": {
        "ru": "📅 <b>Занятия</b>\n\nВыберите ФОК ({total}):",
        "en": "📅 <b>Sessions</b>\n\nChoose a complex ({total}):",
    },
    "staff.sessions.no_complexes": {
        "ru": "📅 <b>Занятия</b>\n\nВам не назначено ни одного открытого ФОК ({total}). "
        "Обратитесь к супер-администратору.",
        "en": "📅 <b>Sessions</b>\n\nNo open complex is assigned to you ({total}). "
        "Ask a super admin.",
    },
    "staff.sessions.schedule": {
        "ru": "📅 <b>{complex}</b>\nБлижайшие занятия (месяц): {total}\n\n{lines}",
        "en": "📅 <b>{complex}</b>\nComing sessions (a month): {total}\n\n{lines}",
    },
    "staff.sessions.schedule_empty": {
        "ru": "Занятий пока нет — создайте разовое занятие или еженедельное расписание.",
        "en": "No sessions yet: add a one-off session or a weekly slot.",
    },
    "staff.sessions.line": {
        "ru": "{when} {sport} — {booked}/{capacity}",
        "en": "{when} {sport} — {booked}/{capacity}",
    },
    "staff.sessions.line_cancelled": {
        "ru": "❌ {when} {sport} — отменено",
        "en": "❌ {when} {sport} — cancelled",
    },
    "staff.sessions.new_one_off": {"ru": "➕ Разовое занятие", "en": "➕ One-off session"},
    "staff.sessions.new_weekly": {"ru": "🔁 Еженедельное", "en": "🔁 Weekly slot"},
    "staff.sessions.templates": {
        "ru": "🔁 Еженедельное расписание ({count})",
        "en": "🔁 Weekly schedule ({count})",
    },
    "staff.sessions.to_complexes": {"ru": "🔙 К списку ФОК", "en": "🔙 Back to the complexes"},
    "staff.sessions.to_schedule": {"ru": "🔙 К расписанию", "en": "🔙 Back to the schedule"},
    "staff.sessions.to_session": {"ru": "🔙 К занятию", "en": "🔙 Back to the session"},
    "staff.sessions.templates_title": {
        "ru": "🔁 <b>Еженедельное расписание</b> · {complex}\n\n{lines}\n\n"
        "Остановленный слот больше не создаёт занятий; уже созданные остаются.",
        "en": "🔁 <b>Weekly schedule</b> · {complex}\n\n{lines}\n\n"
        "A stopped slot makes no more sessions; those made already stay.",
    },
    "staff.sessions.templates_empty": {
        "ru": "Еженедельных слотов пока нет.",
        "en": "No weekly slots yet.",
    },
    "staff.sessions.template_line": {
        "ru": "{mark} {weekday} {start} {sport}, {minutes} мин, мест: {capacity}",
        "en": "{mark} {weekday} {start} {sport}, {minutes} min, {capacity} seats",
    },
    "staff.sessions.template_stop": {"ru": "⏸ Остановить: {slot}", "en": "⏸ Stop: {slot}"},
    "staff.sessions.template_start": {"ru": "▶️ Возобновить: {slot}", "en": "▶️ Resume: {slot}"},
    "staff.sessions.generated": {
        "ru": "Создано занятий на ближайшие дни: {count}",
        "en": "Sessions made for the coming days: {count}",
    },
    "staff.sessions.draft": {
        "ru": "{problem}{summary}\n\n{ask}",
        "en": "{problem}{summary}\n\n{ask}",
    },
    "staff.sessions.draft_one_off": {
        "ru": "➕ <b>Разовое занятие</b> · {complex}",
        "en": "➕ <b>One-off session</b> · {complex}",
    },
    "staff.sessions.draft_weekly": {
        "ru": "🔁 <b>Еженедельное занятие</b> · {complex}",
        "en": "🔁 <b>Weekly slot</b> · {complex}",
    },
    "staff.sessions.draft_sport": {"ru": "⚽ Вид спорта: {sport}", "en": "⚽ Sport: {sport}"},
    "staff.sessions.draft_weekday": {
        "ru": "📆 День недели: {weekday}",
        "en": "📆 Weekday: {weekday}",
    },
    "staff.sessions.draft_day": {"ru": "📆 Дата: {day}", "en": "📆 Date: {day}"},
    "staff.sessions.draft_start": {"ru": "🕐 Начало: {start}", "en": "🕐 Start: {start}"},
    "staff.sessions.draft_duration": {
        "ru": "⏱ Длительность: {minutes} мин",
        "en": "⏱ Duration: {minutes} min",
    },
    "staff.sessions.draft_capacity": {"ru": "👥 Мест: {capacity}", "en": "👥 Seats: {capacity}"},
    "staff.sessions.draft_zone": {
        "ru": "🌍 Время местное: {timezone}",
        "en": "🌍 Local time: {timezone}",
    },
    "staff.sessions.ask.sport": {"ru": "Выберите вид спорта:", "en": "Choose the sport:"},
    "staff.sessions.ask.weekday": {
        "ru": "В какой день недели проходит занятие?",
        "en": "On which weekday is the session?",
    },
    "staff.sessions.ask.day": {
        "ru": "Введите дату занятия: ДД.ММ (например, 25.11) или ДД.ММ.ГГГГ.",
        "en": "Type the date: DD.MM (for example 25.11) or DD.MM.YYYY.",
    },
    "staff.sessions.ask.start": {
        "ru": "Введите время начала: ЧЧ:ММ (например, 18:30).",
        "en": "Type the start time: HH:MM (for example 18:30).",
    },
    "staff.sessions.ask.duration": {
        "ru": "Сколько длится занятие? Минуты (например, 60) или часы и минуты (1:30) — "
        "или нажмите кнопку.",
        "en": "How long is it? Minutes (for example 60) or hours and minutes (1:30), or press "
        "a button.",
    },
    "staff.sessions.ask.capacity": {
        "ru": "Сколько мест? Число от 1 до 500.",
        "en": "How many seats? A number from 1 to 500.",
    },
    "staff.sessions.ask.confirm": {
        "ru": "Всё верно? Нажмите «✅ Создать».",
        "en": "All correct? Press “✅ Create”.",
    },
    "staff.sessions.use_buttons": {
        "ru": "☝️ Здесь нужно нажать кнопку ниже.",
        "en": "☝️ Please press one of the buttons below.",
    },
    "staff.sessions.create": {"ru": "✅ Создать", "en": "✅ Create"},
    "staff.sessions.abort": {"ru": "❌ Отмена", "en": "❌ Cancel"},
    "staff.sessions.created": {
        "ru": "✅ Занятие создано: {when}, {sport}. Жители уже видят его в расписании.",
        "en": "✅ Session created: {when}, {sport}. Residents see it in the schedule now.",
    },
    "staff.sessions.saved_weekly": {
        "ru": "✅ Еженедельный слот сохранён: {slot}. Занятий создано на ближайшие две недели: "
        "{count}.",
        "en": "✅ Weekly slot saved: {slot}. Sessions made for the next two weeks: {count}.",
    },
    "staff.sessions.invalid.sport": {
        "ru": "❌ Этого вида спорта нет в ФОК — выберите из списка.",
        "en": "❌ The complex does not offer that sport: choose one from the list.",
    },
    "staff.sessions.invalid.weekday": {
        "ru": "❌ Выберите день недели кнопкой.",
        "en": "❌ Choose the weekday with a button.",
    },
    "staff.sessions.invalid.day.format": {
        "ru": "❌ Не понял дату. Введите её как ДД.ММ, например 25.11, или ДД.ММ.ГГГГ.",
        "en": "❌ That is not a date. Type it as DD.MM, for example 25.11, or DD.MM.YYYY.",
    },
    "staff.sessions.invalid.day.no_such_day": {
        "ru": "❌ Такой даты нет в календаре. Проверьте день и месяц.",
        "en": "❌ There is no such date. Check the day and the month.",
    },
    "staff.sessions.invalid.day.in_past": {
        "ru": "❌ Эта дата уже прошла. Введите сегодняшнюю или будущую.",
        "en": "❌ That date has passed. Type today's or a later one.",
    },
    "staff.sessions.invalid.day.too_far": {
        "ru": "❌ Не дальше чем на год вперёд.",
        "en": "❌ No more than a year ahead.",
    },
    "staff.sessions.invalid.start.format": {
        "ru": "❌ Не понял время. Введите его как ЧЧ:ММ, например 18:30.",
        "en": "❌ That is not a time. Type it as HH:MM, for example 18:30.",
    },
    "staff.sessions.invalid.start.in_past": {
        "ru": "❌ Это время сегодня уже прошло. Введите более позднее.",
        "en": "❌ That time has passed today. Type a later one.",
    },
    "staff.sessions.invalid.starts_at.in_past": {
        "ru": "❌ Это время уже прошло — начните заново с другой датой.",
        "en": "❌ That time has passed: start again with another date.",
    },
    "staff.sessions.invalid.duration.format": {
        "ru": "❌ Введите длительность числом минут (60) или как часы:минуты (1:30).",
        "en": "❌ Type the duration in minutes (60) or as hours:minutes (1:30).",
    },
    "staff.sessions.invalid.duration.out_of_range": {
        "ru": "❌ Длительность — от 1 минуты до 12 часов.",
        "en": "❌ The duration is from 1 minute to 12 hours.",
    },
    "staff.sessions.invalid.capacity.format": {
        "ru": "❌ Введите число мест цифрами, например 12.",
        "en": "❌ Type the number of seats in digits, for example 12.",
    },
    "staff.sessions.invalid.capacity.out_of_range": {
        "ru": "❌ Мест может быть от 1 до 500.",
        "en": "❌ A session has 1 to 500 seats.",
    },
    "staff.sessions.invalid.reason.too_short": {
        "ru": "❌ Напишите причину чуть подробнее (от 3 символов) — её увидят записавшиеся.",
        "en": "❌ Please say a little more (3 characters at least): the people booked will read it.",
    },
    "staff.sessions.invalid.reason.too_long": {
        "ru": "❌ Причина слишком длинная — до 200 символов.",
        "en": "❌ The reason is too long: 200 characters at most.",
    },
    "staff.sessions.invalid.reason.characters": {
        "ru": "❌ В причине есть недопустимые символы. Напишите её обычным текстом.",
        "en": "❌ The reason has characters that are not allowed. Use plain text.",
    },
    "staff.sessions.invalid.checkin_code": {
        "ru": "❌ Код — 6 знаков (буквы и цифры), например 7KX4MP.",
        "en": "❌ A code is 6 characters (letters and digits), for example 7KX4MP.",
    },
    "staff.sessions.invalid.draft": {
        "ru": "❌ Сначала ответьте на все вопросы.",
        "en": "❌ Answer every question first.",
    },
    "staff.sessions.card": {
        "ru": "{note}🗓 <b>{sport}</b> · {complex}\n🕐 {when}–{end} ({timezone})\n"
        "👥 Записано: {booked} из {capacity} · ⏳ в листе ожидания: {waiting}\n{state}\n\n{people}",
        "en": "{note}🗓 <b>{sport}</b> · {complex}\n🕐 {when}–{end} ({timezone})\n"
        "👥 Booked: {booked} of {capacity} · ⏳ waiting: {waiting}\n{state}\n\n{people}",
    },
    "staff.sessions.state_cancelled": {
        "ru": "❌ <b>Занятие отменено.</b> Причина: {reason}",
        "en": "❌ <b>Cancelled.</b> Reason: {reason}",
    },
    "staff.sessions.state_not_yet": {
        "ru": "Отмечать посещение можно с {opens} (за час до начала).",
        "en": "Attendance can be marked from {opens} (an hour before the start).",
    },
    "staff.sessions.state_marks": {
        "ru": "Отмечено: пришли {attended}, не пришли {no_shows} из {total}.",
        "en": "Marked: {attended} came, {no_shows} did not, of {total}.",
    },
    "staff.sessions.nobody": {"ru": "Пока никто не записан.", "en": "Nobody is booked yet."},
    "staff.sessions.person": {
        "ru": "{number}. {mark} {name} · {phone}",
        "en": "{number}. {mark} {name} · {phone}",
    },
    "staff.sessions.came_button": {"ru": "✅ {name}", "en": "✅ {name}"},
    "staff.sessions.no_show_button": {"ru": "🚫 Не пришёл", "en": "🚫 No-show"},
    "staff.sessions.checkin": {"ru": "🎫 Ввести код", "en": "🎫 Type a code"},
    "staff.sessions.all_came": {"ru": "✅ Все пришли", "en": "✅ Everyone came"},
    "staff.sessions.all_marked": {
        "ru": "Отмечены пришедшими: {count}",
        "en": "Marked as present: {count}",
    },
    "staff.sessions.waitlist": {
        "ru": "⏳ Лист ожидания ({count})",
        "en": "⏳ Waitlist ({count})",
    },
    "staff.sessions.waitlist_title": {
        "ru": "⏳ <b>Лист ожидания</b> · {when}\n\n{lines}",
        "en": "⏳ <b>Waitlist</b> · {when}\n\n{lines}",
    },
    "staff.sessions.waitlist_empty": {"ru": "В очереди никого нет.", "en": "Nobody is waiting."},
    "staff.sessions.waiting": {
        "ru": "{position}. {name} · {phone}",
        "en": "{position}. {name} · {phone}",
    },
    "staff.sessions.capacity": {"ru": "👥 Изменить число мест", "en": "👥 Change the seats"},
    "staff.sessions.cancel": {"ru": "❌ Отменить занятие", "en": "❌ Cancel the session"},
    "staff.sessions.ask_code": {
        "ru": "🎫 <b>Отметка по коду</b> · {when}\n\nВведите код с карточки записи участника "
        "(6 знаков). Можно вводить коды один за другим.",
        "en": "🎫 <b>Check-in by code</b> · {when}\n\nType the code from the person's booking "
        "card (6 characters). Type one code after another.",
    },
    "staff.sessions.checked_in": {
        "ru": "✅ {name} — отмечен(а): пришёл(ла).",
        "en": "✅ {name}: marked present.",
    },
    "staff.sessions.next_code": {
        "ru": "Введите следующий код или нажмите «Готово».",
        "en": "Type the next code or press “Done”.",
    },
    "staff.sessions.done": {"ru": "✅ Готово", "en": "✅ Done"},
    "staff.sessions.ask_capacity": {
        "ru": "👥 Сейчас мест: {capacity}, занято: {booked}, в листе ожидания: {waiting}.\n\n"
        "Введите новое число мест. Меньше занятых нельзя — никого из записанных не снимаем; "
        "новые места сразу предлагаются листу ожидания по очереди.",
        "en": "👥 Seats now: {capacity}, taken: {booked}, waiting: {waiting}.\n\n"
        "Type the new number of seats. It cannot be below the seats taken (nobody booked is "
        "dropped); new seats are offered to the waitlist in queue order at once.",
    },
    "staff.sessions.capacity_set": {
        "ru": "✅ Число мест: {capacity}.",
        "en": "✅ Seats: {capacity}.",
    },
    "staff.sessions.ask_reason": {
        "ru": "❌ <b>Отмена занятия</b>\n\nНапишите причину — её получат все записанные и "
        "ожидающие ({people}).",
        "en": "❌ <b>Cancelling the session</b>\n\nType the reason: everyone booked or waiting "
        "({people}) will get it.",
    },
    "staff.sessions.confirm_cancel": {
        "ru": "❓ Отменить занятие {when}?\nПричина: {reason}\n\nУведомление получат: {people}. "
        "Это нельзя отменить.",
        "en": "❓ Cancel the session of {when}?\nReason: {reason}\n\nPeople told: {people}. "
        "This cannot be undone.",
    },
    "staff.sessions.yes_cancel": {"ru": "✅ Да, отменить", "en": "✅ Yes, cancel it"},
    "staff.sessions.keep": {"ru": "❌ Нет, оставить", "en": "❌ No, keep it"},
    "staff.sessions.cancelled": {
        "ru": "✅ Занятие отменено. Уведомление получат: {people}.",
        "en": "✅ Session cancelled. People being told: {people}.",
    },
    "staff.sessions.notice_cancelled": {
        "ru": "❌ <b>Занятие отменено</b>\n\n{session}\n\nПричина: {reason}\n\n"
        "Ваша запись закрыта. Приносим извинения!",
        "en": "❌ <b>Session cancelled</b>\n\n{session}\n\nReason: {reason}\n\n"
        "Your booking is closed. We are sorry!",
    },
    "staff.sessions.checkin_line": {
        "ru": "\n\n🎫 Код для отметки на входе: <code>{code}</code>",
        "en": "\n\n🎫 Check-in code at the door: <code>{code}</code>",
    },
    "staff.sessions.booking_blocked": {
        "ru": "⛔ Запись на занятия недоступна до {until}: вы несколько раз не пришли на "
        "занятия, на которые были записаны. Если это ошибка, обратитесь в ФОК.",
        "en": "⛔ You cannot book until {until}: you missed several sessions you had booked. "
        "If this is a mistake, contact the complex.",
    },
    # errors of the staff side of sessions, by code (screens.error_text)
    "error.booking_blocked": {
        "ru": "⛔ Запись временно недоступна из-за пропущенных занятий.",
        "en": "⛔ Booking is closed for you for a while: too many missed sessions.",
    },
    "error.capacity_below_booked": {
        "ru": "❌ Нельзя сделать меньше мест, чем уже занято ({booked}). Введите {booked} или "
        "больше.",
        "en": "❌ The seats cannot go below those taken ({booked}). Type {booked} or more.",
    },
    "error.attendance_not_open": {
        "ru": "⏳ Рано: приход отмечают с часа до начала, неявку — после начала занятия.",
        "en": "⏳ Too early: arrivals from an hour before the start, no-shows once it has begun.",
    },
    "error.checkin_code_unknown": {
        "ru": "❌ Код {code} не найден среди записей на это занятие.",
        "en": "❌ No booking of this session has the code {code}.",
    },
    "error.catalog_entry_in_use": {
        "ru": "❌ Нельзя скрыть: используется в открытых ФОК ({complexes}). Сначала измените их.",
        "en": "❌ It cannot be hidden: open complexes use it ({complexes}). Change them first.",
    },
    # --- staff: the catalog (bot/telegram/staff/catalog.py) --------------------------------
    "staff.catalog.hub_entry": {"ru": "🏢 Каталог", "en": "🏢 Catalog"},
    "staff.catalog.home": {
        "ru": "🏢 <b>Каталог</b>\n\nФОК, районы и виды спорта.",
        "en": "🏢 <b>Catalog</b>\n\nComplexes, districts and sports.",
    },
    "staff.catalog.complexes": {"ru": "🏢 ФОК", "en": "🏢 Complexes"},
    "staff.catalog.new_complex": {"ru": "➕ Новый ФОК", "en": "➕ New complex"},
    "staff.catalog.districts": {"ru": "📍 Районы", "en": "📍 Districts"},
    "staff.catalog.sports": {"ru": "⚽ Виды спорта", "en": "⚽ Sports"},
    "staff.catalog.to_home": {"ru": "🔙 К каталогу", "en": "🔙 Back to the catalog"},
    "staff.catalog.to_complexes": {"ru": "🔙 К списку ФОК", "en": "🔙 Back to the complexes"},
    "staff.catalog.to_complex": {"ru": "🔙 К ФОК", "en": "🔙 Back to the complex"},
    "staff.catalog.to_districts": {"ru": "🔙 К районам", "en": "🔙 Back to the districts"},
    "staff.catalog.to_district": {"ru": "🔙 К району", "en": "🔙 Back to the district"},
    "staff.catalog.to_sports": {"ru": "🔙 К видам спорта", "en": "🔙 Back to the sports"},
    "staff.catalog.to_sport": {"ru": "🔙 К виду спорта", "en": "🔙 Back to the sport"},
    "staff.catalog.to_sessions": {"ru": "📅 Занятия этого ФОК", "en": "📅 Its sessions"},
    "staff.catalog.complexes_title": {
        "ru": "🏢 <b>ФОК</b> ({total})\n\n🙈 — скрытые от жителей.",
        "en": "🏢 <b>Complexes</b> ({total})\n\n🙈 — hidden from residents.",
    },
    "staff.catalog.no_complexes": {
        "ru": "🏢 Вам не назначено ни одного ФОК ({total}).",
        "en": "🏢 No complex is assigned to you ({total}).",
    },
    "staff.catalog.card": {
        "ru": "{note}🏢 <b>{name}</b>{hidden}\nКод: {code}\n\n📍 Район: {district}\n"
        "🏠 Адрес: {address}\n⚽ Виды спорта: {sports}\n📞 Телефон: {phone}\n"
        "✉️ Email: {email}\n🌐 Сайт: {website}\n🕐 Режим работы: {hours}\n"
        "📝 Описание: {description}\n🗺 Координаты: {location}\n🌍 Часовой пояс: {timezone}\n"
        "❌ Отмена записи: не позднее чем за {window} ч\n"
        "⏳ Освободившееся место держится: {hold} мин\n📅 Занятий впереди: {coming}",
        "en": "{note}🏢 <b>{name}</b>{hidden}\nCode: {code}\n\n📍 District: {district}\n"
        "🏠 Address: {address}\n⚽ Sports: {sports}\n📞 Phone: {phone}\n"
        "✉️ Email: {email}\n🌐 Website: {website}\n🕐 Opening hours: {hours}\n"
        "📝 Description: {description}\n🗺 Location: {location}\n🌍 Time zone: {timezone}\n"
        "❌ Cancelling: up to {window} h before the start\n"
        "⏳ A freed seat is held: {hold} min\n📅 Sessions to come: {coming}",
    },
    "staff.catalog.hidden_mark": {
        "ru": " · 🙈 скрыт от жителей",
        "en": " · 🙈 hidden from residents",
    },
    "staff.catalog.unset": {"ru": "не указано", "en": "not set"},
    "staff.catalog.edit.name": {"ru": "✏️ Название", "en": "✏️ Name"},
    "staff.catalog.edit.district": {"ru": "📍 Район", "en": "📍 District"},
    "staff.catalog.edit.address": {"ru": "✏️ Адрес", "en": "✏️ Address"},
    "staff.catalog.edit.phone": {"ru": "✏️ Телефон", "en": "✏️ Phone"},
    "staff.catalog.edit.email": {"ru": "✏️ Email", "en": "✏️ Email"},
    "staff.catalog.edit.website": {"ru": "✏️ Сайт", "en": "✏️ Website"},
    "staff.catalog.edit.hours": {"ru": "✏️ Режим работы", "en": "✏️ Opening hours"},
    "staff.catalog.edit.description": {"ru": "✏️ Описание", "en": "✏️ Description"},
    "staff.catalog.edit.sports": {"ru": "⚽ Виды спорта", "en": "⚽ Sports"},
    "staff.catalog.edit.location": {"ru": "✏️ Координаты", "en": "✏️ Location"},
    "staff.catalog.edit.timezone": {"ru": "✏️ Часовой пояс", "en": "✏️ Time zone"},
    "staff.catalog.edit.window": {"ru": "✏️ Окно отмены", "en": "✏️ Cancelling window"},
    "staff.catalog.edit.hold": {"ru": "✏️ Удержание места", "en": "✏️ Seat hold"},
    "staff.catalog.current": {"ru": "\nСейчас: {value}", "en": "\nNow: {value}"},
    "staff.catalog.clear_hint": {
        "ru": "\n\nЧтобы убрать значение, отправьте «-».",
        "en": "\n\nSend “-” to remove it.",
    },
    "staff.catalog.ask.name": {
        "ru": "✏️ Введите название ФОК (от 2 до 100 символов).\nСейчас: {current}{clear}",
        "en": "✏️ Type the complex's name (2 to 100 characters).\nNow: {current}{clear}",
    },
    "staff.catalog.ask.address": {
        "ru": "✏️ Введите адрес (от 3 до 200 символов).\nСейчас: {current}{clear}",
        "en": "✏️ Type the address (3 to 200 characters).\nNow: {current}{clear}",
    },
    "staff.catalog.ask.phone": {
        "ru": "✏️ Введите телефон, например +7 831 295-12-04.\nСейчас: {current}{clear}",
        "en": "✏️ Type the phone, for example +7 831 295-12-04.\nNow: {current}{clear}",
    },
    "staff.catalog.ask.email": {
        "ru": "✏️ Введите email, например fok@example.ru.\nСейчас: {current}{clear}",
        "en": "✏️ Type the email, for example fok@example.org.\nNow: {current}{clear}",
    },
    "staff.catalog.ask.website": {
        "ru": "✏️ Введите адрес сайта, начиная с https://.\nСейчас: {current}{clear}",
        "en": "✏️ Type the website, starting with https://.\nNow: {current}{clear}",
    },
    "staff.catalog.ask.hours": {
        "ru": "✏️ Введите режим работы, например «пн–вс 07:00–22:00».\nСейчас: {current}{clear}",
        "en": "✏️ Type the opening hours, for example “Mon–Sun 07:00–22:00”.\nNow: {current}{clear}",
    },
    "staff.catalog.ask.description": {
        "ru": "✏️ Введите описание (до 1000 символов).\nСейчас: {current}{clear}",
        "en": "✏️ Type the description (1000 characters at most).\nNow: {current}{clear}",
    },
    "staff.catalog.ask.location": {
        "ru": "✏️ Отправьте геопозицию ФОК (📎 → Геопозиция) или введите координаты: "
        "«широта, долгота», например 56.2418, 43.8563.\nСейчас: {current}{clear}",
        "en": "✏️ Send the complex's location (📎 → Location) or type “latitude, longitude”, "
        "for example 56.2418, 43.8563.\nNow: {current}{clear}",
    },
    "staff.catalog.ask.timezone": {
        "ru": "✏️ Введите часовой пояс, например Europe/Moscow или Asia/Yekaterinburg. "
        "Время занятий показывается в нём.\nСейчас: {current}{clear}",
        "en": "✏️ Type the time zone, for example Europe/Moscow or Asia/Yekaterinburg. Session "
        "times are shown in it.\nNow: {current}{clear}",
    },
    "staff.catalog.ask.window": {
        "ru": "✏️ За сколько часов до начала ещё можно отменить запись? Число от 0 до 168."
        "\nСейчас: {current}{clear}",
        "en": "✏️ Up to how many hours before the start may a booking be cancelled? 0 to 168."
        "\nNow: {current}{clear}",
    },
    "staff.catalog.ask.hold": {
        "ru": "✏️ Сколько минут освободившееся место ждёт ответа следующего в очереди? "
        "Число от 1 до 1440.\nСейчас: {current}{clear}",
        "en": "✏️ How many minutes does a freed seat wait for the next person in line? "
        "1 to 1440.\nNow: {current}{clear}",
    },
    "staff.catalog.type_it": {
        "ru": "☝️ Здесь нужно ввести значение текстом.",
        "en": "☝️ Please type the value.",
    },
    "staff.catalog.saved": {"ru": "✅ Сохранено: {field}", "en": "✅ Saved: {field}"},
    "staff.catalog.saved_entry": {"ru": "✅ Сохранено.", "en": "✅ Saved."},
    "staff.catalog.invalid.name": {
        "ru": "❌ Название — от 2 до 100 символов обычным текстом.",
        "en": "❌ A name is 2 to 100 characters of plain text.",
    },
    "staff.catalog.invalid.address": {
        "ru": "❌ Адрес — от 3 до 200 символов обычным текстом.",
        "en": "❌ An address is 3 to 200 characters of plain text.",
    },
    "staff.catalog.invalid.hours": {
        "ru": "❌ Режим работы — от 2 до 200 символов обычным текстом.",
        "en": "❌ Opening hours are 2 to 200 characters of plain text.",
    },
    "staff.catalog.invalid.description": {
        "ru": "❌ Описание — от 2 до 1000 символов обычным текстом.",
        "en": "❌ A description is 2 to 1000 characters of plain text.",
    },
    "staff.catalog.invalid.phone": {
        "ru": "❌ Не похоже на телефон. Пример: +7 831 295-12-04.",
        "en": "❌ That does not look like a phone number. Example: +7 831 295-12-04.",
    },
    "staff.catalog.invalid.email": {
        "ru": "❌ Не похоже на email. Пример: fok@example.ru.",
        "en": "❌ That does not look like an email. Example: fok@example.org.",
    },
    "staff.catalog.invalid.website": {
        "ru": "❌ Адрес сайта должен начинаться с http:// или https://.",
        "en": "❌ A website starts with http:// or https://.",
    },
    "staff.catalog.invalid.location": {
        "ru": "❌ Введите координаты как «широта, долгота», например 56.2418, 43.8563 "
        "(широта от −90 до 90, долгота от −180 до 180).",
        "en": "❌ Type “latitude, longitude”, for example 56.2418, 43.8563 (latitude −90 to 90, "
        "longitude −180 to 180).",
    },
    "staff.catalog.invalid.timezone": {
        "ru": "❌ Такого часового пояса нет. Пример: Europe/Moscow.",
        "en": "❌ There is no such time zone. Example: Europe/Moscow.",
    },
    "staff.catalog.invalid.window": {
        "ru": "❌ Введите число часов от 0 до 168.",
        "en": "❌ Type a number of hours from 0 to 168.",
    },
    "staff.catalog.invalid.hold": {
        "ru": "❌ Введите число минут от 1 до 1440.",
        "en": "❌ Type a number of minutes from 1 to 1440.",
    },
    "staff.catalog.invalid.sports.empty": {
        "ru": "❌ Нужен хотя бы один вид спорта.",
        "en": "❌ At least one sport is needed.",
    },
    "staff.catalog.invalid.sport": {
        "ru": "❌ Этот вид спорта скрыт или удалён — выберите другой.",
        "en": "❌ That sport is hidden or gone: choose another one.",
    },
    "staff.catalog.invalid.district": {
        "ru": "❌ Этот район скрыт или удалён — выберите другой.",
        "en": "❌ That district is hidden or gone: choose another one.",
    },
    "staff.catalog.invalid.icon": {
        "ru": "❌ Значок — один эмодзи, например ⚽. «-» убирает значок.",
        "en": "❌ An icon is one emoji, for example ⚽. “-” removes it.",
    },
    "staff.catalog.invalid.reason.too_short": {
        "ru": "❌ Напишите причину чуть подробнее (от 3 символов) — её увидят записавшиеся.",
        "en": "❌ Please say a little more (3 characters at least): the people booked will read it.",
    },
    "staff.catalog.invalid.reason.too_long": {
        "ru": "❌ Причина слишком длинная — до 200 символов.",
        "en": "❌ The reason is too long: 200 characters at most.",
    },
    "staff.catalog.invalid.reason.characters": {
        "ru": "❌ В причине есть недопустимые символы. Напишите её обычным текстом.",
        "en": "❌ The reason has characters that are not allowed. Use plain text.",
    },
    "staff.catalog.invalid.draft": {
        "ru": "❌ Сначала ответьте на вопросы по порядку.",
        "en": "❌ Answer the questions in order first.",
    },
    "staff.catalog.choose_district": {
        "ru": "📍 В каком районе «{name}»?",
        "en": "📍 Which district is “{name}” in?",
    },
    "staff.catalog.choose_sports": {
        "ru": "⚽ Виды спорта «{name}» (✅ — есть в ФОК). Нажмите, чтобы добавить или убрать.",
        "en": "⚽ Sports of “{name}” (✅: offered). Press one to add or remove it.",
    },
    "staff.catalog.hide": {"ru": "🙈 Скрыть", "en": "🙈 Hide"},
    "staff.catalog.show": {"ru": "👁 Показать жителям", "en": "👁 Show to residents"},
    "staff.catalog.ask_hide_reason": {
        "ru": "🙈 <b>Скрыть «{name}»</b>\n\nФОК пропадёт из каталога, история сохранится. "
        "Занятий впереди: {sessions} — они будут отменены, записанные получат уведомление.\n\n"
        "Напишите причину (её увидят записанные):",
        "en": "🙈 <b>Hide “{name}”</b>\n\nIt leaves the catalog; its history stays. Sessions to "
        "come: {sessions}: they will be cancelled and the people booked told.\n\n"
        "Type the reason (the people booked will read it):",
    },
    "staff.catalog.confirm_hide": {
        "ru": "❓ Скрыть «{name}»?\nПричина: {reason}\nБудет отменено занятий: {sessions}.",
        "en": "❓ Hide “{name}”?\nReason: {reason}\nSessions to be cancelled: {sessions}.",
    },
    "staff.catalog.yes_hide": {"ru": "✅ Да, скрыть", "en": "✅ Yes, hide it"},
    "staff.catalog.keep": {"ru": "❌ Нет", "en": "❌ No"},
    "staff.catalog.hidden": {
        "ru": "✅ ФОК скрыт. Отменено занятий: {sessions}; записанные получат уведомление.",
        "en": "✅ The complex is hidden. Sessions cancelled: {sessions}; the people booked are "
        "being told.",
    },
    "staff.catalog.shown": {
        "ru": "✅ ФОК снова виден жителям.",
        "en": "✅ The complex is visible to residents again.",
    },
    "staff.catalog.draft": {
        "ru": "{problem}➕ <b>Новый ФОК</b>\n{lines}\n\n{ask}",
        "en": "{problem}➕ <b>New complex</b>\n{lines}\n\n{ask}",
    },
    "staff.catalog.draft_name": {"ru": "🏢 Название: {name}", "en": "🏢 Name: {name}"},
    "staff.catalog.draft_district": {
        "ru": "📍 Район: {district}",
        "en": "📍 District: {district}",
    },
    "staff.catalog.draft_address": {"ru": "🏠 Адрес: {address}", "en": "🏠 Address: {address}"},
    "staff.catalog.ask_new.name": {
        "ru": "Введите название ФОК (от 2 до 100 символов):",
        "en": "Type the complex's name (2 to 100 characters):",
    },
    "staff.catalog.ask_new.district": {
        "ru": "Выберите район:",
        "en": "Choose the district:",
    },
    "staff.catalog.ask_new.address": {
        "ru": "Введите адрес (от 3 до 200 символов):",
        "en": "Type the address (3 to 200 characters):",
    },
    "staff.catalog.ask_new.sports": {
        "ru": "Отметьте виды спорта и нажмите «✅ Создать ФОК». Телефон, режим работы, "
        "координаты и остальное можно указать сразу после создания.",
        "en": "Tick the sports and press “✅ Create the complex”. The phone, hours, location and "
        "the rest can be set right after.",
    },
    "staff.catalog.use_buttons": {
        "ru": "☝️ Здесь нужно нажать кнопку ниже.",
        "en": "☝️ Please press one of the buttons below.",
    },
    "staff.catalog.create": {"ru": "✅ Создать ФОК", "en": "✅ Create the complex"},
    "staff.catalog.abort": {"ru": "❌ Отмена", "en": "❌ Cancel"},
    "staff.catalog.created": {
        "ru": "✅ ФОК создан и виден жителям. Дополните карточку:",
        "en": "✅ The complex is created and visible. Fill in the rest:",
    },
    "staff.catalog.districts_title": {
        "ru": "📍 <b>Районы</b> ({total})\nВ скобках — открытые ФОК района; 🙈 — скрытые.",
        "en": "📍 <b>Districts</b> ({total})\nIn brackets: the open complexes; 🙈: hidden.",
    },
    "staff.catalog.district_card": {
        "ru": "{note}📍 <b>{name}</b>{hidden}\nКод: {code}\nОткрытых ФОК: {complexes}",
        "en": "{note}📍 <b>{name}</b>{hidden}\nCode: {code}\nOpen complexes: {complexes}",
    },
    "staff.catalog.new_district": {"ru": "➕ Новый район", "en": "➕ New district"},
    "staff.catalog.rename": {"ru": "✏️ Переименовать", "en": "✏️ Rename"},
    "staff.catalog.ask_district": {
        "ru": "✏️ Введите название района (от 2 до 100 символов).{current}",
        "en": "✏️ Type the district's name (2 to 100 characters).{current}",
    },
    "staff.catalog.sports_title": {
        "ru": "⚽ <b>Виды спорта</b> ({total})\nВ скобках — открытые ФОК с ним; 🙈 — скрытые.",
        "en": "⚽ <b>Sports</b> ({total})\nIn brackets: the open complexes offering it; 🙈: hidden.",
    },
    "staff.catalog.sport_card": {
        "ru": "{note}⚽ <b>{name}</b>{hidden}\nЗначок: {icon}\nКод: {code}\n"
        "Открытых ФОК с ним: {complexes}",
        "en": "{note}⚽ <b>{name}</b>{hidden}\nIcon: {icon}\nCode: {code}\n"
        "Open complexes offering it: {complexes}",
    },
    "staff.catalog.new_sport": {"ru": "➕ Новый вид спорта", "en": "➕ New sport"},
    "staff.catalog.edit_icon": {"ru": "✏️ Значок", "en": "✏️ Icon"},
    "staff.catalog.ask_sport_name": {
        "ru": "✏️ Введите название вида спорта (от 2 до 100 символов).{current}",
        "en": "✏️ Type the sport's name (2 to 100 characters).{current}",
    },
    "staff.catalog.ask_sport_icon": {
        "ru": "✏️ Отправьте значок — один эмодзи, например 🏊 («-» убирает значок).{current}",
        "en": "✏️ Send the icon, one emoji such as 🏊 (“-” removes it).{current}",
    },
    # --- help, fallback, refusals -------------------------------------------------------
    "help.text": {
        "ru": "ℹ️ <b>Помощь</b>\n\n"
        "🏢 <b>Каталог ФОК</b> — районы, карточки комплексов, расписание.\n"
        "🔍 <b>По видам спорта</b> — ФОК, где есть выбранные виды спорта.\n"
        "📍 <b>Рядом со мной</b> — ближайшие ФОК по геопозиции.\n"
        "📋 <b>Мои заявки</b> — статусы заявок в секции и их отмена.\n"
        "🗓 <b>Мои записи</b> — занятия, лист ожидания, файл для календаря.\n"
        "👤 <b>Профиль</b> — имя, телефон, язык, уведомления, удаление данных.\n\n"
        "Для заявок нужен номер телефона. Статусы заявок: на рассмотрении → принята → "
        "передана в ФОК → выполнена (или отклонена / отменена).\n\n"
        "Команды: /start, /menu, /help",
        "en": "ℹ️ <b>Help</b>\n\n"
        "🏢 <b>Complexes</b>: districts, complex cards, schedules.\n"
        "🔍 <b>By sport</b>: complexes offering the sports you pick.\n"
        "📍 <b>Near me</b>: the nearest complexes to your location.\n"
        "📋 <b>My applications</b>: statuses of your section applications, cancelling.\n"
        "🗓 <b>My bookings</b>: sessions, waitlist, calendar files.\n"
        "👤 <b>Profile</b>: name, phone, language, notifications, deleting your data.\n\n"
        "Applications need a phone number. Statuses: pending → accepted → passed to the "
        "complex → completed (or rejected / cancelled).\n\n"
        "Commands: /start, /menu, /help",
    },
    "fallback.unknown": {
        "ru": "🤔 Я не понял сообщение. Воспользуйтесь кнопками меню или командами /menu и /help.",
        "en": "🤔 I did not understand that. Use the menu buttons or the /menu and /help commands.",
    },
    "fallback.outdated": {
        "ru": "Эта кнопка устарела. Откройте раздел заново.",
        "en": "This button is outdated. Please open the section again.",
    },
    "refuse.blocked": {
        "ru": "⛔ Доступ к боту ограничен администрацией. Если это ошибка, обратитесь в ФОК.",
        "en": "⛔ Your access to the bot has been restricted. If this is a mistake, contact the "
        "complex.",
    },
    "refuse.flood": {
        "ru": "⚠️ Слишком много запросов. Пожалуйста, подождите немного.",
        "en": "⚠️ Too many requests. Please wait a moment.",
    },
    "refuse.internal": {
        "ru": "😔 Что-то пошло не так. Попробуйте ещё раз чуть позже.",
        "en": "😔 Something went wrong. Please try again a bit later.",
    },
    # --- domain errors by code ----------------------------------------------------------
    "error.not_found": {
        "ru": "Не найдено — возможно, это уже удалено или вам недоступно.",
        "en": "Not found: it may have been removed or is not yours.",
    },
    "error.permission_denied": {
        "ru": "❌ У вас нет прав для выполнения этого действия.",
        "en": "❌ You do not have permission to do that.",
    },
    "error.validation_failed": {
        "ru": "Проверьте введённые данные.",
        "en": "Please check what you entered.",
    },
    "error.invalid_transition": {
        "ru": "Это действие для заявки в текущем статусе недоступно.",
        "en": "This action is not available in the application's current status.",
    },
    "error.duplicate_application": {
        "ru": "У вас уже есть активная заявка в этот ФОК на этот вид спорта.",
        "en": "You already have an active application for this sport at this complex.",
    },
    "error.phone_required": {
        "ru": "Для этого нужен номер телефона — добавьте его в профиле.",
        "en": "This needs a phone number: add it in your profile.",
    },
    "error.consent_required": {
        "ru": "Сначала завершите регистрацию: отправьте /start.",
        "en": "Please complete registration first: send /start.",
    },
    "error.user_blocked": {
        "ru": "⛔ Доступ к боту ограничен администрацией.",
        "en": "⛔ Your access to the bot has been restricted.",
    },
    "error.cancellation_window_closed": {
        "ru": "❌ Отменить запись уже нельзя: отмена возможна не позднее чем за {hours} ч до начала "
        "занятия.",
        "en": "❌ It is too late to cancel: bookings can be cancelled up to {hours} h before the "
        "start.",
    },
    "error.session_unavailable": {
        "ru": "Запись на это занятие закрыта (оно отменено или уже началось).",
        "en": "This session is closed for booking (cancelled or already started).",
    },
    "error.offer_unavailable": {
        "ru": "Предложение больше не действует: время вышло или место уже занято.",
        "en": "The offer is no longer valid: it expired or the seat was taken.",
    },
    "error.stale_action": {
        "ru": "Состояние уже изменилось — обновите экран.",
        "en": "Things have changed since: please refresh the screen.",
    },
    "error.domain_error": {
        "ru": "Действие не выполнено.",
        "en": "The action was not completed.",
    },
    # --- staff: the hub (/admin) -------------------------------------------------------
    "staff.menu_entry": {"ru": "🛠 Управление", "en": "🛠 Staff"},
    "staff.hub.title": {
        "ru": "👑 <b>Панель администратора</b>\n\nДобро пожаловать, {name}!\nРоль: {role}{scope}"
        "\n\nВыберите раздел:",
        "en": "👑 <b>Admin panel</b>\n\nWelcome, {name}!\nRole: {role}{scope}\n\nChoose a section:",
    },
    "staff.hub.scope": {"ru": "\nФОК: {complexes}", "en": "\nComplexes: {complexes}"},
    "staff.hub.all_complexes": {"ru": "\nФОК: все", "en": "\nComplexes: all"},
    "staff.hub.no_scope": {
        "ru": "\nФОК пока не назначены — обратитесь к супер-администратору.",
        "en": "\nNo complexes assigned yet: ask a super admin.",
    },
    "staff.hub.to_hub": {"ru": "🔙 В панель", "en": "🔙 Admin panel"},
    "staff.role.super_admin": {"ru": "супер-администратор", "en": "super admin"},
    "staff.role.admin": {"ru": "администратор", "en": "admin"},
    "staff.role.manager": {"ru": "менеджер", "en": "manager"},
    "staff.hub.applications": {"ru": "📋 Заявки", "en": "📋 Applications"},
    "staff.hub.users": {"ru": "👥 Пользователи", "en": "👥 Users"},
    "staff.hub.audit": {"ru": "📜 Журнал действий", "en": "📜 Audit log"},
    "staff.cancel": {"ru": "✖️ Отмена", "en": "✖️ Cancel"},
    "staff.none": {"ru": "—", "en": "—"},
    "staff.error.reason_missing": {
        "ru": "✍️ Напишите причину обычным текстом.",
        "en": "✍️ Please type the reason as plain text.",
    },
    "staff.error.reason_too_long": {
        "ru": "❌ Причина длиннее 200 символов — сократите её.",
        "en": "❌ The reason is over 200 characters: please shorten it.",
    },
    "staff.error.query_empty": {
        "ru": "✍️ Введите запрос обычным текстом.",
        "en": "✍️ Please type what to look for.",
    },
    "staff.error.query_too_long": {
        "ru": "❌ Запрос длиннее 64 символов — сократите его.",
        "en": "❌ The query is over 64 characters: please shorten it.",
    },
    "staff.error.block_self": {
        "ru": "❌ Нельзя заблокировать самого себя.",
        "en": "❌ You cannot block yourself.",
    },
    "staff.error.role_self": {
        "ru": "❌ Нельзя снять с себя роль супер-администратора.",
        "en": "❌ You cannot take the super admin role from yourself.",
    },
    "staff.error.only_managers": {
        "ru": "❌ ФОК назначают только менеджерам.",
        "en": "❌ Complexes are assigned to managers only.",
    },
    # --- staff: applications --------------------------------------------------------------
    "staff.apps.menu": {
        "ru": "📋 <b>Управление заявками</b>\n\nВыберите список или найдите заявку:",
        "en": "📋 <b>Applications</b>\n\nChoose a list or find an application:",
    },
    "staff.apps.status_button": {
        "ru": "{emoji} {status} ({count})",
        "en": "{emoji} {status} ({count})",
    },
    "staff.apps.all": {"ru": "📊 Все заявки ({count})", "en": "📊 All applications ({count})"},
    "staff.apps.search": {"ru": "🔍 Поиск заявок", "en": "🔍 Find applications"},
    "staff.apps.list_title": {
        "ru": "{emoji} <b>{status}</b>: {total}\nСначала новые.",
        "en": "{emoji} <b>{status}</b>: {total}\nNewest first.",
    },
    "staff.apps.all_title": {
        "ru": "📊 <b>Все заявки</b>: {total}\nСначала новые.",
        "en": "📊 <b>All applications</b>: {total}\nNewest first.",
    },
    "staff.apps.list_empty": {
        "ru": "\n\nВ этом списке заявок нет.",
        "en": "\n\nThis list is empty.",
    },
    "staff.apps.item": {
        "ru": "{emoji} № {number} · {complex} · {name}",
        "en": "{emoji} #{number} · {complex} · {name}",
    },
    "staff.apps.to_menu": {"ru": "🔙 К заявкам", "en": "🔙 Applications"},
    "staff.apps.to_list": {"ru": "🔙 К списку", "en": "🔙 Back to the list"},
    "staff.apps.search_ask": {
        "ru": "🔍 Введите номер заявки, телефон, имя заявителя или название ФОК:",
        "en": "🔍 Type an application number, a phone, the applicant's name or a complex's name:",
    },
    "staff.apps.search_results": {
        "ru": "🔍 По запросу «{query}» найдено: {total}. Сначала новые.",
        "en": "🔍 Found for “{query}”: {total}. Newest first.",
    },
    "staff.apps.search_nothing": {
        "ru": "🔍 По запросу «{query}» заявок нет. Попробуйте иначе:",
        "en": "🔍 No applications for “{query}”. Try something else:",
    },
    "staff.apps.search_again": {"ru": "🔍 Новый поиск", "en": "🔍 New search"},
    "staff.apps.card": {
        "ru": "📋 <b>Заявка № {number}</b>\n{emoji} {status}\n\n👤 {name}\n📱 {phone}\n🆔 {user_id}"
        "\n🏢 {complex}\n⚽ {sport}\n📅 Подана: {created}{comment}\n\n<b>История:</b>\n{history}"
        "{others}",
        "en": "📋 <b>Application #{number}</b>\n{emoji} {status}\n\n👤 {name}\n📱 {phone}\n🆔 {user_id}"
        "\n🏢 {complex}\n⚽ {sport}\n📅 Submitted: {created}{comment}\n\n<b>History:</b>\n{history}"
        "{others}",
    },
    "staff.apps.comment": {"ru": "\n💬 Сообщение: {text}", "en": "\n💬 Message: {text}"},
    "staff.apps.no_phone": {"ru": "не указан", "en": "not given"},
    "staff.apps.erased": {"ru": "данные удалены", "en": "data deleted"},
    "staff.apps.history_submitted": {
        "ru": "• {at} — {who}: подана",
        "en": "• {at} — {who}: submitted",
    },
    "staff.apps.history_line": {
        "ru": "• {at} — {who}: {before} → {after}{comment}",
        "en": "• {at} — {who}: {before} → {after}{comment}",
    },
    "staff.apps.history_comment": {"ru": "\n   💬 {text}", "en": "\n   💬 {text}"},
    "staff.apps.who_applicant": {"ru": "заявитель", "en": "applicant"},
    "staff.apps.who_staff": {"ru": "сотрудник {id}", "en": "staff member {id}"},
    "staff.apps.others": {
        "ru": "\n\n<b>Другие заявки заявителя:</b>\n{lines}",
        "en": "\n\n<b>The applicant's other applications:</b>\n{lines}",
    },
    "staff.apps.other_line": {
        "ru": "• № {number} — {complex}, {sport}: {emoji} {status}",
        "en": "• #{number} — {complex}, {sport}: {emoji} {status}",
    },
    "staff.apps.do.accepted": {"ru": "✅ Принять", "en": "✅ Accept"},
    "staff.apps.do.transferred": {"ru": "📤 Передать", "en": "📤 Pass on"},
    "staff.apps.do.completed": {"ru": "🎉 Выполнено", "en": "🎉 Completed"},
    "staff.apps.do.rejected": {"ru": "🚫 Отклонить", "en": "🚫 Reject"},
    "staff.apps.done.accepted": {"ru": "✅ Заявка принята!", "en": "✅ Application accepted!"},
    "staff.apps.done.transferred": {
        "ru": "📤 Заявка передана в учреждение!",
        "en": "📤 Application passed to the complex!",
    },
    "staff.apps.done.completed": {"ru": "🎉 Заявка выполнена!", "en": "🎉 Application completed!"},
    "staff.apps.done.rejected": {"ru": "🚫 Заявка отклонена!", "en": "🚫 Application rejected!"},
    "staff.apps.ask_comment": {
        "ru": "<b>{action}</b>: заявка № {number} ({complex}, {name}).\n\n💬 Напишите комментарий "
        "для заявителя — он его увидит — или нажмите «Без комментария».",
        "en": "<b>{action}</b>: application #{number} ({complex}, {name}).\n\n💬 Type a comment for "
        "the applicant (they will see it) or press “No comment”.",
    },
    "staff.apps.no_comment": {"ru": "➡️ Без комментария", "en": "➡️ No comment"},
    "staff.apps.stale": {
        "ru": "⚠️ Заявку № {number} уже изменил другой сотрудник: сейчас она «{status}». "
        "Ничего не изменено.",
        "en": "⚠️ Application #{number} was changed by someone else: it is now “{status}”. "
        "Nothing was changed.",
    },
    "staff.apps.open_user": {"ru": "👤 Профиль пользователя", "en": "👤 The user"},
    "staff.apps.audit": {"ru": "📜 Журнал по заявке", "en": "📜 Audit of it"},
    "staff.notify.new": {
        "ru": "🆕 <b>Новая заявка № {number}</b>\n\n👤 {name}\n📱 {phone}\n🏢 {complex}\n⚽ {sport}"
        "{comment}",
        "en": "🆕 <b>New application #{number}</b>\n\n👤 {name}\n📱 {phone}\n🏢 {complex}\n⚽ {sport}"
        "{comment}",
    },
    "staff.notify.open": {"ru": "📋 Открыть заявку", "en": "📋 Open the application"},
    "staff.notify.blocked": {
        "ru": "⛔ Доступ к боту ограничен администрацией.{reason}\n\nЕсли это ошибка, обратитесь в ФОК.",
        "en": "⛔ Your access to the bot has been restricted.{reason}\n\nIf this is a mistake, "
        "contact the complex.",
    },
    "staff.notify.blocked_reason": {"ru": "\nПричина: {reason}", "en": "\nReason: {reason}"},
    # --- staff: users ---------------------------------------------------------------------
    "staff.users.ask": {
        "ru": "👥 <b>Пользователи</b>\n\nВведите имя, телефон или Telegram ID:",
        "en": "👥 <b>Users</b>\n\nType a name, a phone or a Telegram ID:",
    },
    "staff.users.results": {
        "ru": "👥 По запросу «{query}» найдено: {total}.",
        "en": "👥 Found for “{query}”: {total}.",
    },
    "staff.users.nothing": {
        "ru": "👥 По запросу «{query}» никого нет. Попробуйте иначе:",
        "en": "👥 Nobody found for “{query}”. Try something else:",
    },
    "staff.users.item": {
        "ru": "{marks}{name} · {phone} · {id}",
        "en": "{marks}{name} · {phone} · {id}",
    },
    "staff.users.search_again": {"ru": "🔍 Новый поиск", "en": "🔍 New search"},
    "staff.users.card": {
        "ru": "👤 <b>{name}</b>\n🆔 {id}\n📱 {phone}\n🌐 Язык: {lang}\n📅 Регистрация: "
        "{registered}\n🎖 Роль: {role}{complexes}\n{state}\n\n📋 Заявки: {applications}{lines}"
        "\n🗓 Записи: {bookings} (активных: {active}), посещено: {attended}, неявок: {no_shows}",
        "en": "👤 <b>{name}</b>\n🆔 {id}\n📱 {phone}\n🌐 Language: {lang}\n📅 Registered: "
        "{registered}\n🎖 Role: {role}{complexes}\n{state}\n\n📋 Applications: {applications}{lines}"
        "\n🗓 Bookings: {bookings} ({active} active), attended: {attended}, no-shows: {no_shows}",
    },
    "staff.users.unnamed": {"ru": "без имени", "en": "no name"},
    "staff.users.not_registered": {"ru": "не завершена", "en": "not completed"},
    "staff.users.deleted": {"ru": "данные удалены {at}", "en": "data deleted {at}"},
    "staff.users.no_role": {"ru": "нет (житель)", "en": "none (resident)"},
    "staff.users.complexes": {"ru": "\n🏢 ФОК: {names}", "en": "\n🏢 Complexes: {names}"},
    "staff.users.state_active": {"ru": "✅ Доступ открыт", "en": "✅ Has access"},
    "staff.users.state_blocked": {"ru": "⛔ Заблокирован{reason}", "en": "⛔ Blocked{reason}"},
    "staff.users.reason": {"ru": ": {reason}", "en": ": {reason}"},
    "staff.users.app_line": {
        "ru": "\n• № {number} — {complex}: {emoji} {status}",
        "en": "\n• #{number} — {complex}: {emoji} {status}",
    },
    "staff.users.block": {"ru": "⛔ Заблокировать", "en": "⛔ Block"},
    "staff.users.unblock": {"ru": "✅ Разблокировать", "en": "✅ Unblock"},
    "staff.users.ask_block": {
        "ru": "⛔ Заблокировать {name}?\n\n✍️ Напишите причину — пользователь её увидит:",
        "en": "⛔ Block {name}?\n\n✍️ Type the reason (they will see it):",
    },
    "staff.users.ask_unblock": {
        "ru": "✅ Разблокировать {name}?\n\n✍️ Напишите причину (для журнала):",
        "en": "✅ Unblock {name}?\n\n✍️ Type the reason (for the audit log):",
    },
    "staff.users.blocked_done": {
        "ru": "⛔ Пользователь заблокирован.",
        "en": "⛔ The user is blocked.",
    },
    "staff.users.unblocked_done": {
        "ru": "✅ Пользователь разблокирован.",
        "en": "✅ The user is unblocked.",
    },
    "staff.users.role": {"ru": "🎖 Роль", "en": "🎖 Role"},
    "staff.users.manager_complexes": {"ru": "🏢 ФОК менеджера", "en": "🏢 Manager's complexes"},
    "staff.users.role_ask": {
        "ru": "🎖 Какую роль дать {name}? Сейчас: {role}.",
        "en": "🎖 Which role for {name}? Now: {role}.",
    },
    "staff.users.set.super_admin": {"ru": "👑 Супер-администратор", "en": "👑 Super admin"},
    "staff.users.set.admin": {"ru": "🛡 Администратор", "en": "🛡 Admin"},
    "staff.users.set.manager": {"ru": "🏢 Менеджер", "en": "🏢 Manager"},
    "staff.users.set.none": {"ru": "🚫 Снять роль", "en": "🚫 Take the role away"},
    "staff.users.role_done": {"ru": "🎖 Роль сохранена.", "en": "🎖 Role saved."},
    "staff.users.complexes_title": {
        "ru": "🏢 <b>ФОК менеджера {name}</b>\n\nНазначено: {count}. Нажмите на ФОК, чтобы "
        "назначить его или снять (✅ — назначен):",
        "en": "🏢 <b>Complexes of manager {name}</b>\n\nAssigned: {count}. Press a complex to assign "
        "or unassign it (✅: assigned):",
    },
    "staff.users.complex_item": {"ru": "{mark} {name}", "en": "{mark} {name}"},
    "staff.users.to_card": {"ru": "🔙 К пользователю", "en": "🔙 The user"},
    "staff.users.audit": {"ru": "📜 Журнал по пользователю", "en": "📜 Audit of them"},
    # --- staff: the audit log -------------------------------------------------------------
    "staff.audit.title": {
        "ru": "📜 <b>Журнал действий</b>{filters}\nЗаписей: {total}, сначала новые.\n\n{lines}",
        "en": "📜 <b>Audit log</b>{filters}\nEntries: {total}, newest first.\n\n{lines}",
    },
    "staff.audit.filter_staff": {"ru": "\n👤 Сотрудник: {name}", "en": "\n👤 Staff member: {name}"},
    "staff.audit.filter_kind": {"ru": "\n🗂 Объекты: {kind}", "en": "\n🗂 Objects: {kind}"},
    "staff.audit.filter_object": {"ru": "\n🗂 Объект: {kind} {id}", "en": "\n🗂 Object: {kind} {id}"},
    "staff.audit.empty": {"ru": "Записей нет.", "en": "No entries."},
    "staff.audit.line": {
        "ru": "<b>{at}</b> · {actor}\n{action} · {kind} {object}{changes}",
        "en": "<b>{at}</b> · {actor}\n{action} · {kind} {object}{changes}",
    },
    "staff.audit.change": {
        "ru": "\n   {field}: {before} → {after}",
        "en": "\n   {field}: {before} → {after}",
    },
    "staff.audit.note": {"ru": "\n   💬 {text}", "en": "\n   💬 {text}"},
    "staff.audit.operator": {"ru": "оператор (admin_tools)", "en": "operator (admin_tools)"},
    "staff.audit.by_staff": {"ru": "👤 По сотруднику", "en": "👤 By staff member"},
    "staff.audit.by_object": {"ru": "🗂 По объекту", "en": "🗂 By object"},
    "staff.audit.reset": {"ru": "✖️ Сбросить фильтр", "en": "✖️ Clear the filter"},
    "staff.audit.pick_staff": {
        "ru": "👤 Чьи действия показать?",
        "en": "👤 Whose actions should be shown?",
    },
    "staff.audit.pick_object": {
        "ru": "🗂 Действия над какими объектами показать?",
        "en": "🗂 Actions on which objects should be shown?",
    },
    "staff.audit.to_log": {"ru": "🔙 К журналу", "en": "🔙 Audit log"},
    "staff.audit.kind.application": {"ru": "заявка", "en": "application"},
    "staff.audit.kind.user": {"ru": "пользователь", "en": "user"},
    "staff.audit.kind.catalog": {"ru": "каталог", "en": "catalog"},
    "staff.audit.kind.schedule": {"ru": "расписание", "en": "schedule"},
    "staff.audit.kind.session": {"ru": "занятие", "en": "session"},
    "staff.audit.kind.template": {"ru": "шаблон", "en": "template"},
    "staff.audit.kind.booking": {"ru": "запись", "en": "booking"},
    "staff.audit.kinds.application": {"ru": "📋 Заявки", "en": "📋 Applications"},
    "staff.audit.kinds.user": {"ru": "👥 Пользователи", "en": "👥 Users"},
    "staff.audit.kinds.catalog": {"ru": "🏢 Каталог", "en": "🏢 Catalog"},
    "staff.audit.kinds.schedule": {"ru": "📅 Расписание", "en": "📅 Schedule"},
    "staff.audit.kinds.session": {"ru": "🗓 Занятия", "en": "🗓 Sessions"},
    "staff.audit.kinds.template": {"ru": "🔁 Шаблоны", "en": "🔁 Templates"},
    "staff.audit.kinds.booking": {"ru": "🎫 Записи", "en": "🎫 Bookings"},
    "staff.audit.action.application.accepted": {"ru": "✅ заявка принята", "en": "✅ accepted"},
    "staff.audit.action.application.transferred": {
        "ru": "📤 заявка передана",
        "en": "📤 passed on",
    },
    "staff.audit.action.application.completed": {"ru": "🎉 заявка выполнена", "en": "🎉 completed"},
    "staff.audit.action.application.rejected": {"ru": "🚫 заявка отклонена", "en": "🚫 rejected"},
    "staff.audit.action.user.block": {"ru": "⛔ блокировка", "en": "⛔ blocked"},
    "staff.audit.action.user.unblock": {"ru": "✅ разблокировка", "en": "✅ unblocked"},
    "staff.audit.action.user.role": {"ru": "🎖 роль", "en": "🎖 role"},
    "staff.audit.action.catalog.import": {"ru": "📥 импорт каталога", "en": "📥 catalog import"},
    "staff.audit.action.sessions.generate": {
        "ru": "📅 создание занятий",
        "en": "📅 sessions generated",
    },
    "staff.audit.field.status": {"ru": "статус", "en": "status"},
    "staff.audit.field.blocked": {"ru": "заблокирован", "en": "blocked"},
    "staff.audit.field.role": {"ru": "роль", "en": "role"},
    "staff.audit.field.complexes": {"ru": "ФОК", "en": "complexes"},
    "staff.audit.yes": {"ru": "да", "en": "yes"},
    "staff.audit.no": {"ru": "нет", "en": "no"},
    # --- staff: statistics ----------------------------------------------------------------
    "staff.hub.stats": {"ru": "📊 Статистика", "en": "📊 Statistics"},
    "staff.stats.title": {
        "ru": "📊 <b>Статистика</b>\n📅 {first} – {last} ({days} дн.)\n🏢 {scope}\n\n"
        "👥 Пользователи: новых {new_users}, активных {active_users}\n"
        "📋 Заявки: {applications}{statuses}\n\n"
        "🗓 Занятия: {sessions}{cancelled_sessions}\n"
        "🎫 Записи: {booked} из {seats} мест, заполняемость {occupancy}\n"
        "⏳ В листе ожидания: {waitlisted}, записей отменено: {cancelled_bookings}\n"
        "{attendance}{popular}\n\n🕒 Даты — по местному времени ФОК ({zones}).",
        "en": "📊 <b>Statistics</b>\n📅 {first} – {last} ({days} days)\n🏢 {scope}\n\n"
        "👥 Users: {new_users} new, {active_users} active\n"
        "📋 Applications: {applications}{statuses}\n\n"
        "🗓 Sessions: {sessions}{cancelled_sessions}\n"
        "🎫 Bookings: {booked} of {seats} seats, occupancy {occupancy}\n"
        "⏳ Waiting lists: {waitlisted}, bookings cancelled: {cancelled_bookings}\n"
        "{attendance}{popular}\n\n🕒 Dates in each complex's local time ({zones}).",
    },
    "staff.stats.all": {"ru": "все ФОК", "en": "every complex"},
    "staff.stats.mine": {"ru": "мои ФОК: {names}", "en": "my complexes: {names}"},
    "staff.stats.none_assigned": {
        "ru": "ФОК не назначены — обратитесь к супер-администратору",
        "en": "no complexes assigned: ask a super admin",
    },
    "staff.stats.status_line": {
        "ru": "\n   {emoji} {status}: {count}",
        "en": "\n   {emoji} {status}: {count}",
    },
    "staff.stats.cancelled_sessions": {
        "ru": " (отменено ещё {count})",
        "en": " ({count} more cancelled)",
    },
    "staff.stats.no_data": {"ru": "—", "en": "—"},
    "staff.stats.attendance": {
        "ru": "✅ Посещаемость: пришли {attended}, не пришли {no_shows}, доля неявок {rate}"
        "{unmarked}",
        "en": "✅ Attendance: {attended} came, {no_shows} did not, no-show rate {rate}{unmarked}",
    },
    "staff.stats.no_marks": {
        "ru": "✅ Посещаемость: отметок пока нет{unmarked}",
        "en": "✅ Attendance: nothing marked yet{unmarked}",
    },
    "staff.stats.unmarked": {"ru": " (не отмечено: {count})", "en": " ({count} not marked)"},
    "staff.stats.popular_complexes": {
        "ru": "\n\n🔥 <b>Популярные ФОК:</b>{lines}",
        "en": "\n\n🔥 <b>Most popular complexes:</b>{lines}",
    },
    "staff.stats.popular_sports": {
        "ru": "\n\n🏅 <b>Популярные виды спорта:</b>{lines}",
        "en": "\n\n🏅 <b>Most popular sports:</b>{lines}",
    },
    "staff.stats.popular_line": {
        "ru": "\n• {name} — заявок {applications}, записей {booked}",
        "en": "\n• {name}: {applications} applications, {booked} bookings",
    },
    "staff.stats.period.t": {"ru": "Сегодня", "en": "Today"},
    "staff.stats.period.w": {"ru": "7 дней", "en": "7 days"},
    "staff.stats.period.m": {"ru": "30 дней", "en": "30 days"},
    "staff.stats.period.q": {"ru": "90 дней", "en": "90 days"},
    "staff.stats.period.cm": {"ru": "Этот месяц", "en": "This month"},
    "staff.stats.period.pm": {"ru": "Прошлый месяц", "en": "Last month"},
    "staff.stats.chosen": {"ru": "• {label} •", "en": "• {label} •"},
    "staff.stats.scope_button": {"ru": "🏢 ФОК: {scope}", "en": "🏢 Complexes: {scope}"},
    "staff.stats.scope_all_short": {"ru": "все", "en": "all"},
    "staff.stats.scope_mine_short": {"ru": "мои", "en": "mine"},
    "staff.stats.chart": {"ru": "📈 График", "en": "📈 Chart"},
    "staff.stats.export": {"ru": "📥 Выгрузка в Excel", "en": "📥 Excel export"},
    "staff.stats.pick_scope": {
        "ru": "🏢 По каким ФОК показать статистику?",
        "en": "🏢 Statistics for which complexes?",
    },
    "staff.stats.every_complex": {"ru": "🏢 Все ФОК", "en": "🏢 Every complex"},
    "staff.stats.all_mine": {"ru": "🏢 Все мои ФОК", "en": "🏢 All my complexes"},
    "staff.stats.to_stats": {"ru": "🔙 К статистике", "en": "🔙 Statistics"},
    "staff.stats.chart_caption": {
        "ru": "📈 Статистика: {first} – {last}, {scope}",
        "en": "📈 Statistics: {first} – {last}, {scope}",
    },
    # Words drawn into the chart image (no emoji: the chart's font has none).
    "staff.stats.chart.title": {
        "ru": "Статистика {first} – {last} · {scope}",
        "en": "Statistics {first} – {last} · {scope}",
    },
    "staff.stats.chart.by_complex": {
        "ru": "Заявки и записи по ФОК",
        "en": "Applications and bookings by complex",
    },
    "staff.stats.chart.applications": {"ru": "Заявки", "en": "Applications"},
    "staff.stats.chart.bookings": {"ru": "Записи", "en": "Bookings"},
    "staff.stats.chart.by_status": {"ru": "Заявки по статусам", "en": "Applications by status"},
    "staff.stats.chart.count": {"ru": "Заявок", "en": "Applications"},
    "staff.stats.chart.occupancy": {"ru": "Заполняемость занятий, %", "en": "Session occupancy, %"},
    "staff.stats.chart.empty": {"ru": "Нет данных за период", "en": "No data for the period"},
    # --- staff: Excel exports -------------------------------------------------------------
    "staff.export.menu": {
        "ru": "📥 <b>Выгрузка в Excel</b>\n📅 {first} – {last}\n🏢 {scope}\n\nЧто выгрузить?",
        "en": "📥 <b>Excel export</b>\n📅 {first} – {last}\n🏢 {scope}\n\nWhat should be exported?",
    },
    "staff.export.kind.applications": {
        "ru": "📋 Заявки и история",
        "en": "📋 Applications and history",
    },
    "staff.export.kind.bookings": {
        "ru": "🎫 Записи и посещаемость",
        "en": "🎫 Bookings and attendance",
    },
    "staff.export.title.applications": {"ru": "Заявки", "en": "Applications"},
    "staff.export.title.bookings": {"ru": "Записи и посещаемость", "en": "Bookings and attendance"},
    "staff.export.ready": {
        "ru": "✅ Выгрузка «{title}» готова: {rows} строк. Файл — в следующем сообщении.",
        "en": "✅ The “{title}” export is ready: {rows} rows. The file follows.",
    },
    "staff.export.queued": {
        "ru": "⏳ Выгрузка «{title}» большая ({rows} строк): собираю её в фоне и пришлю сюда "
        "файлом, как будет готова.",
        "en": "⏳ The “{title}” export is large ({rows} rows): it is being built in the "
        "background and will be sent here as a file.",
    },
    "staff.export.progress": {
        "ru": "⏳ Собираю выгрузку «{title}»: {done} из {total} строк…",
        "en": "⏳ Building the “{title}” export: {done} of {total} rows…",
    },
    "staff.export.done": {
        "ru": "✅ Выгрузка «{title}» готова: {rows} строк.",
        "en": "✅ The “{title}” export is ready: {rows} rows.",
    },
    "staff.export.failed": {
        "ru": "❌ Не удалось собрать выгрузку «{title}». Попробуйте ещё раз позже.",
        "en": "❌ The “{title}” export could not be built. Please try again later.",
    },
    "staff.export.empty": {
        "ru": "📭 За {first} – {last} выгружать нечего: строк нет.",
        "en": "📭 Nothing to export for {first} – {last}: no rows.",
    },
    "staff.export.too_large": {
        "ru": "❌ В выгрузке {rows} строк — больше {limit}. Выберите период короче или один ФОК.",
        "en": "❌ The export has {rows} rows, over {limit}. Choose a shorter period or one complex.",
    },
    "staff.export.unavailable": {
        "ru": "❌ Сейчас не получается поставить выгрузку в очередь — попробуйте через минуту.",
        "en": "❌ The export cannot be queued right now: please try again in a minute.",
    },
    "staff.export.caption": {
        "ru": "📊 {title}\n📅 {first} – {last}\n🏢 {scope}",
        "en": "📊 {title}\n📅 {first} – {last}\n🏢 {scope}",
    },
    "staff.export.again": {"ru": "📥 Другая выгрузка", "en": "📥 Another export"},
    # Sheets and columns of the workbooks (the original's «Заявки» columns first, in its order).
    "staff.export.sheet.applications": {"ru": "Заявки", "en": "Applications"},
    "staff.export.sheet.history": {"ru": "История", "en": "History"},
    "staff.export.sheet.bookings": {"ru": "Записи", "en": "Bookings"},
    "staff.export.sheet.attendance": {"ru": "Посещаемость", "en": "Attendance"},
    "staff.export.col.application": {"ru": "ID заявки", "en": "Application ID"},
    "staff.export.col.submitted": {"ru": "Дата подачи", "en": "Submitted"},
    "staff.export.col.applicant": {"ru": "Имя заявителя", "en": "Applicant"},
    "staff.export.col.phone": {"ru": "Телефон", "en": "Phone"},
    "staff.export.col.complex": {"ru": "ФОК", "en": "Complex"},
    "staff.export.col.district": {"ru": "Район", "en": "District"},
    "staff.export.col.address": {"ru": "Адрес", "en": "Address"},
    "staff.export.col.status": {"ru": "Статус", "en": "Status"},
    "staff.export.col.updated": {"ru": "Дата обновления", "en": "Updated"},
    "staff.export.col.notes": {"ru": "Примечания", "en": "Notes"},
    "staff.export.col.sport": {"ru": "Вид спорта", "en": "Sport"},
    "staff.export.col.at": {"ru": "Когда", "en": "When"},
    "staff.export.col.who": {"ru": "Кто", "en": "Who"},
    "staff.export.col.from": {"ru": "Было", "en": "From"},
    "staff.export.col.to": {"ru": "Стало", "en": "To"},
    "staff.export.col.comment": {"ru": "Комментарий", "en": "Comment"},
    "staff.export.col.session": {"ru": "Занятие", "en": "Session"},
    "staff.export.col.starts": {"ru": "Начало", "en": "Starts"},
    "staff.export.col.person": {"ru": "Участник", "en": "Participant"},
    "staff.export.col.telegram_id": {"ru": "Telegram ID", "en": "Telegram ID"},
    "staff.export.col.booking_status": {"ru": "Статус записи", "en": "Booking status"},
    "staff.export.col.attendance": {"ru": "Посещение", "en": "Attendance"},
    "staff.export.col.marked_at": {"ru": "Отмечено", "en": "Marked at"},
    "staff.export.col.booked_at": {"ru": "Записан(а)", "en": "Booked at"},
    "staff.export.col.seats": {"ru": "Мест", "en": "Seats"},
    "staff.export.col.booked": {"ru": "Записано", "en": "Booked"},
    "staff.export.col.attended": {"ru": "Пришли", "en": "Came"},
    "staff.export.col.no_shows": {"ru": "Неявки", "en": "No-shows"},
    "staff.export.col.unmarked": {"ru": "Не отмечено", "en": "Not marked"},
    "staff.export.col.waitlisted": {"ru": "В листе ожидания", "en": "Waiting"},
    "staff.export.col.cancelled": {"ru": "Отменено", "en": "Cancelled"},
    "staff.export.who.applicant": {"ru": "заявитель", "en": "applicant"},
    "staff.export.who.staff": {"ru": "сотрудник {id}", "en": "staff member {id}"},
    "staff.export.booking.reserving": {"ru": "оформляется", "en": "being made"},
    "staff.export.booking.active": {"ru": "записан", "en": "booked"},
    "staff.export.booking.waitlisted": {"ru": "в листе ожидания", "en": "waiting"},
    "staff.export.booking.offered": {"ru": "предложено место", "en": "seat offered"},
    "staff.export.booking.cancelled": {"ru": "отменена", "en": "cancelled"},
    "staff.export.booking.declined": {"ru": "отказ от места", "en": "offer declined"},
    "staff.export.booking.expired": {"ru": "предложение истекло", "en": "offer expired"},
    "staff.export.attendance.attended": {"ru": "пришёл", "en": "came"},
    "staff.export.attendance.no_show": {"ru": "не пришёл", "en": "did not come"},
    "staff.export.yes": {"ru": "да", "en": "yes"},
    "staff.export.no": {"ru": "нет", "en": "no"},
    "staff.audit.kind.report": {"ru": "отчёт", "en": "report"},
    "staff.audit.kinds.report": {"ru": "📊 Отчёты", "en": "📊 Reports"},
    "staff.audit.action.stats.view": {"ru": "📊 просмотр статистики", "en": "📊 statistics viewed"},
    "staff.audit.action.export.applications": {
        "ru": "📥 выгрузка заявок",
        "en": "📥 applications exported",
    },
    "staff.audit.action.export.bookings": {
        "ru": "📥 выгрузка записей",
        "en": "📥 bookings exported",
    },
    "staff.audit.operator_named": {
        "ru": "оператор {login} (admin_tools)",
        "en": "operator {login} (admin_tools)",
    },
    # --- staff: broadcasts (bot/telegram/staff/broadcasts.py, bot/telegram/broadcast_sender.py) ---
    "staff.broadcast.hub_entry": {"ru": "📣 Рассылка", "en": "📣 Broadcasts"},
    "staff.broadcast.home": {
        "ru": "📣 <b>Рассылка</b>\n\nКому написать? Сообщение получат только зарегистрированные "
        "жители, которые не отключили рассылки в профиле и не заблокировали бота.",
        "en": "📣 <b>Broadcasts</b>\n\nWhom to write to? Only registered residents who have not "
        "turned broadcasts off in their profile and have not blocked the bot get the message.",
    },
    "staff.broadcast.to_everyone": {"ru": "👥 Всем жителям", "en": "👥 Every resident"},
    "staff.broadcast.to_complex": {"ru": "🏢 Жителям ФОК", "en": "🏢 A complex"},
    "staff.broadcast.to_sport": {"ru": "🏅 По виду спорта", "en": "🏅 A sport"},
    "staff.broadcast.to_session": {"ru": "📅 Участникам занятия", "en": "📅 A session"},
    "staff.broadcast.sent_list": {"ru": "📜 Отправленные", "en": "📜 Sent"},
    "staff.broadcast.back": {"ru": "🔙 К рассылкам", "en": "🔙 Broadcasts"},
    "staff.broadcast.pick_complex": {
        "ru": "🏢 Выберите ФОК. Сообщение получат подавшие туда заявку и записанные на его "
        "занятия (за последние {days} дней и вперёд).",
        "en": "🏢 Choose a complex. Its applicants and the people booked on its sessions (in the "
        "last {days} days and ahead) get the message.",
    },
    "staff.broadcast.pick_session_complex": {
        "ru": "📅 Выберите ФОК, затем занятие.",
        "en": "📅 Choose the complex, then the session.",
    },
    "staff.broadcast.pick_sport": {
        "ru": "🏅 Выберите вид спорта. Сообщение получат подавшие заявку и записанные на занятия "
        "по нему{scope} (за последние {days} дней и вперёд).",
        "en": "🏅 Choose a sport. Its applicants and the people booked on its sessions{scope} (in "
        "the last {days} days and ahead) get the message.",
    },
    "staff.broadcast.in_your_complexes": {"ru": " в ваших ФОК", "en": " at your complexes"},
    "staff.broadcast.pick_session": {
        "ru": "📅 <b>{complex}</b>: занятия на {days} дней вперёд. Сообщение получат "
        "записанные и ждущие в листе ожидания.",
        "en": "📅 <b>{complex}</b>: sessions in the next {days} days. The people booked and "
        "those on the waiting list get the message.",
    },
    "staff.broadcast.no_sessions": {
        "ru": "📅 <b>{complex}</b>: в ближайшие {days} дней занятий нет.",
        "en": "📅 <b>{complex}</b>: no sessions in the next {days} days.",
    },
    "staff.broadcast.nothing_in_scope": {
        "ru": "У вас пока нет ФОК, жителям которых можно написать.",
        "en": "You have no complexes whose residents you could write to yet.",
    },
    "staff.broadcast.session_item": {"ru": "{when} · {title}", "en": "{when} · {title}"},
    "staff.broadcast.audience.all": {"ru": "все жители", "en": "every resident"},
    # The complex's name carries its own «ФОК «…»» (or "… Sports Complex").
    "staff.broadcast.audience.complex": {"ru": "жители {name}", "en": "residents of {name}"},
    "staff.broadcast.audience.sport": {"ru": "занимающиеся: {sport}", "en": "sport: {sport}"},
    "staff.broadcast.audience.sport_scoped": {
        "ru": "занимающиеся: {sport} (в ваших ФОК)",
        "en": "sport: {sport} (at your complexes)",
    },
    "staff.broadcast.audience.session": {
        "ru": "участники занятия «{title}», {when}, ФОК «{complex}»",
        "en": "people of the session “{title}”, {when}, “{complex}”",
    },
    "staff.broadcast.audience.session_gone": {
        "ru": "участники занятия, которого больше нет",
        "en": "people of a session that no longer exists",
    },
    "staff.broadcast.ask_text": {
        "ru": "✍️ <b>Новая рассылка</b>\nКому: {audience}\nПолучателей сейчас: {count}\n\n"
        "Пришлите текст одним сообщением (до {limit} символов). Оформление — средствами "
        "Telegram: жирный, курсив, ссылки, цитаты; HTML-теги будут показаны как обычный текст.\n\n"
        "Перед отправкой вы увидите, как сообщение будет выглядеть.",
        "en": "✍️ <b>New broadcast</b>\nTo: {audience}\nRecipients now: {count}\n\n"
        "Send the text as one message (up to {limit} characters). Format it with Telegram: bold, "
        "italic, links, quotes; HTML tags are shown as plain text.\n\n"
        "You will see how the message looks before it is sent.",
    },
    "staff.broadcast.nobody": {
        "ru": "🤷 Кому: {audience}\n\nСейчас некому написать: никто из этой аудитории не "
        "зарегистрирован, не разрешил рассылки или все заблокировали бота.",
        "en": "🤷 To: {audience}\n\nThere is nobody to write to now: nobody in this audience is "
        "registered, allows broadcasts and has the bot unblocked.",
    },
    "staff.broadcast.cancel_input": {"ru": "❌ Отмена", "en": "❌ Cancel"},
    "staff.broadcast.text_empty": {
        "ru": "❌ Пришлите текст сообщения — пустое отправить нельзя.",
        "en": "❌ Send the text of the message: an empty one cannot be sent.",
    },
    "staff.broadcast.text_too_long": {
        "ru": "❌ Слишком длинно: до {limit} символов. Сократите текст и пришлите снова.",
        "en": "❌ Too long: up to {limit} characters. Shorten it and send it again.",
    },
    "staff.broadcast.text_command": {
        "ru": "❌ Текст рассылки не может начинаться с «/» — так начинаются команды бота.",
        "en": "❌ A broadcast cannot start with “/”: that is how bot commands start.",
    },
    "staff.broadcast.preview": {
        "ru": "👁 <b>Предпросмотр</b>\nКому: {audience}\nПолучателей: {count}\n"
        "━━━━━━━━━━\n{text}\n━━━━━━━━━━\nОтправить это сообщение?",
        "en": "👁 <b>Preview</b>\nTo: {audience}\nRecipients: {count}\n"
        "━━━━━━━━━━\n{text}\n━━━━━━━━━━\nSend this message?",
    },
    "staff.broadcast.send": {"ru": "✅ Отправить", "en": "✅ Send"},
    "staff.broadcast.edit": {"ru": "✏️ Изменить текст", "en": "✏️ Change the text"},
    "staff.broadcast.discard": {"ru": "🗑 Удалить черновик", "en": "🗑 Delete the draft"},
    "staff.broadcast.discarded": {
        "ru": "🗑 Черновик удалён, ничего не отправлено.",
        "en": "🗑 The draft is deleted; nothing was sent.",
    },
    "staff.broadcast.state.queued": {
        "ru": "⏳ <b>Рассылка в очереди</b>",
        "en": "⏳ <b>Broadcast queued</b>",
    },
    "staff.broadcast.state.running": {
        "ru": "📤 <b>Идёт рассылка</b>: {settled} из {total}",
        "en": "📤 <b>Sending</b>: {settled} of {total}",
    },
    "staff.broadcast.state.done": {
        "ru": "✅ <b>Рассылка завершена</b>",
        "en": "✅ <b>Broadcast finished</b>",
    },
    "staff.broadcast.state.cancelled": {
        "ru": "⛔ <b>Рассылка остановлена</b>",
        "en": "⛔ <b>Broadcast stopped</b>",
    },
    "staff.broadcast.state.draft": {"ru": "📝 <b>Черновик</b>", "en": "📝 <b>Draft</b>"},
    "staff.broadcast.progress": {
        "ru": "{state}\nКому: {audience}\n«{excerpt}»\n\n{lines}",
        "en": "{state}\nTo: {audience}\n“{excerpt}”\n\n{lines}",
    },
    "staff.broadcast.line.author": {"ru": "✍️ Автор: {name}", "en": "✍️ Author: {name}"},
    "staff.broadcast.line.when": {"ru": "🕘 {when}", "en": "🕘 {when}"},
    "staff.broadcast.line.estimated": {
        "ru": "👥 Получателей: около {n}",
        "en": "👥 Recipients: about {n}",
    },
    "staff.broadcast.line.recipients": {"ru": "👥 Получателей: {n}", "en": "👥 Recipients: {n}"},
    "staff.broadcast.line.delivered": {"ru": "✅ Доставлено: {n}", "en": "✅ Delivered: {n}"},
    "staff.broadcast.line.blocked": {
        "ru": "🚫 Заблокировали бота: {n}",
        "en": "🚫 Blocked the bot: {n}",
    },
    "staff.broadcast.line.failed": {"ru": "⚠️ Не доставлено: {n}", "en": "⚠️ Not delivered: {n}"},
    "staff.broadcast.line.skipped": {
        "ru": "🔕 Пропущено (отключили рассылки или недоступны): {n}",
        "en": "🔕 Skipped (turned broadcasts off or unreachable): {n}",
    },
    "staff.broadcast.line.unconfirmed": {
        "ru": "❔ Не подтверждено: {n}. Отправка прервалась, когда сообщение уже уходило, — "
        "оно могло дойти. Само оно не повторяется; дослать можно кнопкой ниже (кто-то может "
        "получить его дважды).",
        "en": "❔ Unconfirmed: {n}. Sending stopped while the message was leaving, so it may have "
        "arrived. It is never repeated on its own; you can send it again below (someone may get "
        "it twice).",
    },
    "staff.broadcast.line.not_sent": {"ru": "⏸ Не отправлено: {n}", "en": "⏸ Not sent: {n}"},
    "staff.broadcast.stop": {"ru": "⛔ Остановить рассылку", "en": "⛔ Stop the broadcast"},
    "staff.broadcast.resend": {
        "ru": "🔁 Дослать неподтверждённым ({n})",
        "en": "🔁 Send to the unconfirmed again ({n})",
    },
    "staff.broadcast.list": {
        "ru": "📜 <b>Рассылки</b> ({total})\nНовые сверху.",
        "en": "📜 <b>Broadcasts</b> ({total})\nNewest first.",
    },
    "staff.broadcast.list_empty": {
        "ru": "📜 Рассылок ещё не было.",
        "en": "📜 No broadcasts yet.",
    },
    "staff.broadcast.item": {
        "ru": "{emoji} {when} · {excerpt}",
        "en": "{emoji} {when} · {excerpt}",
    },
    # --- staff: the weekly report (bot/telegram/staff/weekly_report.py, report_sender.py) ---
    "report.hub_entry": {"ru": "📊 Еженедельный отчёт", "en": "📊 Weekly report"},
    "report.screen": {
        "ru": "📊 <b>Еженедельный отчёт</b>\n\n{every} в {at} ({timezone}) бот присылает "
        "Excel-файл за прошлую неделю (пн–вс): сводку по ФОК — новые заявки, занятия, записи, "
        "посещаемость — и все новые заявки.\nФОК: {scope}\n\nСейчас: {state}",
        "en": "📊 <b>Weekly report</b>\n\n{every} at {at} ({timezone}) the bot sends an Excel "
        "file for the past week (Mon–Sun): a summary per complex — new applications, sessions, "
        "bookings, attendance — and every new application.\nComplexes: {scope}\n\nNow: {state}",
    },
    "report.state_on": {"ru": "🔔 присылать", "en": "🔔 sent to you"},
    "report.state_off": {"ru": "🔕 не присылать", "en": "🔕 not sent to you"},
    "report.turn_on": {"ru": "🔔 Присылать", "en": "🔔 Send it to me"},
    "report.turn_off": {"ru": "🔕 Не присылать", "en": "🔕 Stop sending it"},
    "report.now": {"ru": "📥 Прислать за прошлую неделю", "en": "📥 Send last week's now"},
    "report.every.0": {"ru": "Каждый понедельник", "en": "Every Monday"},
    "report.every.1": {"ru": "Каждый вторник", "en": "Every Tuesday"},
    "report.every.2": {"ru": "Каждую среду", "en": "Every Wednesday"},
    "report.every.3": {"ru": "Каждый четверг", "en": "Every Thursday"},
    "report.every.4": {"ru": "Каждую пятницу", "en": "Every Friday"},
    "report.every.5": {"ru": "Каждую субботу", "en": "Every Saturday"},
    "report.every.6": {"ru": "Каждое воскресенье", "en": "Every Sunday"},
    "report.all": {"ru": "все ФОК", "en": "every complex"},
    "report.caption": {
        "ru": "📊 <b>Еженедельный отчёт</b> · {first}–{last}\nФОК: {scope}\n"
        "📋 Новых заявок: {applications}{statuses}\n📅 Занятий: {sessions}, записей: {bookings}\n"
        "✅ Пришли: {attended} · ❌ Не пришли: {no_shows}",
        "en": "📊 <b>Weekly report</b> · {first}–{last}\nComplexes: {scope}\n"
        "📋 New applications: {applications}{statuses}\n📅 Sessions: {sessions}, bookings: "
        "{bookings}\n✅ Came: {attended} · ❌ No-shows: {no_shows}",
    },
    "report.caption_status": {"ru": "{name}: {count}", "en": "{name}: {count}"},
    "report.sheet.summary": {"ru": "Сводка", "en": "Summary"},
    "report.sheet.applications": {"ru": "Заявки", "en": "Applications"},
    "report.total": {"ru": "Итого", "en": "Total"},
    "report.col.complex": {"ru": "ФОК", "en": "Complex"},
    "report.col.district": {"ru": "Район", "en": "District"},
    "report.col.applications": {"ru": "Новых заявок", "en": "New applications"},
    "report.col.sessions": {"ru": "Занятий", "en": "Sessions"},
    "report.col.bookings": {"ru": "Записей", "en": "Bookings"},
    "report.col.attended": {"ru": "Пришли", "en": "Came"},
    "report.col.no_shows": {"ru": "Не пришли", "en": "No-shows"},
    "report.col.application": {"ru": "ID заявки", "en": "Application"},
    "report.col.submitted": {"ru": "Дата подачи", "en": "Submitted"},
    "report.col.applicant": {"ru": "Имя заявителя", "en": "Applicant"},
    "report.col.phone": {"ru": "Телефон", "en": "Phone"},
    "report.col.address": {"ru": "Адрес", "en": "Address"},
    "report.col.status": {"ru": "Статус", "en": "Status"},
    "report.col.updated": {"ru": "Дата обновления", "en": "Updated"},
    "report.col.notes": {"ru": "Примечания", "en": "Notes"},
    "report.col.sport": {"ru": "Вид спорта", "en": "Sport"},
    # --- calendar -----------------------------------------------------------------------
    "weekday.0": {"ru": "пн", "en": "Mon"},
    "weekday.1": {"ru": "вт", "en": "Tue"},
    "weekday.2": {"ru": "ср", "en": "Wed"},
    "weekday.3": {"ru": "чт", "en": "Thu"},
    "weekday.4": {"ru": "пт", "en": "Fri"},
    "weekday.5": {"ru": "сб", "en": "Sat"},
    "weekday.6": {"ru": "вс", "en": "Sun"},
    # --- commands (setMyCommands) -------------------------------------------------------
    "command.start": {"ru": "🏠 Начать работу с ботом", "en": "🏠 Start"},
    "command.menu": {"ru": "📋 Главное меню", "en": "📋 Main menu"},
    "command.help": {"ru": "❓ Помощь", "en": "❓ Help"},
}


def pick_text_language(telegram_language_code: str | None) -> str:
    """The language for someone whose record we have not loaded (Telegram's own setting)."""
    return pick_language(telegram_language_code)


def language_of(language: str | None) -> str:
    return language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def t(language: str, key: str, **values: object) -> str:
    """The template ``key`` in ``language`` with every value escaped (Markup passes through)."""
    template = TEXTS[key][language_of(language)]
    if not values:
        return template
    safe = {
        name: value if isinstance(value, Markup) else html.escape(str(value), quote=False)
        for name, value in values.items()
    }
    return template.format(**safe)


def m(language: str, key: str, **values: object) -> Markup:
    """Like :func:`t`, marked as rendered HTML so it can be nested into another template."""
    return Markup(t(language, key, **values))


def join(parts: Sequence[str], separator: str = "\n") -> Markup:
    """Join already-rendered fragments (each produced by :func:`t` or :func:`m`)."""
    return Markup(separator.join(parts))


def is_button_text(text: str, key: str) -> bool:
    """Whether typed text is the reply-keyboard button ``key`` in any language."""
    typed = text.strip().casefold()
    return any(typed == TEXTS[key][language].casefold() for language in SUPPORTED_LANGUAGES)


def greeting_key(local_hour: int) -> str:
    if 5 <= local_hour < 12:
        return "greeting.morning"
    if 12 <= local_hour < 18:
        return "greeting.day"
    if 18 <= local_hour < 23:
        return "greeting.evening"
    return "greeting.night"


def format_when(moment: datetime, timezone: str, language: str) -> str:
    """``пн, 24.11 07:00`` in the complex's zone (times are stored in UTC)."""
    local = moment.astimezone(ZoneInfo(timezone))
    weekday = t(language, f"weekday.{local.weekday()}")
    return f"{weekday}, {local:%d.%m %H:%M}"


def format_date(day: date, language: str) -> str:
    return f"{t(language, f'weekday.{day.weekday()}')}, {day:%d.%m.%Y}"


def format_time(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(timezone)):%H:%M}"


def clip(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Bound a rendered message to Telegram's limit without cutting inside a tag or entity.

    Only lists grow without bound and they are paginated, so this is a last line of defence: the
    cut falls on a line break outside any tag.
    """
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit - 2)
    head = text[: cut if cut > 0 else limit - 2]
    # A line break between complete lines never splits a tag: every template closes its tags on
    # the line that opens them.
    return head + "\n…"

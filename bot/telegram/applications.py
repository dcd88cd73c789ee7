"""Applications: apply to a complex for a sport (phone on the spot, optional comment), my
applications with status and history, cancelling with confirmation."""

from __future__ import annotations

from telegram import Update

from bot.domain.applications import Application, ApplicationStatus
from bot.domain.catalog import Complex
from bot.domain.errors import StaleAction, ValidationFailed
from bot.domain.paging import PageRequest
from bot.services.applications import ApplicationDraft
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog, keyboards
from bot.telegram.actions import ApplicationAction, CatalogAction
from bot.telegram.callbacks import Callback, OutdatedButton, resolve_sport_ref, sport_ref
from bot.telegram.context import FokContext
from bot.telegram.keyboards import button, inline, menu_row, pager_row
from bot.telegram.naming import complex_name, sport_name
from bot.telegram.phone import save_shared_phone
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, chat_id, error_text, send, show, user_id
from bot.telegram.staff.render import number_of
from bot.telegram.texts import Markup, format_when, join, m, t

PAGE_SIZE = 6
CANCELLABLE = {ApplicationStatus.PENDING: "p", ApplicationStatus.ACCEPTED: "a"}
STATUS_EMOJI = {
    ApplicationStatus.PENDING: "⏳",
    ApplicationStatus.ACCEPTED: "✅",
    ApplicationStatus.TRANSFERRED: "📤",
    ApplicationStatus.COMPLETED: "🎉",
    ApplicationStatus.CANCELLED: "❌",
    ApplicationStatus.REJECTED: "🚫",
}
DEFAULT_TIMEZONE = "Europe/Moscow"


def number(application: Application) -> str:
    """The number staff and the resident both quote (see ``staff.render.number_of``)."""
    return number_of(application)


# --- applying ----------------------------------------------------------------------------


async def choose_sport(update: Update, context: FokContext, data: Callback) -> None:
    draft = await context.services.applications.prepare(context.resident, data.arg(0))
    complex_ = draft.complex_
    language = context.language
    if draft.sport_code is not None:  # the complex offers one sport: nothing to choose
        await _sport_chosen(update, context, draft, draft.sport_code)
        return
    rows = []
    for code in complex_.sports:
        rows.append(
            [
                button(
                    await sport_name(context, code),
                    ApplicationAction.SPORT,
                    complex_.code,
                    sport_ref(code),
                )
            ]
        )
    rows.append([button(t(language, "nav.back"), CatalogAction.CARD, complex_.code)])
    text = t(language, "apply.choose_sport", complex=complex_.name.get(language))
    await show(update, context, Screen(text, inline(rows)))


async def sport_chosen(update: Update, context: FokContext, data: Callback) -> None:
    complex_ = await context.services.catalog.complex(data.arg(0))
    sport = resolve_sport_ref(data.arg(1), list(complex_.sports))
    draft = await context.services.applications.prepare(context.resident, complex_, sport)
    await _sport_chosen(update, context, draft, sport)


async def _sport_chosen(
    update: Update, context: FokContext, draft: ApplicationDraft, sport_code: str
) -> None:
    language = context.language
    complex_code = draft.complex_.code
    target = {"complex": complex_code, "sport": sport_code}
    store = context.services.dialogs
    if draft.needs_phone:
        await dialog.enter(store, chat_id(update), user_id(update), dialog.APPLY_PHONE, target)
        await send(
            update,
            context,
            Screen(
                t(language, "apply.need_phone"), keyboards.phone_request(language, skippable=False)
            ),
        )
        return
    await dialog.enter(store, chat_id(update), user_id(update), dialog.APPLY_COMMENT, target)
    await show(update, context, await _comment_screen(context, complex_code, sport_code))


async def _comment_screen(
    context: FokContext, complex_code: str, sport_code: str, note: str = ""
) -> Screen:
    language = context.language
    text = t(
        language,
        "apply.ask_comment",
        complex=await complex_name(context, complex_code),
        sport=await sport_name(context, sport_code),
    )
    go = button(
        t(language, "apply.no_comment"),
        ApplicationAction.SUBMIT,
        complex_code,
        sport_ref(sport_code),
    )
    return Screen((note + "\n\n" if note else "") + text, inline([[go]]))


async def submit_without_comment(update: Update, context: FokContext, data: Callback) -> None:
    complex_ = await context.services.catalog.complex(data.arg(0))
    sport = resolve_sport_ref(data.arg(1), list(complex_.sports))
    screen = await _submit(update, context, complex_, sport, None)
    await show(update, context, screen)


async def on_comment(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    complex_code = str(state.data.get("complex", ""))
    sport_code = str(state.data.get("sport", ""))
    if not complex_code or not sport_code:
        raise OutdatedButton("the application dialog lost its target")
    try:
        screen = await _submit(update, context, complex_code, sport_code, text)
    except ValidationFailed as error:
        await send(update, context, Screen(error_text(context.language, error)))
        return
    await send(update, context, screen)


async def _submit(
    update: Update,
    context: FokContext,
    complex_: Complex | str,
    sport_code: str,
    comment: str | None,
) -> Screen:
    """Submit for the complex (as read for this update, or by the code the dialog kept)."""
    language = context.language
    result = await context.services.applications.submit(
        context.resident, complex_, sport_code, comment
    )
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    application = result.application
    names = {
        "complex": await complex_name(context, application.complex_code),
        "sport": await sport_name(context, application.sport_code),
    }
    if result.created:
        text = t(language, "apply.submitted", **names)
    else:
        text = t(
            language,
            "apply.already",
            status=t(language, f"status.{application.status.value}"),
            **names,
        )
    rows = [
        [button(t(language, "menu.applications"), ApplicationAction.LIST, 0)],
        menu_row(language),
    ]
    return Screen(text, inline(rows))


async def on_contact(update: Update, context: FokContext, state: DialogState) -> None:
    user = await save_shared_phone(update, context, skippable=False)
    if user is None:
        return
    language = context.language
    complex_code = str(state.data.get("complex", ""))
    sport_code = str(state.data.get("sport", ""))
    await dialog.enter(
        context.services.dialogs,
        chat_id(update),
        user_id(update),
        dialog.APPLY_COMMENT,
        {"complex": complex_code, "sport": sport_code},
    )
    note = t(language, "phone.saved", phone=user.phone or "")
    await send(update, context, await _comment_screen(context, complex_code, sport_code, note))


# --- my applications ---------------------------------------------------------------------


async def my_list(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    request = PageRequest(page=data.int_arg(0, high=1000), size=PAGE_SIZE)
    page = await context.services.applications.mine(user_id(update), request)
    if page.total == 0:
        rows = [[button(t(language, "apps.first"), CatalogAction.DISTRICTS, 0)], menu_row(language)]
        await show(update, context, Screen(t(language, "apps.empty"), inline(rows)))
        return
    if not page.items and page.page > 0:  # a stale "next" past the end: show the last page
        last = PageRequest(page=page.pages - 1, size=PAGE_SIZE)
        page = await context.services.applications.mine(user_id(update), last)
    rows = []
    for application in page.items:
        label = t(
            language,
            "apps.item",
            emoji=STATUS_EMOJI[application.status],
            complex=await complex_name(context, application.complex_code),
            sport=await sport_name(context, application.sport_code),
        )
        rows.append([button(label, ApplicationAction.VIEW, application.id)])
    rows += [pager_row(language, page, ApplicationAction.LIST), menu_row(language)]
    await show(update, context, Screen(t(language, "apps.title", total=page.total), inline(rows)))


async def _card(context: FokContext, application: Application) -> Screen:
    language = context.language
    history = []
    for change in application.history:
        history.append(
            m(
                language,
                "apps.history_line",
                at=format_when(change.at, DEFAULT_TIMEZONE, language),
                status=t(language, f"status.{change.to_status.value}"),
                comment=m(language, "apps.history_comment", text=change.comment)
                if change.comment
                else Markup(""),
            )
        )
    text = t(
        language,
        "apps.card",
        number=number(application),
        complex=await complex_name(context, application.complex_code),
        sport=await sport_name(context, application.sport_code),
        emoji=STATUS_EMOJI[application.status],
        status=t(language, f"status.{application.status.value}"),
        created=format_when(application.created_at, DEFAULT_TIMEZONE, language),
        comment=m(language, "apps.comment", text=application.comment)
        if application.comment
        else Markup(""),
        history=join(history),
    )
    rows = []
    if application.status in CANCELLABLE:
        rows.append([button(t(language, "apps.cancel"), ApplicationAction.CANCEL, application.id)])
    rows += [[button(t(language, "apps.to_list"), ApplicationAction.LIST, 0)], menu_row(language)]
    return Screen(text, inline(rows))


async def view(update: Update, context: FokContext, data: Callback) -> None:
    application = await context.services.applications.get_for_user(user_id(update), data.arg(0))
    await show(update, context, await _card(context, application))


async def ask_cancel(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    application = await context.services.applications.get_for_user(user_id(update), data.arg(0))
    marker = CANCELLABLE.get(application.status)
    if marker is None:
        raise StaleAction(f"status is {application.status}")
    text = t(
        language,
        "apps.confirm_cancel",
        number=number(application),
        complex=await complex_name(context, application.complex_code),
        sport=await sport_name(context, application.sport_code),
    )
    rows = [
        [
            button(
                t(language, "apps.yes_cancel"),
                ApplicationAction.CONFIRM_CANCEL,
                application.id,
                marker,
            ),
            button(t(language, "apps.no_keep"), ApplicationAction.VIEW, application.id),
        ]
    ]
    await show(update, context, Screen(text, inline(rows)))


async def confirm_cancel(update: Update, context: FokContext, data: Callback) -> None:
    """The button carries the status it was drawn for: a changed application is not touched."""
    language = context.language
    application = await context.services.applications.get_for_user(user_id(update), data.arg(0))
    if CANCELLABLE.get(application.status) != data.arg(1):
        raise StaleAction(f"status is {application.status}")
    cancelled = await context.services.applications.cancel(user_id(update), application.id)
    screen = await _card(context, cancelled)
    text = t(language, "apps.cancelled", number=number(cancelled)) + "\n\n" + screen.text
    await show(update, context, Screen(text, screen.markup))


async def on_phone_text(update: Update, context: FokContext, _: str, __: DialogState) -> None:
    """Typed text where the contact button is expected: ask for the contact again."""
    language = context.language
    await send(
        update,
        context,
        Screen(t(language, "apply.need_phone"), keyboards.phone_request(language, skippable=False)),
    )


ROUTES = Routes(
    ApplicationAction,
    {
        ApplicationAction.NEW: choose_sport,
        ApplicationAction.SPORT: sport_chosen,
        ApplicationAction.SUBMIT: submit_without_comment,
        ApplicationAction.LIST: my_list,
        ApplicationAction.VIEW: view,
        ApplicationAction.CANCEL: ask_cancel,
        ApplicationAction.CONFIRM_CANCEL: confirm_cancel,
    },
    steps=(
        Step(dialog.APPLY_PHONE, text=on_phone_text, contact=on_contact, cancellable=True),
        Step(dialog.APPLY_COMMENT, text=on_comment),
    ),
)

"""The staff panel: «👑 Панель администратора», opened by /admin or «🛠 Управление».

The panel is :data:`ENTRIES`: one line per section, in order, each naming its button text, the
declared action it opens and the roles it is shown to. A new staff screen adds its line here.
Showing an entry is only a convenience; the screen behind it is authorised by its service.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from bot.domain.reports import PeriodKind
from bot.domain.users import Role, User
from bot.telegram import dialog
from bot.telegram.actions import (
    StaffAction,
    StaffApplicationAction,
    StaffAuditAction,
    StaffBroadcastAction,
    StaffCatalogAction,
    StaffReportAction,
    StaffSessionAction,
    StaffStatsAction,
    StaffUserAction,
)
from bot.telegram.callbacks import Action, Callback
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, inline, menu_row
from bot.telegram.naming import complex_name
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, chat_id, guarded, show, user_id
from bot.telegram.texts import m, t

EVERY_ROLE = frozenset(Role)
ADMINS = frozenset({Role.SUPER_ADMIN, Role.ADMIN})
SUPER_ADMINS = frozenset({Role.SUPER_ADMIN})


@dataclass(frozen=True)
class HubEntry:
    """One button of the panel: its text (a ``texts`` key), what it opens, who sees it."""

    text: str
    action: Action
    args: tuple[str | int, ...] = ()
    roles: frozenset[Role] = EVERY_ROLE

    def shown_to(self, staff: User) -> bool:
        return staff.role in self.roles


# The panel, top to bottom, two to a row.
ENTRIES: list[HubEntry] = [
    HubEntry("staff.hub.applications", StaffApplicationAction.MENU),
    HubEntry("staff.sessions.hub_entry", StaffSessionAction.COMPLEXES, (0,)),
    HubEntry("staff.catalog.hub_entry", StaffCatalogAction.HOME),
    HubEntry("staff.hub.users", StaffUserAction.SEARCH, roles=ADMINS),
    HubEntry("staff.hub.stats", StaffStatsAction.VIEW, (PeriodKind.MONTH.value, "-")),
    HubEntry("staff.broadcast.hub_entry", StaffBroadcastAction.HOME),
    HubEntry("report.hub_entry", StaffReportAction.VIEW),
    HubEntry("staff.hub.audit", StaffAuditAction.LOG, ("-", "-", "-", 0), roles=SUPER_ADMINS),
]


def hub_button(language: str) -> Row:
    """«🔙 В панель»: the way back from every staff screen."""
    return [button(t(language, "staff.hub.to_hub"), StaffAction.HUB)]


def entries_for(staff: User) -> list[HubEntry]:
    return [entry for entry in ENTRIES if entry.shown_to(staff)]


async def hub_screen(context: FokContext, staff: User) -> Screen:
    language = context.language
    if staff.manages_all_complexes:
        scope = m(language, "staff.hub.all_complexes")
    elif staff.managed_complexes:
        names = [await complex_name(context, code) for code in sorted(staff.managed_complexes)]
        scope = m(language, "staff.hub.scope", complexes=", ".join(names))
    else:
        scope = m(language, "staff.hub.no_scope")
    text = t(
        language,
        "staff.hub.title",
        name=staff.name or str(staff.telegram_id),
        role=t(language, f"staff.role.{staff.role.value if staff.role else 'manager'}"),
        scope=scope,
    )
    buttons = [button(t(language, e.text), e.action, *e.args) for e in entries_for(staff)]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return Screen(text, inline([*rows, menu_row(language)]))


async def _open(update: Update, context: FokContext) -> None:
    staff = await context.services.users.staff_member(context.resident)
    # Opening the panel abandons any half-typed input (a comment, a search).
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    await show(update, context, await hub_screen(context, staff))


admin_command = guarded(_open)


async def hub(update: Update, context: FokContext, _: Callback) -> None:
    await _open(update, context)


ROUTES = Routes(StaffAction, {StaffAction.HUB: hub})

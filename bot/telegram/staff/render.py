"""What staff screens and staff notices draw alike: numbers, status markers, the decision buttons.

Imported by ``bot.telegram.notifications`` (the workers' notices), so it imports no handler module.
"""

from __future__ import annotations

from bot.domain.applications import ActorKind, Application, ApplicationStatus, next_statuses
from bot.telegram.actions import StaffApplicationAction
from bot.telegram.callbacks import OutdatedButton
from bot.telegram.keyboards import Row, button
from bot.telegram.texts import TEXTS, language_of, t

S = ApplicationStatus
LABEL_MAX_LENGTH = 60

STATUS_EMOJI = {
    S.PENDING: "⏳",
    S.ACCEPTED: "✅",
    S.TRANSFERRED: "📤",
    S.COMPLETED: "🎉",
    S.CANCELLED: "❌",
    S.REJECTED: "🚫",
}
# The status a list or a decision button names, in callback data (never change one).
STATUS_MARKERS = {
    S.PENDING: "p",
    S.ACCEPTED: "a",
    S.TRANSFERRED: "t",
    S.COMPLETED: "c",
    S.CANCELLED: "x",
    S.REJECTED: "r",
}
ALL_STATUSES = "all"
# Lists in the order staff work through them; rejected and cancelled ones included.
LIST_ORDER = (S.PENDING, S.ACCEPTED, S.TRANSFERRED, S.COMPLETED, S.REJECTED, S.CANCELLED)


def status_of(marker: str) -> ApplicationStatus:
    for status, known in STATUS_MARKERS.items():
        if known == marker:
            return status
    raise OutdatedButton(f"unknown status marker {marker!r}")


def label(language: str, key: str, **values: object) -> str:
    """A button's text: a template filled in as is (buttons are not HTML), kept short."""
    text = TEXTS[key][language_of(language)].format(**values)
    return text if len(text) <= LABEL_MAX_LENGTH else text[: LABEL_MAX_LENGTH - 1] + "…"


def number_of(application: Application) -> str:
    """«123»: the sequential number; an application from before numbers: its id's tail."""
    if application.number is not None:
        return str(application.number)
    return application.id[-6:].upper()


def status_text(language: str, status: ApplicationStatus) -> str:
    return f"{STATUS_EMOJI[status]} {t(language, f'status.{status.value}')}"


def decision_row(language: str, application: Application) -> Row:
    """«✅ Принять / 📤 Передать / 🎉 Выполнено / 🚫 Отклонить», those the status allows, each
    carrying the version it was drawn at (a stale one is refused when pressed)."""
    return [
        button(
            t(language, f"staff.apps.do.{target.value}"),
            StaffApplicationAction.ASK,
            application.id,
            STATUS_MARKERS[target],
            application.version,
        )
        for target in next_statuses(application.status, ActorKind.STAFF)
    ]

"""Applications (заявки) to join a section, and the status machine staff and users move them through."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from bot.domain.errors import InvalidTransition, ValidationFailed

COMMENT_MAX_LENGTH = 500


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    TRANSFERRED = "transferred"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class ActorKind(StrEnum):
    APPLICANT = "applicant"
    STAFF = "staff"


S = ApplicationStatus

# Who may move an application from one status to another. Anything absent is illegal.
TRANSITIONS: dict[tuple[ApplicationStatus, ApplicationStatus], ActorKind] = {
    (S.PENDING, S.ACCEPTED): ActorKind.STAFF,
    (S.PENDING, S.REJECTED): ActorKind.STAFF,
    (S.ACCEPTED, S.TRANSFERRED): ActorKind.STAFF,
    (S.ACCEPTED, S.REJECTED): ActorKind.STAFF,
    (S.TRANSFERRED, S.COMPLETED): ActorKind.STAFF,
    (S.PENDING, S.CANCELLED): ActorKind.APPLICANT,
    (S.ACCEPTED, S.CANCELLED): ActorKind.APPLICANT,
}

ACTIVE_STATUSES = frozenset({S.PENDING, S.ACCEPTED, S.TRANSFERRED})
TERMINAL_STATUSES = frozenset({S.COMPLETED, S.CANCELLED, S.REJECTED})


def is_allowed(current: ApplicationStatus, target: ApplicationStatus, actor: ActorKind) -> bool:
    return TRANSITIONS.get((current, target)) is actor


def next_statuses(current: ApplicationStatus, actor: ActorKind) -> list[ApplicationStatus]:
    return [to for (frm, to), who in TRANSITIONS.items() if frm is current and who is actor]


@dataclass(frozen=True)
class StatusChange:
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus
    actor_id: int
    actor_kind: ActorKind
    at: datetime
    comment: str | None = None


@dataclass(frozen=True)
class Application:
    id: str
    user_id: int
    complex_code: str
    sport_code: str
    status: ApplicationStatus
    created_at: datetime
    updated_at: datetime
    comment: str | None = None
    applicant_name: str | None = None
    applicant_phone: str | None = None
    history: tuple[StatusChange, ...] = field(default_factory=tuple)
    # The human-friendly sequential number staff and residents quote («№ 123»); an application
    # stored before numbers existed gets one from a migration.
    number: int | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def version(self) -> int:
        """Number of recorded changes; a transition is applied only to the version it was read at."""
        return len(self.history)

    def transition(
        self,
        target: ApplicationStatus,
        *,
        actor_id: int,
        actor_kind: ActorKind,
        at: datetime,
        comment: str | None = None,
    ) -> Application:
        if not is_allowed(self.status, target, actor_kind):
            raise InvalidTransition(
                f"{self.status} -> {target} by {actor_kind}",
                current=self.status.value,
                target=target.value,
            )
        change = StatusChange(self.status, target, actor_id, actor_kind, at, clean_comment(comment))
        return replace(self, status=target, updated_at=at, history=(*self.history, change))


def new_application(
    *,
    application_id: str,
    user_id: int,
    complex_code: str,
    sport_code: str,
    at: datetime,
    comment: str | None,
    applicant_name: str | None,
    applicant_phone: str | None,
    number: int | None = None,
) -> Application:
    text = clean_comment(comment)
    return Application(
        id=application_id,
        user_id=user_id,
        complex_code=complex_code,
        sport_code=sport_code,
        status=S.PENDING,
        created_at=at,
        updated_at=at,
        comment=text,
        applicant_name=applicant_name,
        applicant_phone=applicant_phone,
        history=(StatusChange(None, S.PENDING, user_id, ActorKind.APPLICANT, at, None),),
        number=number,
    )


def clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    text = comment.strip()
    if not text:
        return None
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationFailed("comment", "too_long")
    return text

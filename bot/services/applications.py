"""Applications: residents submit and cancel, staff move them through the status machine."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.applications import (
    ACTIVE_STATUSES,
    ActorKind,
    Application,
    ApplicationStatus,
    clean_comment,
    is_allowed,
    new_application,
)
from bot.domain.audit import AuditEntry
from bot.domain.catalog import Complex
from bot.domain.errors import (
    DuplicateActiveApplication,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    StaleAction,
    ValidationFailed,
)
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.users import User
from bot.services.guards import Actor, active_resident
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    ApplicationQuery,
    ApplicationRepository,
    AuditQuery,
    AuditRepository,
    CatalogRepository,
    UserRepository,
)
from bot.services.ports.system import Clock, Notifier


@dataclass(frozen=True)
class SubmitResult:
    application: Application
    created: bool


@dataclass(frozen=True)
class ApplicationDraft:
    """Where applying stands before the submit: the complex, the sport once it is known (``None``:
    the resident picks one of ``complex_.sports``), and whether a phone must be asked for first."""

    complex_: Complex
    sport_code: str | None
    needs_phone: bool


SEARCH_MAX_LENGTH = 64
# «№ 123», «#123», «123»: a number; a longer run of digits is a phone number.
_NUMBER = re.compile(r"^[№#]\s*(\d{1,9})$")
_PHONE_CHARACTERS = re.compile(r"[\s()+\-]")
NUMBER_MAX_DIGITS = 7
OTHER_APPLICATIONS_SHOWN = 5


@dataclass(frozen=True)
class StaffApplicationCard:
    """What staff see of one application: the applicant as they are now (``None`` once they
    deleted their data), their other applications staff may see, newest first, and the names of
    everyone in the history (by Telegram id; a person without a name is absent)."""

    application: Application
    applicant: User | None
    others: tuple[Application, ...]
    people: Mapping[int, str]


def _made_by(
    application: Application,
    staff_id: int,
    target: ApplicationStatus,
    expected_version: int,
    comment: str | None,
) -> bool:
    """Whether ``application`` is exactly what this decision over ``expected_version`` made."""
    if application.version != expected_version + 1:
        return False
    last = application.history[-1]
    return (
        last.actor_kind is ActorKind.STAFF
        and last.actor_id == staff_id
        and last.to_status is target
        and last.comment == clean_comment(comment)
    )


class ApplicationService:
    def __init__(
        self,
        applications: ApplicationRepository,
        users: UserRepository,
        catalog: CatalogRepository,
        audit: AuditRepository,
        notifier: Notifier,
        clock: Clock,
        events: BusinessEvents = NO_EVENTS,
    ) -> None:
        self._events = events
        self._applications = applications
        self._users = users
        self._catalog = catalog
        self._audit = audit
        self._notifier = notifier
        self._clock = clock

    async def prepare(
        self, actor: Actor, complex_: Complex | str, sport_code: str | None = None
    ) -> ApplicationDraft:
        """The step before submitting: registration is checked first, then the complex (by code,
        or as the caller already read it) and the sport. A complex offering one sport has it
        chosen; a missing phone is asked for before the comment."""
        user = await active_resident(self._users, actor)
        complex_ = await self._active_complex(complex_)
        if sport_code is None and len(complex_.sports) == 1:
            sport_code = complex_.sports[0]
        if sport_code is not None and not complex_.offers(sport_code):
            raise ValidationFailed("sport", "not_offered")
        return ApplicationDraft(complex_, sport_code, needs_phone=not user.phone)

    async def submit(
        self,
        actor: Actor,
        complex_: Complex | str,
        sport_code: str,
        comment: str | None = None,
    ) -> SubmitResult:
        """One active application per (user, complex, sport); a repeat returns the existing one.
        The complex is given by code, or as the caller already read it."""
        user = await active_resident(self._users, actor, need_phone=True)
        user_id = user.telegram_id
        complex_ = await self._active_complex(complex_)
        complex_code = complex_.code
        if not complex_.offers(sport_code):
            raise ValidationFailed("sport", "not_offered")
        existing = await self._applications.find_active(user_id, complex_code, sport_code)
        if existing is not None:
            if existing.status is ApplicationStatus.PENDING:
                # A repeat, or the redelivery of a submit cut off before staff were told: the
                # notices are keyed per application and person, so this records only the missing.
                await self.tell_staff(existing)
            return SubmitResult(existing, created=False)
        application = new_application(
            application_id=new_id(),
            user_id=user_id,
            complex_code=complex_code,
            sport_code=sport_code,
            at=self._clock.now(),
            comment=comment,
            applicant_name=user.name,
            applicant_phone=user.phone,
            number=await self._applications.next_number(),
        )
        try:
            await self._applications.insert(application)
        except DuplicateActiveApplication:
            raced = await self._applications.find_active(user_id, complex_code, sport_code)
            if raced is None:
                raise
            return SubmitResult(raced, created=False)
        self._events.application(application.status)
        await self.tell_staff(application)
        return SubmitResult(application, created=True)

    async def tell_staff(self, application: Application) -> int:
        """One notice per person responsible for the complex (its managers, every admin and
        super admin), whatever roles they hold; the applicant is not told of their own. How
        many were recorded now (the others were recorded already)."""
        recorded = 0
        told: set[int] = set()
        for staff in await self._users.list_staff():
            if (
                staff.telegram_id in told
                or staff.telegram_id == application.user_id
                or staff.blocked
                or not staff.can_manage_complex(application.complex_code)
            ):
                continue
            told.add(staff.telegram_id)
            if await self._notifier.new_application_for_staff(application, staff.telegram_id):
                recorded += 1
        return recorded

    async def mine(self, user_id: int, page: PageRequest) -> Page[Application]:
        return await self._applications.list_for_user(user_id, page)

    async def get_for_user(self, user_id: int, application_id: str) -> Application:
        """An application as its owner sees it; someone else's id is simply not found."""
        application = await self._applications.get(application_id)
        if application is None or application.user_id != user_id:
            raise NotFound(f"application {application_id}")
        return application

    async def cancel(self, user_id: int, application_id: str) -> Application:
        application = await self.get_for_user(user_id, application_id)
        last = application.history[-1]
        if (
            application.status is ApplicationStatus.CANCELLED
            and last.actor_kind is ActorKind.APPLICANT
            and last.actor_id == user_id
        ):
            return application  # their own cancel delivered again: the same answer
        return await self._move(
            application, ApplicationStatus.CANCELLED, user_id, ActorKind.APPLICANT, None
        )

    async def staff_view(self, staff_id: int, application_id: str) -> Application:
        staff = await self._require_staff(staff_id)
        return await self._in_scope(staff, application_id)

    async def staff_card(self, staff_id: int, application_id: str) -> StaffApplicationCard:
        """The application with its applicant, their other applications in the staff member's
        scope and who is who in its history."""
        staff = await self._require_staff(staff_id)
        return await self._card(staff, await self._in_scope(staff, application_id))

    async def _card(self, staff: User, application: Application) -> StaffApplicationCard:
        applicant = await self._users.get(application.user_id)
        theirs = await self._applications.list_for_user(
            application.user_id, PageRequest(size=OTHER_APPLICATIONS_SHOWN + 1)
        )
        others = tuple(
            a
            for a in theirs.items
            if a.id != application.id and staff.can_manage_complex(a.complex_code)
        )[:OTHER_APPLICATIONS_SHOWN]
        people: dict[int, str] = {}
        for actor_id in sorted({change.actor_id for change in application.history}):
            person = (
                applicant if actor_id == application.user_id else await self._users.get(actor_id)
            )
            if person is not None and person.name:
                people[actor_id] = person.name
        return StaffApplicationCard(application, applicant, others, people)

    async def staff_prepare(
        self,
        staff_id: int,
        application_id: str,
        target: ApplicationStatus,
        *,
        expected_version: int,
    ) -> Application:
        """Before asking for the comment: may this staff member move it to ``target``, and is it
        still as the button showed it? Changes nothing. A stale button raises ``StaleAction``
        carrying the card as it is now (``card``)."""
        staff = await self._require_staff(staff_id)
        application = await self._in_scope(staff, application_id)
        try:
            self._check_current(application, target, expected_version)
        except StaleAction as stale:
            raise StaleAction(str(stale), card=await self._card(staff, application)) from stale
        return application

    async def staff_decide(
        self,
        staff_id: int,
        application_id: str,
        target: ApplicationStatus,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> StaffApplicationCard:
        """:meth:`staff_transition` from a button drawn at ``expected_version``; the card after
        it. A stale button raises ``StaleAction`` carrying the card as it is now (``card``).

        Idempotent for its own staff member: the same decision made again over the version it
        produced (Telegram delivering the update again after a failed reply) changes nothing and
        answers the same card."""
        try:
            updated = await self.staff_transition(
                staff_id,
                application_id,
                target,
                expected_version=expected_version,
                comment=comment,
            )
        except StaleAction as stale:
            staff = await self._require_staff(staff_id)
            current = stale.details.get("current")
            fresh = current if isinstance(current, Application) else None
            fresh = fresh or await self._in_scope(staff, application_id)
            if _made_by(fresh, staff_id, target, expected_version, comment):
                # Their decision delivered again; the first may have been cut off after the
                # write: its audit entry and the applicant's notice are completed.
                await self._complete_decision(staff_id, fresh)
                return await self._card(staff, fresh)
            raise StaleAction(str(stale), card=await self._card(staff, fresh)) from stale
        staff = await self._require_staff(staff_id)
        return await self._card(staff, updated)

    async def staff_transition(
        self,
        staff_id: int,
        application_id: str,
        target: ApplicationStatus,
        *,
        expected_status: ApplicationStatus | None = None,
        expected_version: int | None = None,
        comment: str | None = None,
    ) -> Application:
        """``expected_status``/``expected_version`` are what the button showed: a stale button is
        refused (``StaleAction`` carrying the application as it is now), not applied."""
        application = await self.staff_view(staff_id, application_id)
        if expected_status is not None and application.status is not expected_status:
            raise StaleAction(f"status is {application.status}", current=application)
        if expected_version is not None:
            self._check_current(application, target, expected_version)
        try:
            updated = await self._move(application, target, staff_id, ActorKind.STAFF, comment)
        except StaleAction as stale:
            fresh = await self._applications.get(application_id)
            raise StaleAction(str(stale), current=fresh or application) from stale
        await self._notifier.application_status_changed(updated)
        await self._audit_decision(staff_id, updated)
        return updated

    async def _audit_decision(self, staff_id: int, updated: Application) -> None:
        change = updated.history[-1]
        await self._audit.record(
            AuditEntry(
                new_id(),
                staff_id,
                f"application.{change.to_status.value}",
                "application",
                updated.id,
                change.at,
                {
                    "before": {"status": change.from_status.value if change.from_status else None},
                    "after": {"status": updated.status.value},
                    "comment": change.comment,
                    "number": updated.number,
                },
            )
        )

    async def _complete_decision(self, staff_id: int, decided: Application) -> None:
        """The steps after a staff decision's write, each once: the applicant's notice (keyed
        by version) and the audit entry (one per application and status reached)."""
        await self._notifier.application_status_changed(decided)
        action = f"application.{decided.status.value}"
        done = await self._audit.search(
            AuditQuery(target_type="application", target_id=decided.id, action=action),
            PageRequest(size=1),
        )
        if not done.items:
            await self._audit_decision(staff_id, decided)

    @staticmethod
    def _check_current(
        application: Application, target: ApplicationStatus, expected_version: int
    ) -> None:
        if application.version != expected_version:
            raise StaleAction(f"version is {application.version}", current=application)
        if not is_allowed(application.status, target, ActorKind.STAFF):
            raise InvalidTransition(
                f"{application.status} -> {target}",
                current=application.status.value,
                target=target.value,
            )

    async def inbox(
        self,
        staff_id: int,
        page: PageRequest,
        statuses: frozenset[ApplicationStatus] = ACTIVE_STATUSES,
    ) -> Page[Application]:
        """Applications in ``statuses`` in the staff member's scope, newest first."""
        staff = await self._require_staff(staff_id)
        scope = self._scope(staff)
        found = await self._applications.list_for_staff(scope, statuses, page, newest_first=True)
        if found.items or found.total == 0 or page.page == 0:
            return found
        # A stale "next" past the end: the last page instead of an empty one.
        last = clamp_page(page, found.total)
        return await self._applications.list_for_staff(scope, statuses, last, newest_first=True)

    async def staff_counts(self, staff_id: int) -> dict[ApplicationStatus, int]:
        """How many applications of each status the staff member's scope holds."""
        staff = await self._require_staff(staff_id)
        return await self._applications.count_by_status(self._scope(staff))

    async def staff_search(self, staff_id: int, text: str, page: PageRequest) -> Page[Application]:
        """Applications in scope by number («№ 123», «123»), phone (its digits), the applicant's
        name or a complex's name, newest first."""
        staff = await self._require_staff(staff_id)
        query = await self._query(text)
        found = await self._applications.search(self._scope(staff), query, page)
        if found.items or found.total == 0 or page.page == 0:
            return found
        return await self._applications.search(
            self._scope(staff), query, clamp_page(page, found.total)
        )

    async def _query(self, text: str) -> ApplicationQuery:
        typed = " ".join(text.split())
        if not typed:
            raise ValidationFailed("query", "empty")
        if len(typed) > SEARCH_MAX_LENGTH:
            raise ValidationFailed("query", "too_long")
        number = _NUMBER.match(typed)
        if number is not None:
            return ApplicationQuery(number=int(number.group(1)))
        digits = _PHONE_CHARACTERS.sub("", typed)
        if digits.isdigit():
            short = len(digits) <= NUMBER_MAX_DIGITS
            return ApplicationQuery(phone_digits=digits, number=int(digits) if short else None)
        needle = typed.casefold()
        complexes = frozenset(
            c.code
            for c in await self._catalog.list_complexes(include_inactive=True)
            if needle in c.code.casefold()
            or any(needle in name.casefold() for name in c.name.values.values())
        )
        return ApplicationQuery(name=typed, complex_codes=complexes)

    @staticmethod
    def _scope(staff: User) -> frozenset[str] | None:
        return None if staff.manages_all_complexes else staff.managed_complexes

    async def _in_scope(self, staff: User, application_id: str) -> Application:
        application = await self._applications.get(application_id)
        if application is None:
            raise NotFound(f"application {application_id}")
        if not staff.can_manage_complex(application.complex_code):
            raise PermissionDenied("complex outside the manager's scope")
        return application

    async def count_by_status(self) -> dict[ApplicationStatus, int]:
        return await self._applications.count_by_status()

    async def _move(
        self,
        application: Application,
        target: ApplicationStatus,
        actor_id: int,
        actor_kind: ActorKind,
        comment: str | None,
    ) -> Application:
        updated = application.transition(
            target, actor_id=actor_id, actor_kind=actor_kind, at=self._clock.now(), comment=comment
        )
        if not await self._applications.replace_if_version(application.version, updated):
            raise StaleAction("application changed meanwhile")
        self._events.application(updated.status)
        return updated

    async def _active_complex(self, complex_: Complex | str) -> Complex:
        """The complex residents apply to: read by code, or checked as the caller read it."""
        found = await self._catalog.get_complex(complex_) if isinstance(complex_, str) else complex_
        if found is None or not found.active:
            raise NotFound(f"complex {complex_ if isinstance(complex_, str) else complex_.code}")
        return found

    async def _require_staff(self, staff_id: int) -> User:
        staff = await self._users.get(staff_id)
        if staff is None or not staff.is_staff or staff.blocked:
            raise PermissionDenied("staff role required")
        return staff

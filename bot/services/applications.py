"""Applications: residents submit and cancel, staff move them through the status machine."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.applications import (
    ACTIVE_STATUSES,
    ActorKind,
    Application,
    ApplicationStatus,
    new_application,
)
from bot.domain.audit import AuditEntry
from bot.domain.catalog import Complex
from bot.domain.errors import (
    DuplicateActiveApplication,
    NotFound,
    PermissionDenied,
    StaleAction,
    ValidationFailed,
)
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest
from bot.domain.users import User
from bot.services.guards import Actor, active_resident
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    ApplicationRepository,
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
        )
        try:
            await self._applications.insert(application)
        except DuplicateActiveApplication:
            raced = await self._applications.find_active(user_id, complex_code, sport_code)
            if raced is None:
                raise
            return SubmitResult(raced, created=False)
        self._events.application(application.status)
        return SubmitResult(application, created=True)

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
        return await self._move(
            application, ApplicationStatus.CANCELLED, user_id, ActorKind.APPLICANT, None
        )

    async def staff_view(self, staff_id: int, application_id: str) -> Application:
        staff = await self._require_staff(staff_id)
        application = await self._applications.get(application_id)
        if application is None:
            raise NotFound(f"application {application_id}")
        if not staff.can_manage_complex(application.complex_code):
            raise PermissionDenied("complex outside the manager's scope")
        return application

    async def staff_transition(
        self,
        staff_id: int,
        application_id: str,
        target: ApplicationStatus,
        *,
        expected_status: ApplicationStatus | None = None,
        comment: str | None = None,
    ) -> Application:
        """``expected_status`` is what the button showed: a stale button is refused, not applied."""
        application = await self.staff_view(staff_id, application_id)
        if expected_status is not None and application.status is not expected_status:
            raise StaleAction(f"status is {application.status}")
        updated = await self._move(application, target, staff_id, ActorKind.STAFF, comment)
        await self._audit.record(
            AuditEntry(
                new_id(),
                staff_id,
                f"application.{target.value}",
                "application",
                application_id,
                self._clock.now(),
                {"from": application.status.value},
            )
        )
        await self._notifier.application_status_changed(updated)
        return updated

    async def inbox(
        self,
        staff_id: int,
        page: PageRequest,
        statuses: frozenset[ApplicationStatus] = ACTIVE_STATUSES,
    ) -> Page[Application]:
        staff = await self._require_staff(staff_id)
        scope = None if staff.manages_all_complexes else staff.managed_complexes
        return await self._applications.list_for_staff(scope, statuses, page)

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

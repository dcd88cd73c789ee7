"""Registration, profile and data deletion for residents; blocking and roles for staff."""

from __future__ import annotations

from dataclasses import fields, replace

from bot.domain.audit import AuditEntry
from bot.domain.errors import NotFound, PermissionDenied, ValidationFailed
from bot.domain.i18n import SUPPORTED_LANGUAGES, pick_language
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest
from bot.domain.users import NotificationPreferences, Role, User, validate_name
from bot.services.guards import Actor, active_resident, actor_record
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    ApplicationRepository,
    AuditRepository,
    CatalogRepository,
    UserRepository,
)
from bot.services.ports.system import Clock, PhoneNormalizer

NOTIFICATION_KINDS = frozenset(f.name for f in fields(NotificationPreferences))


class UserService:
    def __init__(
        self,
        users: UserRepository,
        applications: ApplicationRepository,
        catalog: CatalogRepository,
        audit: AuditRepository,
        phones: PhoneNormalizer,
        clock: Clock,
        events: BusinessEvents = NO_EVENTS,
    ) -> None:
        self._events = events
        self._users = users
        self._applications = applications
        self._catalog = catalog
        self._audit = audit
        self._phones = phones
        self._clock = clock

    async def get(self, telegram_id: int) -> User | None:
        return await self._users.get(telegram_id)

    async def touch(self, telegram_id: int, telegram_language_code: str | None) -> User:
        """The user behind an update, created on first contact with a language guessed from Telegram."""
        return await self._users.ensure(
            telegram_id, pick_language(telegram_language_code), self._clock.now()
        )

    async def set_name(self, actor: Actor, raw_name: str) -> User:
        user = await self._acting(actor)
        updated = replace(user, name=validate_name(raw_name))
        await self._users.save(updated)
        return updated

    async def set_phone_from_contact(
        self, actor: Actor, contact_user_id: int | None, raw_phone: str
    ) -> User:
        """Accept only the sender's own contact: a forwarded card is someone else's number."""
        telegram_id = actor.telegram_id if isinstance(actor, User) else actor
        if contact_user_id != telegram_id:
            raise ValidationFailed("phone", "not_own_contact")
        phone = self._phones.normalize(raw_phone)
        if phone is None:
            raise ValidationFailed("phone", "invalid")
        user = await self._acting(actor)
        updated = replace(user, phone=phone)
        await self._users.save(updated)
        return updated

    async def complete_registration(self, actor: Actor, *, consent: bool) -> User:
        if not consent:
            raise ValidationFailed("consent", "required")
        user = await self._acting(actor)
        if user.name is None:
            raise ValidationFailed("name", "missing")
        now = self._clock.now()
        updated = replace(
            user,
            consent_at=user.consent_at or now,
            registered_at=user.registered_at or now,
            deleted_at=None,
        )
        await self._users.save(updated)
        self._events.registered()
        return updated

    # --- a registered resident's own profile ------------------------------------------------

    async def profile(self, actor: Actor) -> User:
        """The resident's own record for the profile screens: registration is required."""
        return await active_resident(self._users, actor)

    async def set_language(self, actor: Actor, language: str) -> User:
        user = await active_resident(self._users, actor)
        if language not in SUPPORTED_LANGUAGES:
            raise ValidationFailed("language", "unsupported")
        updated = replace(user, language=language)
        await self._users.save(updated)
        return updated

    async def set_notifications(self, actor: Actor, preferences: NotificationPreferences) -> User:
        user = await active_resident(self._users, actor)
        updated = replace(user, notifications=preferences)
        await self._users.save(updated)
        return updated

    async def toggle_notification(self, actor: Actor, kind: str) -> User:
        """Switch one kind of notification (a field of NotificationPreferences) on or off."""
        user = await active_resident(self._users, actor)
        if kind not in NOTIFICATION_KINDS:
            raise ValidationFailed("notifications", "unknown_kind")
        current: bool = getattr(user.notifications, kind)
        preferences: NotificationPreferences = replace(user.notifications, **{kind: not current})
        updated = replace(user, notifications=preferences)
        await self._users.save(updated)
        return updated

    async def delete_my_data(self, actor: Actor) -> User:
        """Erase personal fields and anonymise the applications that carried them."""
        user = await active_resident(self._users, actor)
        erased = user.erased(self._clock.now())
        await self._users.save(erased)
        await self._applications.anonymise_user(user.telegram_id)
        return erased

    async def mark_unreachable(self, telegram_id: int) -> None:
        await self._users.set_unreachable(telegram_id, True)

    async def mark_unreachable_chat(self, chat_id: int | str) -> None:
        """A 403 from Telegram for a chat: only private chats are users (their ids coincide)."""
        if isinstance(chat_id, int) and chat_id > 0:
            await self._users.set_unreachable(chat_id, True)

    async def mark_reachable(self, telegram_id: int) -> None:
        await self._users.set_unreachable(telegram_id, False)

    # --- staff -----------------------------------------------------------------------------

    async def staff_member(self, actor: Actor) -> User:
        """The acting staff member (any role, not blocked): the staff panel's entry check."""
        user = await actor_record(self._users, actor)
        if user is None or not user.is_staff or user.blocked:
            raise PermissionDenied("staff role required")
        return user

    async def set_blocked(self, actor_id: int | None, telegram_id: int, blocked: bool) -> User:
        """Admins and super admins block; ``actor_id=None`` is the operator CLI (trusted shell)."""
        target = await self._require(telegram_id)
        if actor_id is not None:
            actor = await self._require_staff(actor_id, need=(Role.SUPER_ADMIN, Role.ADMIN))
            if target.role is Role.SUPER_ADMIN and actor.role is not Role.SUPER_ADMIN:
                raise PermissionDenied("cannot block a super admin")
        updated = replace(target, blocked=blocked)
        await self._users.save(updated)
        await self._record(
            actor_id or 0, "user.block" if blocked else "user.unblock", str(telegram_id)
        )
        return updated

    async def set_role(
        self,
        actor_id: int | None,
        telegram_id: int,
        role: Role | None,
        managed_complexes: frozenset[str] = frozenset(),
    ) -> User:
        """Only a super admin may grant roles. ``actor_id=None`` is the operator CLI (trusted shell)."""
        if actor_id is not None:
            await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
        if role is not Role.MANAGER and managed_complexes:
            raise ValidationFailed("complexes", "only_for_managers")
        for code in managed_complexes:
            if await self._catalog.get_complex(code) is None:
                raise NotFound(f"complex {code}")
        await self._users.ensure(telegram_id, "ru", self._clock.now())
        updated = await self._users.set_role(telegram_id, role, managed_complexes)
        if updated is None:
            raise NotFound(f"user {telegram_id}")
        await self._record(
            actor_id or 0,
            "user.role",
            str(telegram_id),
            role=role.value if role else None,
            complexes=sorted(managed_complexes),
        )
        return updated

    async def search(self, actor_id: int, query: str, page: PageRequest) -> Page[User]:
        await self._require_staff(actor_id, need=(Role.SUPER_ADMIN, Role.ADMIN))
        return await self._users.search(query.strip(), page)

    async def list_staff(self) -> list[User]:
        return await self._users.list_staff()

    async def count_registered(self) -> int:
        return await self._users.count_registered()

    async def _acting(self, actor: Actor) -> User:
        """The acting user as already read by the caller, or read now by id."""
        return actor if isinstance(actor, User) else await self._require(actor)

    async def _require(self, telegram_id: int) -> User:
        user = await self._users.get(telegram_id)
        if user is None:
            raise NotFound(f"user {telegram_id}")
        return user

    async def _require_staff(self, actor_id: int, need: tuple[Role, ...]) -> User:
        actor = await self._users.get(actor_id)
        if actor is None or actor.blocked or actor.role not in need:
            raise PermissionDenied("staff role required")
        return actor

    async def _record(self, actor_id: int, action: str, target: str, **details: object) -> None:
        await self._audit.record(
            AuditEntry(new_id(), actor_id, action, "user", target, self._clock.now(), details)
        )

"""Registration, profile and data deletion for residents; blocking and roles for staff."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields, replace

from bot.domain.applications import Application
from bot.domain.audit import AuditEntry
from bot.domain.catalog import Complex
from bot.domain.errors import NotFound, PermissionDenied, ValidationFailed
from bot.domain.i18n import SUPPORTED_LANGUAGES, pick_language
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.users import NotificationPreferences, Role, User, validate_name
from bot.services.guards import Actor, active_resident, actor_record
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    ApplicationRepository,
    AuditQuery,
    AuditRepository,
    BookingRepository,
    BookingTally,
    CatalogRepository,
    UserRepository,
)
from bot.services.ports.system import Clock, Notifier, PhoneNormalizer

NOTIFICATION_KINDS = frozenset(f.name for f in fields(NotificationPreferences))
ADMINS = (Role.SUPER_ADMIN, Role.ADMIN)
SEARCH_MAX_LENGTH = 64
REASON_MAX_LENGTH = 200
USER_APPLICATIONS_SHOWN = 5
COMPLEX_REFERENCE_LENGTH = 6
_PHONE_CHARACTERS = re.compile(r"[\s()+\-]")


@dataclass(frozen=True)
class StaffUserCard:
    """A person as admins see them: ``applications`` is the newest page of theirs (its total is
    all of them), ``block_reason`` why the latest block was made (while blocked)."""

    user: User
    applications: Page[Application]
    bookings: BookingTally
    block_reason: str | None


@dataclass(frozen=True)
class ManagerComplexes:
    """A manager and the catalog's complexes (inactive ones too) to assign them."""

    manager: User
    complexes: tuple[Complex, ...]


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
        *,
        bookings: BookingRepository,
        notifier: Notifier,
    ) -> None:
        self._bookings = bookings
        self._notifier = notifier
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
        """The user behind an update, created on first contact with a language guessed from
        Telegram. Every update comes through here, so it costs a read and writes only when
        something changed: the record on first contact, the unreachable mark when a person
        marked unreachable (they had blocked the bot) writes again. The language is the
        person's choice after first contact (``set_language``), never Telegram's again."""
        user = await self._users.ensure(
            telegram_id, pick_language(telegram_language_code), self._clock.now()
        )
        if user.unreachable:
            await self._users.set_unreachable(telegram_id, False)
            user = replace(user, unreachable=False)
        return user

    async def begin_registration(self, actor: Actor) -> User:
        """Record that /start asked this person to register (written once, not on every
        /start); a registered user is returned as they are."""
        user = await self._acting(actor)
        if user.is_registered or user.registration_started_at is not None:
            return user
        updated = replace(user, registration_started_at=self._clock.now())
        await self._users.save_changes(user, updated)
        return updated

    async def abandon_registration(self, actor: Actor) -> User:
        """Consent refused: the person stays a guest, and their typing no longer resumes
        registration (until the next /start)."""
        user = await self._acting(actor)
        if user.registration_started_at is None:
            return user
        updated = replace(user, registration_started_at=None)
        await self._users.save_changes(user, updated)
        return updated

    async def set_name(self, actor: Actor, raw_name: str) -> User:
        user = await self._acting(actor)
        updated = replace(user, name=validate_name(raw_name))
        await self._users.save_changes(user, updated)
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
        await self._users.save_changes(user, updated)
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
        await self._users.save_changes(user, updated)
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
        await self._users.save_changes(user, updated)
        return updated

    async def set_notifications(self, actor: Actor, preferences: NotificationPreferences) -> User:
        user = await active_resident(self._users, actor)
        updated = replace(user, notifications=preferences)
        await self._users.save_changes(user, updated)
        return updated

    async def toggle_notification(self, actor: Actor, kind: str) -> User:
        """Switch one kind of notification (a field of NotificationPreferences) on or off."""
        user = await active_resident(self._users, actor)
        if kind not in NOTIFICATION_KINDS:
            raise ValidationFailed("notifications", "unknown_kind")
        current: bool = getattr(user.notifications, kind)
        preferences: NotificationPreferences = replace(user.notifications, **{kind: not current})
        updated = replace(user, notifications=preferences)
        await self._users.save_changes(user, updated)
        return updated

    async def delete_my_data(self, actor: Actor) -> User:
        """Erase personal fields and anonymise the applications that carried them."""
        user = await active_resident(self._users, actor)
        erased = user.erased(self._clock.now())
        await self._users.save_changes(user, erased)
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

    async def record_bot_blocked(self, telegram_id: int, *, blocked: bool) -> None:
        """Telegram says the person blocked the bot (unreachable) or unblocked it (reachable
        again). Written only when it changes; a person the bot never knew is not recorded."""
        user = await self._users.get(telegram_id)
        if user is not None and user.unreachable is not blocked:
            await self._users.set_unreachable(telegram_id, blocked)

    # --- staff -----------------------------------------------------------------------------

    async def staff_member(self, actor: Actor) -> User:
        """The acting staff member (any role, not blocked): the staff panel's entry check."""
        user = await actor_record(self._users, actor)
        if user is None or not user.is_staff or user.blocked:
            raise PermissionDenied("staff role required")
        return user

    async def set_blocked(
        self, actor_id: int | None, telegram_id: int, blocked: bool, reason: str | None = None
    ) -> User:
        """Admins and super admins block and unblock (the bot asks them why, see
        :meth:`staff_set_blocked`); a blocked person is told once, through the outbox.
        ``actor_id=None`` is the operator CLI (trusted shell). Blocking whoever is blocked
        already changes nothing."""
        why = _clean_reason(reason, required=False)
        if actor_id is not None:
            actor = await self._require_staff(actor_id, need=ADMINS)
            target = await self._require(telegram_id)
            self._check_may_block(actor, target)
        else:
            target = await self._require(telegram_id)
        if target.blocked is blocked:
            if blocked:
                # Perhaps this very block delivered again, the first cut after its write: its
                # audit entry and the notice (keyed by that entry) are completed, once.
                await self._complete_block(actor_id or 0, telegram_id, why)
            return target
        updated = replace(target, blocked=blocked)
        await self._users.save_changes(target, updated)
        event = await self._record(
            actor_id or 0,
            "user.block" if blocked else "user.unblock",
            str(telegram_id),
            before={"blocked": target.blocked},
            after={"blocked": blocked},
            reason=why,
        )
        if blocked:
            await self._notifier.user_blocked(telegram_id, event, why or "")
        return updated

    async def set_role(
        self,
        actor_id: int | None,
        telegram_id: int,
        role: Role | None,
        managed_complexes: frozenset[str] = frozenset(),
    ) -> User:
        """Only a super admin may grant roles, never to themselves away (a super admin cannot
        demote themselves). ``actor_id=None`` is the operator CLI (trusted shell)."""
        if actor_id is not None:
            await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
            if actor_id == telegram_id and role is not Role.SUPER_ADMIN:
                raise ValidationFailed("role", "self")
        if role is not Role.MANAGER and managed_complexes:
            raise ValidationFailed("complexes", "only_for_managers")
        for code in managed_complexes:
            if await self._catalog.get_complex(code) is None:
                raise NotFound(f"complex {code}")
        before = await self._users.ensure(telegram_id, "ru", self._clock.now())
        updated = await self._users.set_role(telegram_id, role, managed_complexes)
        if updated is None:
            raise NotFound(f"user {telegram_id}")
        await self._record(
            actor_id or 0,
            "user.role",
            str(telegram_id),
            before=_role_state(before),
            after=_role_state(updated),
            # Kept for the readers of the operator's entries (``role``/``complexes`` after).
            role=role.value if role else None,
            complexes=sorted(managed_complexes),
        )
        return updated

    async def set_manager_complex(
        self, actor_id: int, telegram_id: int, complex_code: str, assigned: bool
    ) -> User:
        """Assign a complex to a manager or take it away (super admins). The button says which,
        so a repeated tap changes nothing twice."""
        await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
        target = await self._require(telegram_id)
        if target.role is not Role.MANAGER:
            raise ValidationFailed("complexes", "only_for_managers")
        current = target.managed_complexes
        wanted = current | {complex_code} if assigned else current - {complex_code}
        if wanted == current:
            return target
        return await self.set_role(actor_id, telegram_id, Role.MANAGER, frozenset(wanted))

    async def staff_prepare_block(self, actor_id: int, telegram_id: int, blocked: bool) -> User:
        """Before asking for the reason: may this admin block (unblock) that person? The person
        as they are; changes nothing."""
        actor = await self._require_staff(actor_id, need=ADMINS)
        target = await self._require(telegram_id)
        self._check_may_block(actor, target)
        return target

    async def staff_set_blocked(
        self, actor_id: int, telegram_id: int, blocked: bool, reason: str
    ) -> StaffUserCard:
        """:meth:`set_blocked` from the bot, where a reason is required; the card after it."""
        await self.set_blocked(actor_id, telegram_id, blocked, _clean_reason(reason, required=True))
        return await self.staff_user_card(actor_id, telegram_id)

    async def staff_prepare_role(self, actor_id: int, telegram_id: int) -> User:
        """Before choosing a role: only super admins grant them. The person as they are."""
        await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
        return await self._require(telegram_id)

    async def staff_set_role(
        self, actor_id: int, telegram_id: int, role: Role | None
    ) -> StaffUserCard:
        """Grant ``role`` (``None``: take the role away) from the bot; a manager keeps the
        complexes they had as a manager. The person's card after it."""
        await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
        target = await self._require(telegram_id)
        keep = target.managed_complexes if role is Role.MANAGER else frozenset()
        if target.role is not role or target.managed_complexes != keep:
            await self.set_role(actor_id, telegram_id, role, keep)
        return await self.staff_user_card(actor_id, telegram_id)

    async def manager_complexes(self, actor_id: int, telegram_id: int) -> ManagerComplexes:
        """A manager and every complex of the catalog to assign (super admins)."""
        await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
        target = await self._require(telegram_id)
        if target.role is not Role.MANAGER:
            raise ValidationFailed("complexes", "only_for_managers")
        complexes = await self._catalog.list_complexes(include_inactive=True)
        return ManagerComplexes(target, tuple(complexes))

    async def assign_complex(
        self, actor_id: int, telegram_id: int, reference: str, assigned: bool
    ) -> ManagerComplexes:
        """:meth:`set_manager_complex` for the complex whose :func:`complex_reference` is
        ``reference`` (a button cannot carry a 48-character code); the manager and the complexes
        after it."""
        await self._require_staff(actor_id, need=(Role.SUPER_ADMIN,))
        complexes = await self._catalog.list_complexes(include_inactive=True)
        code = next((c.code for c in complexes if complex_reference(c.code) == reference), None)
        if code is None:
            raise NotFound(f"complex {reference}")
        await self.set_manager_complex(actor_id, telegram_id, code, assigned)
        return await self.manager_complexes(actor_id, telegram_id)

    async def staff_admin(self, actor: Actor) -> User:
        """The acting admin or super admin: the people section's entry check."""
        user = await actor_record(self._users, actor)
        if user is None or user.blocked or user.role not in ADMINS:
            raise PermissionDenied("admins only")
        return user

    async def search(self, actor_id: int, query: str, page: PageRequest) -> Page[User]:
        """People by name (any part, any case), phone (its digits) or Telegram id (admins)."""
        await self._require_staff(actor_id, need=ADMINS)
        typed = " ".join(query.split())
        if not typed:
            raise ValidationFailed("query", "empty")
        if len(typed) > SEARCH_MAX_LENGTH:
            raise ValidationFailed("query", "too_long")
        digits = _PHONE_CHARACTERS.sub("", typed)
        needle = digits if digits.isdigit() else typed
        found = await self._users.search(needle, page)
        if found.items or found.total == 0 or page.page == 0:
            return found
        # A stale "next" past the end: the last page instead of an empty one.
        return await self._users.search(needle, clamp_page(page, found.total))

    async def staff_user_card(self, actor_id: int, telegram_id: int) -> StaffUserCard:
        """What admins see of a person: the record, their latest applications, their bookings
        and attendance, and why they were blocked (the latest block's reason)."""
        await self._require_staff(actor_id, need=ADMINS)
        user = await self._require(telegram_id)
        applications = await self._applications.list_for_user(
            telegram_id, PageRequest(size=USER_APPLICATIONS_SHOWN)
        )
        bookings = await self._bookings.tally_for_user(telegram_id)
        reason = None
        if user.blocked:
            last = await self._audit.search(
                AuditQuery(target_type="user", target_id=str(telegram_id), action="user.block"),
                PageRequest(size=1),
            )
            if last.items:
                found = last.items[0].details.get("reason")
                reason = str(found) if found else None
        return StaffUserCard(user, applications, bookings, reason)

    async def list_staff(self) -> list[User]:
        return await self._users.list_staff()

    async def count_registered(self) -> int:
        return await self._users.count_registered()

    @staticmethod
    def _check_may_block(actor: User, target: User) -> None:
        if target.role is Role.SUPER_ADMIN and actor.role is not Role.SUPER_ADMIN:
            raise PermissionDenied("cannot block a super admin")
        if target.telegram_id == actor.telegram_id:
            raise ValidationFailed("user", "self")

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

    async def _complete_block(self, actor_id: int, telegram_id: int, why: str | None) -> None:
        """The person is blocked: the block's audit entry (unless the latest block has one,
        newer than any unblock) and its notice, recorded if missing."""
        latest = {}
        for action in ("user.block", "user.unblock"):
            found = await self._audit.search(
                AuditQuery(target_type="user", target_id=str(telegram_id), action=action),
                PageRequest(size=1),
            )
            latest[action] = found.items[0] if found.items else None
        block, unblock = latest["user.block"], latest["user.unblock"]
        if block is None or (unblock is not None and unblock.at > block.at):
            event = await self._record(
                actor_id,
                "user.block",
                str(telegram_id),
                before={"blocked": False},
                after={"blocked": True},
                reason=why,
            )
            reason = why or ""
        else:
            event, reason = block.id, str(block.details.get("reason") or "")
        await self._notifier.user_blocked(telegram_id, event, reason)

    async def _record(self, actor_id: int, action: str, target: str, **details: object) -> str:
        """Write the audit entry; its id names the event (a notice about it is keyed by it)."""
        entry_id = new_id()
        await self._audit.record(
            AuditEntry(entry_id, actor_id, action, "user", target, self._clock.now(), details)
        )
        return entry_id


def complex_reference(code: str) -> str:
    """A short stable reference of a complex code, for buttons (codes may be 48 characters)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:COMPLEX_REFERENCE_LENGTH]


def _clean_reason(reason: str | None, *, required: bool) -> str | None:
    text = " ".join((reason or "").split())
    if not text:
        if required:
            raise ValidationFailed("reason", "missing")
        return None
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationFailed("reason", "too_long")
    return text


def _role_state(user: User) -> dict[str, object]:
    return {
        "role": user.role.value if user.role else None,
        "complexes": sorted(user.managed_complexes),
    }

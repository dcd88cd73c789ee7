"""What the operator's shell (``scripts/admin_tools.py``) does to people: the original bot's
``make_admin``, ``remove_admin``, ``list_admins``, ``user_info``, ``list_users``, ``block_user`` and
``unblock_user``.

The shell is trusted (operator authority), but its changes are staff actions all the same: they go
through :class:`~bot.services.users.UserService` and are audited as actor 0, and
:class:`OperatorAudit` writes the operator's OS login into each of those entries. Unlike
``users grant``, these commands act only on people the bot knows (who sent /start), as the
original's did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain.applications import Application
from bot.domain.audit import AuditEntry
from bot.domain.errors import NotFound, ValidationFailed
from bot.domain.paging import Page, PageRequest
from bot.domain.users import Role, User
from bot.services.ports.repositories import (
    ApplicationRepository,
    AuditQuery,
    AuditRepository,
    BookingRepository,
    BookingTally,
    UserRepository,
)
from bot.services.users import UserService

# The operator CLI's entries carry actor 0 (``UserService`` records ``actor_id=None`` as 0).
OPERATOR_ID = 0
LIST_USERS_DEFAULT = 50
LIST_USERS_MAX = 10_000
USER_INFO_APPLICATIONS = 5


class OperatorAudit:
    """The audit log of an operator's process: its entries of actor 0 name the operator."""

    def __init__(self, inner: AuditRepository, operator: str) -> None:
        self._inner = inner
        self._operator = operator

    async def record(self, entry: AuditEntry) -> None:
        if entry.actor_id == OPERATOR_ID and entry.actor_name is None:
            entry = replace(entry, actor_name=self._operator)
        await self._inner.record(entry)

    async def recent(self, page: PageRequest) -> Page[AuditEntry]:
        return await self._inner.recent(page)

    async def search(self, query: AuditQuery, page: PageRequest) -> Page[AuditEntry]:
        return await self._inner.search(query, page)


@dataclass(frozen=True)
class PersonInfo:
    """``user_info``: the record, the newest applications (the page's total is all of them) and
    the bookings at a glance."""

    user: User
    applications: Page[Application]
    bookings: BookingTally


def person_tags(user: User) -> list[str]:
    """The original's tags of ``list_users``: SUPER_ADMIN / ADMIN / MANAGER / BLOCKED / INCOMPLETE."""
    tags: list[str] = []
    if user.role is not None:
        tags.append(user.role.value.upper())
    if user.blocked:
        tags.append("BLOCKED")
    if not user.is_registered:
        tags.append("INCOMPLETE")
    return tags


class OperatorService:
    def __init__(
        self,
        users: UserService,
        user_records: UserRepository,
        applications: ApplicationRepository,
        bookings: BookingRepository,
    ) -> None:
        self._users = users
        self._records = user_records
        self._applications = applications
        self._bookings = bookings

    async def make_admin(self, telegram_id: int, *, super_admin: bool = False) -> User:
        """``make_admin ID [super]``: an admin (super admin) role for someone the bot knows."""
        user = await self._known(telegram_id)
        role = Role.SUPER_ADMIN if super_admin else Role.ADMIN
        if user.role is role and not user.managed_complexes:
            return user
        return await self._users.set_role(None, telegram_id, role)

    async def remove_admin(self, telegram_id: int) -> tuple[User, Role | None]:
        """``remove_admin ID``: no staff role any more (whichever it was). The person after it
        and the role they had (``None``: they had none, and nothing was changed)."""
        user = await self._known(telegram_id)
        if user.role is None:
            return user, None
        return await self._users.set_role(None, telegram_id, None), user.role

    async def set_blocked(self, telegram_id: int, blocked: bool) -> tuple[User, bool]:
        """``block_user`` / ``unblock_user``; whether anything changed (already so: nothing)."""
        user = await self._known(telegram_id)
        if user.blocked is blocked:
            return user, False
        return await self._users.set_blocked(None, telegram_id, blocked), True

    async def list_admins(self) -> list[User]:
        """Everyone holding a staff role, by Telegram id."""
        return await self._records.list_staff()

    async def list_users(self, limit: int = LIST_USERS_DEFAULT) -> list[User]:
        """``list_users [LIMIT]``: the first ``limit`` people the bot knows, by Telegram id."""
        if not 1 <= limit <= LIST_USERS_MAX:
            raise ValidationFailed("limit", "out_of_range")
        return await self._records.list_all(limit)

    async def user_info(self, telegram_id: int) -> PersonInfo:
        user = await self._known(telegram_id)
        applications = await self._applications.list_for_user(
            telegram_id, PageRequest(size=USER_INFO_APPLICATIONS)
        )
        return PersonInfo(user, applications, await self._bookings.tally_for_user(telegram_id))

    async def _known(self, telegram_id: int) -> User:
        if telegram_id <= 0:
            raise ValidationFailed("telegram_id", "not_positive")
        user = await self._records.get(telegram_id)
        if user is None:
            raise NotFound(
                f"user {telegram_id} is not known to the bot (they must send /start first)"
            )
        return user

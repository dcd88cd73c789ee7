"""The audit log as super admins read it: the latest staff actions, by staff member and object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.audit import AuditEntry
from bot.domain.errors import PermissionDenied
from bot.domain.paging import Page, PageRequest
from bot.domain.users import Role, User
from bot.services.ports.repositories import AuditQuery, AuditRepository, UserRepository

# The operator CLI's entries carry actor 0 (``admin_tools``).
OPERATOR_ID = 0


@dataclass(frozen=True)
class AuditLogPage:
    """A page of entries and the names of the people they mention (actors and users acted on)."""

    entries: Page[AuditEntry]
    people: Mapping[int, str]


class AuditService:
    def __init__(self, audit: AuditRepository, users: UserRepository) -> None:
        self._audit = audit
        self._users = users

    async def log(self, actor_id: int, query: AuditQuery, page: PageRequest) -> AuditLogPage:
        """The entries matching ``query``, newest first (super admins only)."""
        await self._require_super_admin(actor_id)
        entries = await self._audit.search(query, page)
        ids = {e.actor_id for e in entries.items} | {
            int(e.target_id)
            for e in entries.items
            if e.target_type == "user" and e.target_id.isdigit()
        }
        if query.actor_id is not None:
            ids.add(query.actor_id)
        people: dict[int, str] = {}
        for person_id in sorted(ids - {OPERATOR_ID}):
            person = await self._users.get(person_id)
            if person is not None and person.name:
                people[person_id] = person.name
        return AuditLogPage(entries, people)

    async def reader(self, actor_id: int) -> User:
        """The acting super admin: the audit log's entry check."""
        return await self._require_super_admin(actor_id)

    async def staff(self, actor_id: int) -> list[User]:
        """Everyone holding a role, to filter the log by (super admins only)."""
        await self._require_super_admin(actor_id)
        return await self._users.list_staff()

    async def _require_super_admin(self, actor_id: int) -> User:
        actor = await self._users.get(actor_id)
        if actor is None or actor.blocked or actor.role is not Role.SUPER_ADMIN:
            raise PermissionDenied("the audit log is for super admins")
        return actor

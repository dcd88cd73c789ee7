"""Who may act on the staff side of sessions and the catalog, and how their actions are audited.

Every staff method of ``ScheduleService``, ``BookingService`` and ``CatalogService`` starts here:
a manager acts only on the complexes assigned to them, admins and super admins on all of them,
and creating or hiding catalog entries is for admins and super admins only. A blocked staff member
can do nothing. Every change is written to the audit log with what it was before and after.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.audit import AuditEntry
from bot.domain.errors import PermissionDenied
from bot.domain.ids import new_id
from bot.domain.users import User
from bot.services.ports.repositories import AuditRepository, UserRepository
from bot.services.ports.system import Clock

Snapshot = Mapping[str, object] | None


async def staff_member(users: UserRepository, actor_id: int) -> User:
    actor = await users.get(actor_id)
    if actor is None or actor.blocked or not actor.is_staff:
        raise PermissionDenied("staff role required")
    return actor


async def staff_for_complex(users: UserRepository, actor_id: int, complex_code: str) -> User:
    """The staff member, if the complex is theirs (managers) or they manage all complexes."""
    actor = await staff_member(users, actor_id)
    if not actor.can_manage_complex(complex_code):
        raise PermissionDenied("complex outside the staff member's scope")
    return actor


async def catalog_admin(users: UserRepository, actor_id: int) -> User:
    """Admins and super admins: they create and hide catalog entries."""
    actor = await staff_member(users, actor_id)
    if not actor.manages_all_complexes:
        raise PermissionDenied("creating and hiding catalog entries is for admins")
    return actor


class StaffAudit:
    """Writes who did what to which object, before → after, and when."""

    def __init__(self, audit: AuditRepository, clock: Clock) -> None:
        self._audit = audit
        self._clock = clock

    async def record(
        self,
        actor_id: int | None,
        action: str,
        kind: str,
        target: str,
        *,
        before: Snapshot,
        after: Snapshot,
        **details: object,
    ) -> None:
        """``actor_id=None`` is the operator CLI (trusted shell), recorded as actor 0."""
        await self._audit.record(
            AuditEntry(
                new_id(),
                actor_id or 0,
                action,
                kind,
                target,
                self._clock.now(),
                {
                    "before": dict(before) if before is not None else None,
                    "after": dict(after) if after is not None else None,
                    **details,
                },
            )
        )

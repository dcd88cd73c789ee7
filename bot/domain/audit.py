"""An audit record of every staff action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AuditEntry:
    id: str
    actor_id: int
    action: str
    target_type: str
    target_id: str
    at: datetime
    details: Mapping[str, object] = field(default_factory=dict)
    # Who acted when it was not a staff member in the bot: the operator's OS login for the
    # commands of ``admin_tools`` (actor 0); None for staff, who are named by their id.
    actor_name: str | None = None

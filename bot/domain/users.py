"""Users of the bot: residents and staff, their roles and what staff may act on."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from bot.domain.errors import ValidationFailed

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 64
DELETED_NAME = "—"


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    MANAGER = "manager"


@dataclass(frozen=True)
class NotificationPreferences:
    reminders: bool = True
    application_updates: bool = True
    broadcasts: bool = True


@dataclass(frozen=True)
class User:
    telegram_id: int
    name: str | None = None
    phone: str | None = None
    language: str = "ru"
    consent_at: datetime | None = None
    registered_at: datetime | None = None
    blocked: bool = False
    unreachable: bool = False
    role: Role | None = None
    managed_complexes: frozenset[str] = field(default_factory=frozenset)
    notifications: NotificationPreferences = field(default_factory=NotificationPreferences)
    deleted_at: datetime | None = None
    # When /start first asked this person's name (cleared with their data): registration's
    # progress is then in this record, not only in the dialog state, which a Redis failover can
    # lose (bot.telegram.dialog.resumed).
    registration_started_at: datetime | None = None

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None and self.deleted_at is None

    @property
    def is_registering(self) -> bool:
        """Asked to register by /start and not registered since."""
        return self.registration_started_at is not None and not self.is_registered

    @property
    def is_staff(self) -> bool:
        return self.role is not None

    @property
    def manages_all_complexes(self) -> bool:
        return self.role in (Role.SUPER_ADMIN, Role.ADMIN)

    def can_manage_complex(self, complex_code: str) -> bool:
        if self.manages_all_complexes:
            return True
        return self.role is Role.MANAGER and complex_code in self.managed_complexes

    def can_manage_roles(self) -> bool:
        return self.role is Role.SUPER_ADMIN

    def erased(self, at: datetime) -> User:
        """Personal data removed; the record stays so history can point at an anonymous person."""
        return replace(
            self,
            name=None,
            phone=None,
            consent_at=None,
            registered_at=None,
            role=None,
            managed_complexes=frozenset(),
            deleted_at=at,
            registration_started_at=None,
        )


def validate_name(raw: str) -> str:
    """Trim, collapse whitespace, refuse control characters and commands, bound the length."""
    name = " ".join(raw.split())
    if name.startswith("/"):
        raise ValidationFailed("name", "command")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValidationFailed("name", "characters")
    if len(name) < NAME_MIN_LENGTH:
        raise ValidationFailed("name", "too_short")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed("name", "too_long")
    return name

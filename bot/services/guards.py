"""Checks every resident action makes before it touches anything."""

from __future__ import annotations

from bot.domain.errors import ConsentRequired, PhoneRequired, UserBlocked
from bot.domain.users import User


def require_active_resident(user: User | None, *, need_phone: bool = False) -> User:
    if user is None or not user.is_registered or user.consent_at is None:
        raise ConsentRequired("registration required")
    if user.blocked:
        raise UserBlocked()
    if need_phone and not user.phone:
        raise PhoneRequired()
    return user

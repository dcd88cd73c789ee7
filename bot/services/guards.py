"""Checks every resident action makes before it touches anything."""

from __future__ import annotations

from bot.domain.errors import ConsentRequired, PhoneRequired, UserBlocked
from bot.domain.users import User
from bot.services.ports.repositories import UserRepository

# Who acts: the user record the caller already read (the bot's gate reads it once per update),
# or a Telegram id for callers that have none (workers, the back office, tests).
Actor = User | int


def require_active_resident(user: User | None, *, need_phone: bool = False) -> User:
    if user is None or not user.is_registered or user.consent_at is None:
        raise ConsentRequired("registration required")
    if user.blocked:
        raise UserBlocked()
    if need_phone and not user.phone:
        raise PhoneRequired()
    return user


async def actor_record(users: UserRepository, actor: Actor) -> User | None:
    """The acting user's record: the one passed in, or read by id (None when there is none)."""
    return actor if isinstance(actor, User) else await users.get(actor)


async def active_resident(users: UserRepository, actor: Actor, *, need_phone: bool = False) -> User:
    """The acting user, refused unless registered with consent, not blocked (and with a phone)."""
    return require_active_resident(await actor_record(users, actor), need_phone=need_phone)

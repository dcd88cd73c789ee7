"""Fixtures of the staff handler tests: people with a role, stored directly."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.users import Role
from tests.handlers.harness import BotHarness, Person


async def make_staff(
    harness: BotHarness,
    name: str,
    role: Role,
    complexes: frozenset[str] = frozenset(),
    *,
    language: str = "ru",
) -> Person:
    """A registered person holding ``role`` (a manager over ``complexes``)."""
    person = await harness.resident(name, language=language)
    stored = await harness.storage.users.get(person.id)
    assert stored is not None
    await harness.storage.users.save(replace(stored, role=role, managed_complexes=complexes))
    return person

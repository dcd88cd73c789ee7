"""The staff e2e tests use the journeys' helpers: a person in the emulator, and the back office
(services over the stack's database, and the workers' delivery through the emulator)."""

from __future__ import annotations

from tests.e2e.journeys.conftest import back_office

__all__ = ["back_office"]

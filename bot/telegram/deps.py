"""What handlers may use: services and ephemeral-state ports, nothing that talks to a driver.

The composition root builds one ``BotDeps`` per process and stores it in the PTB application's
``bot_data`` under ``DEPS_KEY``; handlers read it with ``deps(context)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.applications import ApplicationService
from bot.services.bookings import BookingService
from bot.services.catalog import CatalogService
from bot.services.ports.ephemeral import DialogStateStore, FloodLimiter
from bot.services.ports.system import CalendarRenderer, Clock
from bot.services.schedule import ScheduleService
from bot.services.users import UserService

DEPS_KEY = "fok_deps"


@dataclass(frozen=True)
class BotDeps:
    users: UserService
    catalog: CatalogService
    applications: ApplicationService
    schedule: ScheduleService
    bookings: BookingService
    calendar: CalendarRenderer
    dialogs: DialogStateStore
    flood: FloodLimiter
    clock: Clock


def deps(context: Any) -> BotDeps:
    """The process's dependencies from a PTB ``CallbackContext``."""
    found = context.application.bot_data[DEPS_KEY]
    if not isinstance(found, BotDeps):
        raise TypeError("bot_data holds no BotDeps: the application was not built by bootstrap")
    return found

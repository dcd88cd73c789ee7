"""What the services report having done, for counters on dashboards (never for decisions).

A service calls these after a change has been stored. Only ``bot.infra.metrics`` implements them
with metrics; tests and processes that count nothing use ``NO_EVENTS``. An update re-run after a
crash may report twice: these are rates, MongoDB holds the exact figures.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.applications import ApplicationStatus


class BusinessEvents(Protocol):
    def registered(self) -> None: ...

    def application(self, status: ApplicationStatus) -> None:
        """An application was submitted or moved to ``status``."""
        ...

    def booking(self, result: str) -> None:
        """``active``, ``waitlisted`` (new), ``existing`` (a repeat) or ``cancelled``."""
        ...

    def waitlist_offer(self, result: str, count: int = 1) -> None:
        """``offered``, ``accepted``, ``declined`` or ``expired``."""
        ...

    def reminder(self, result: str) -> None:
        """``sent`` or ``failed``."""
        ...

    def reminders_overdue(self, count: int) -> None: ...


class NoEvents:
    def registered(self) -> None:
        pass

    def application(self, status: ApplicationStatus) -> None:
        pass

    def booking(self, result: str) -> None:
        pass

    def waitlist_offer(self, result: str, count: int = 1) -> None:
        pass

    def reminder(self, result: str) -> None:
        pass

    def reminders_overdue(self, count: int) -> None:
        pass


NO_EVENTS: BusinessEvents = NoEvents()

"""An .ics file for a booked session (RFC 5545, via the icalendar library)."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from bot.domain.catalog import Complex
from bot.domain.sessions import Session


class IcsCalendarRenderer:
    def __init__(self, product_id: str = "-//FOK Bot//RU") -> None:
        self._product_id = product_id

    def render_booking(self, session: Session, complex_: Complex, language: str) -> bytes:
        calendar = icalendar.Calendar()
        calendar.add("prodid", self._product_id)
        calendar.add("version", "2.0")
        event = icalendar.Event()
        event.add("uid", f"{session.id}@fok-bot")
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        title = session.title.get(language) or complex_.name.get(language)
        event.add("summary", title)
        event.add("location", f"{complex_.name.get(language)}, {complex_.address.get(language)}")
        if complex_.location is not None:
            event.add("geo", (complex_.location.lat, complex_.location.lon))
        calendar.add_component(event)
        return bytes(calendar.to_ical())

"""Renderers shared by the bot's replies and the workers' notices (``notifications``), so that a
notice never imports a handler module to word what a handler shows."""

from __future__ import annotations

from bot.domain.catalog import Complex
from bot.domain.sessions import Session
from bot.telegram.context import View
from bot.telegram.naming import sport_name
from bot.telegram.texts import Markup, format_when, m


async def session_block(context: View, session: Session, complex_: Complex) -> Markup:
    """The lines that identify a session wherever it is shown (card, booking, offer, reminder)."""
    language = context.language
    sport = await sport_name(context, session.sport_code)
    title = session.title.get(language) or sport
    details = m(
        language,
        "session.details",
        complex=complex_.name.get(language),
        address=complex_.address.get(language),
        sport=sport,
        when=format_when(session.starts_at, complex_.timezone, language),
        timezone=complex_.timezone,
    )
    return m(language, "session.block", title=title, details=details)

"""Builds the PTB application the web tier feeds updates into (no updater, no persistence).

Routing: a gate in group -1 (flood control, the sender's record, blocked users), then one handler
per feature in group 0. No ConversationHandler and no ``arbitrary_callback_data``: dialog state is
in Redis and callback data is the codec's compact string (design §4 rule 1).
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.domain.i18n import SUPPORTED_LANGUAGES
from bot.services.container import Services
from bot.telegram import (
    applications,
    catalog,
    fallback,
    help,
    inputs,
    menu,
    profile,
    sessions,
    start,
)
from bot.telegram.callbacks import pattern
from bot.telegram.context import SERVICES_KEY, FokContext
from bot.telegram.gate import gate
from bot.telegram.screens import ButtonHandler, buttons, refuse
from bot.telegram.texts import pick_text_language, t

log = logging.getLogger(__name__)

GATE_GROUP = -1

BOT_COMMANDS: dict[str, tuple[BotCommand, ...]] = {
    language: tuple(
        BotCommand(command, t(language, f"command.{command}"))
        for command in ("start", "menu", "help")
    )
    for language in SUPPORTED_LANGUAGES
}


async def publish_commands(bot: Bot) -> None:
    """setMyCommands: Russian for everyone, English for English-speaking clients (deploy time)."""
    await bot.set_my_commands(list(BOT_COMMANDS["ru"]))
    await bot.set_my_commands(list(BOT_COMMANDS["en"]), language_code="en")


def build_application(services: Services, bot: Bot) -> Application:  # type: ignore[type-arg]
    application = (
        Application.builder()
        .bot(bot)
        .updater(None)
        .context_types(ContextTypes(context=FokContext))
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)

    application.add_handler(CommandHandler("start", start.start_command))
    application.add_handler(CommandHandler("menu", menu.menu_command))
    application.add_handler(CommandHandler("help", help.help_command))

    feature_buttons: dict[str, dict[str, ButtonHandler]] = {
        "rg": {"y": start.consent_given, "n": start.consent_refused},
        "mn": {"h": menu.menu_button},
        "hp": {"h": help.help_button},
        "ct": catalog.ROUTES,
        "ap": applications.ROUTES,
        "ss": sessions.ROUTES,
        "pf": profile.ROUTES,
    }
    for feature, routes in feature_buttons.items():
        application.add_handler(CallbackQueryHandler(buttons(routes), pattern=pattern(feature)))
    application.add_handler(CallbackQueryHandler(fallback.outdated_button))

    application.add_handler(MessageHandler(filters.CONTACT, inputs.on_contact))
    application.add_handler(MessageHandler(filters.LOCATION, inputs.on_location))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, inputs.on_text))
    application.add_handler(MessageHandler(filters.ALL, fallback.unknown_input))

    application.add_error_handler(on_error)
    return application


async def on_error(update: object, context: FokContext) -> None:
    """An apology to the user for a permanent failure (already logged by the pipeline).

    The web tier's pipeline classifies every error first and keeps transient ones from reaching
    this handler: those are answered 5xx and Telegram delivers the update again.
    """
    if context.error is None or not isinstance(update, Update) or update.effective_user is None:
        return
    language = pick_text_language(update.effective_user.language_code)
    try:
        await refuse(update, context, t(language, "refuse.internal"))
    except Exception:  # the apology itself failed: the pipeline's log already has the cause
        log.warning("could not tell the user about an internal error", exc_info=True)

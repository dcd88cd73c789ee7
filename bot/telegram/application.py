"""Builds the PTB application the web tier feeds updates into (no updater, no persistence).

Routing: a gate in group -1 (flood control, the sender's record, blocked users), then one handler
per feature in group 0. No ConversationHandler and no ``arbitrary_callback_data``: dialog state is
in Redis and callback data is the codec's compact string (design §4 rule 1). The features' routes
(their ``ROUTES``: a handler per declared action, the dialog steps they own) are checked by the
:class:`~bot.telegram.routing.Router` built here, so a missing or colliding route fails the start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
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
    membership,
    menu,
    profile,
    sessions,
    start,
)
from bot.telegram.callbacks import pattern
from bot.telegram.context import SERVICES_KEY, FokContext
from bot.telegram.gate import gate
from bot.telegram.routing import Router, Routes
from bot.telegram.screens import refuse
from bot.telegram.staff import applications as staff_applications
from bot.telegram.staff import audit as staff_audit
from bot.telegram.staff import broadcasts as staff_broadcasts
from bot.telegram.staff import catalog as staff_catalog
from bot.telegram.staff import exports as staff_exports
from bot.telegram.staff import hub as staff_hub
from bot.telegram.staff import sessions as staff_sessions
from bot.telegram.staff import stats as staff_stats
from bot.telegram.staff import users as staff_users
from bot.telegram.staff import weekly_report as staff_weekly_report
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


def feature_routes() -> tuple[Routes, ...]:
    """Every feature's routes, read when the application is built."""
    return (
        start.ROUTES,
        menu.ROUTES,
        help.ROUTES,
        catalog.ROUTES,
        applications.ROUTES,
        sessions.ROUTES,
        profile.ROUTES,
        # staff (bot/telegram/staff/)
        staff_hub.ROUTES,
        staff_sessions.ROUTES,
        staff_catalog.ROUTES,
        staff_applications.ROUTES,
        staff_users.ROUTES,
        staff_audit.ROUTES,
        staff_broadcasts.ROUTES,
        staff_weekly_report.ROUTES,
        staff_stats.ROUTES,
        staff_exports.ROUTES,
    )


def build_application(
    services: Services, bot: Bot, *, features: Sequence[Routes] | None = None
) -> Application:  # type: ignore[type-arg]
    """The PTB application; raises RoutingError when the features' routes do not add up."""
    router = Router(feature_routes() if features is None else features)
    application = (
        Application.builder()
        .bot(bot)
        .updater(None)
        .context_types(ContextTypes(context=FokContext))
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    application.add_handler(
        ChatMemberHandler(membership.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        group=membership.MEMBERSHIP_GROUP,
    )
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)

    application.add_handler(CommandHandler("start", start.start_command))
    application.add_handler(CommandHandler("menu", menu.menu_command))
    application.add_handler(CommandHandler("help", help.help_command))
    application.add_handler(CommandHandler("admin", staff_hub.admin_command))

    for actions in router.features:
        application.add_handler(
            CallbackQueryHandler(router.buttons(actions), pattern=pattern(actions.token))
        )
    application.add_handler(CallbackQueryHandler(fallback.outdated_button))

    received = inputs.handlers(router)
    application.add_handler(MessageHandler(filters.CONTACT, received.on_contact))
    application.add_handler(MessageHandler(filters.LOCATION, received.on_location))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, received.on_text))
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

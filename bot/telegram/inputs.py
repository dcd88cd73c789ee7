"""Typed text, shared contacts and locations: what they mean depends on the dialog step.

The step is read from Redis on every update (never from process memory), so consecutive messages
of one user may be handled by different bot instances. Which feature takes an input at a step is
the router's (each feature's ``ROUTES`` claims its steps, see ``bot.telegram.routing.Step``); what
no feature takes gets the fallback answer, and «Отмена» typed at a cancellable step leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog, fallback, keyboards
from bot.telegram.context import FokContext
from bot.telegram.menu import main_menu_screen
from bot.telegram.routing import Router
from bot.telegram.screens import Handler, Screen, chat_id, guarded, send, user_id
from bot.telegram.texts import is_button_text, t


@dataclass(frozen=True)
class Inputs:
    """The PTB callbacks for typed text, shared contacts and shared locations."""

    on_text: Handler
    on_contact: Handler
    on_location: Handler


def handlers(router: Router) -> Inputs:
    async def on_text(update: Update, context: FokContext) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        text = message.text
        state = await _current_state(update, context)
        if router.cancellable(state.step) and is_button_text(text, "button.cancel_input"):
            context.route = "inputs.cancel"
            await _cancel(update, context)
            return
        route = router.text(state.step)
        if route is None:
            context.route = "inputs.unknown"
            await fallback.unknown_input(update, context)
            return
        context.route = route.label
        await route.handler(update, context, text, state)

    async def on_contact(update: Update, context: FokContext) -> None:
        state = await _current_state(update, context)
        route = router.contact(state.step)
        if route is None:
            context.route = "inputs.unknown"
            await fallback.unknown_input(update, context)
            return
        context.route = route.label
        await route.handler(update, context, state)

    async def on_location(update: Update, context: FokContext) -> None:
        state = await _current_state(update, context)
        route = router.location(state.step)
        if route is None:
            context.route = "inputs.unknown"
            await fallback.unknown_input(update, context)
            return
        context.route = route.label
        await route.handler(update, context, state)

    return Inputs(guarded(on_text), guarded(on_contact), guarded(on_location))


async def _current_state(update: Update, context: FokContext) -> DialogState:
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    return dialog.resumed(state, context.resident)


async def _cancel(update: Update, context: FokContext) -> None:
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    language = context.language
    await send(
        update,
        context,
        Screen(
            t(language, "apply.input_cancelled")
            + "\n\n"
            + main_menu_screen(context, context.resident).text,
            keyboards.remove_reply_keyboard(),
        ),
    )

"""The PTB baseline: one python-telegram-bot process with PTB's own ``run_webhook``.

``python -m bench.ptb_app --port P --sink-url URL --token T --secret S [--tuned]``. One handler
answers every update as our bot would shape the answer — a typed message gets a new message, a
pressed button an edit of its message and an answered callback — carrying the universal keyboard,
with no storage at all: what is left is PTB's webhook server (tornado), its update queue and its
Bot API client. Untuned is ``ApplicationBuilder`` as it comes (updates processed one at a time,
its default connection pool); tuned processes ``max_connections`` updates concurrently and sizes
the pool to match. ``GET /ready`` is added to PTB's tornado app for HAProxy's health check.

``run_webhook`` needs tornado (PTB's ``webhooks`` extra), which the locked environment does not
carry. Without it the process serves PTB's documented custom-webhook pattern instead
(``examples/customwebhookbot``: Starlette under uvicorn putting each update on the
application's ``update_queue``, answered 200 at once, processed by PTB as ``run_webhook`` would);
the report names which one ran (``server`` in the log's first line).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import importlib.util
import json
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bench.journeys import universal_keyboard

MARKUP = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
        for row in universal_keyboard()["inline_keyboard"]
    ]
)


def _run_webhook(application: Application, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    """PTB's own ``run_webhook`` (tornado), with ``/ready`` added to its tornado app."""
    import tornado.web  # type: ignore[import-not-found, unused-ignore]
    from telegram.ext import _updater as ptb_updater
    from telegram.ext._utils.webhookhandler import WebhookAppClass

    class Ready(tornado.web.RequestHandler):  # type: ignore[misc, unused-ignore]
        def get(self) -> None:
            self.write("ready")

    class AppWithReady(WebhookAppClass):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.add_handlers(r".*", [(r"/ready", Ready)])

    vars(ptb_updater)["WebhookAppClass"] = AppWithReady
    application.run_webhook(
        listen="127.0.0.1",
        port=args.port,
        url_path=args.path.lstrip("/"),
        secret_token=args.secret,
        webhook_url=f"https://localhost{args.path}",
        max_connections=args.max_connections,
        close_loop=False,
    )


async def _custom_webhook(application: Application, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    """PTB's custom-webhook example: Starlette + uvicorn feeding ``update_queue``."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    secret = args.secret.encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        if not hmac.compare_digest(given, secret):
            return Response(status_code=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return Response()

    async def ready(_: Request) -> Response:
        return PlainTextResponse("ready")

    web = Starlette(routes=[Route(args.path, webhook, methods=["POST"]), Route("/ready", ready)])
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")
    )
    async with application:
        await application.start()
        await server.serve()
        await application.stop()


async def answer(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is not None:
            await context.bot.edit_message_text(
                "ok",
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                reply_markup=MARKUP,
            )
        await query.answer()
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, "ok", reply_markup=MARKUP)


def build(token: str, sink_url: str, *, tuned: bool, max_connections: int) -> Application:  # type: ignore[type-arg]
    builder = ApplicationBuilder().token(token).base_url(f"{sink_url}/bot")
    if tuned:
        builder = builder.concurrent_updates(max_connections).connection_pool_size(max_connections)
    application = builder.build()
    application.add_handler(TypeHandler(Update, answer))
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--path", default="/telegram/webhook")
    parser.add_argument("--tuned", action="store_true")
    parser.add_argument("--max-connections", type=int, default=40)
    args = parser.parse_args()
    application = build(
        args.token, args.sink_url, tuned=args.tuned, max_connections=args.max_connections
    )
    server = "run_webhook" if importlib.util.find_spec("tornado") else "custom_webhook"
    print(json.dumps({"server": server, "tuned": args.tuned}), flush=True)
    if server == "run_webhook":
        _run_webhook(application, args)
    else:
        asyncio.run(_custom_webhook(application, args))


if __name__ == "__main__":
    main()

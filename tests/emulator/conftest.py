"""Fixtures: an in-process emulator on a free port, and HTTPS webhook receivers it can call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from telegram_emulator import EmulatorConfig, EmulatorServer, ManualClock
from telegram_emulator.client import EmulatorClient

TOKEN = "123456:TEST-emulator-token"
OTHER_TOKEN = "654321:OTHER-emulator-token"

EmulatorFactory = Callable[..., contextlib.AbstractAsyncContextManager[EmulatorServer]]


@pytest.fixture
def make_emulator() -> EmulatorFactory:
    """`async with make_emulator(clock=..., **config) as server:`; stops on exit."""

    @contextlib.asynccontextmanager
    async def factory(
        clock: ManualClock | None = None, **overrides: Any
    ) -> AsyncIterator[EmulatorServer]:
        settings: dict[str, Any] = {"tokens": (TOKEN,)}
        settings.update(overrides)
        async with EmulatorServer(EmulatorConfig(**settings), clock=clock) as server:
            yield server

    return factory


@pytest.fixture
async def emulator(make_emulator: EmulatorFactory) -> AsyncIterator[EmulatorServer]:
    async with make_emulator() as server:
        yield server


@pytest.fixture
async def client(emulator: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emulator.base_url, TOKEN) as emulator_client:
        yield emulator_client


class BotApiCaller:
    """Raw Bot API calls over HTTP, returning Telegram's JSON body as-is."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str = TOKEN) -> None:
        self.http = http
        self.base_url = base_url
        self.token = token

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.base_url}/bot{self.token}/{method}", json=params)
        body: dict[str, Any] = response.json()
        assert ("error_code" in body and body["error_code"] == response.status_code) or (
            body["ok"] and response.status_code == 200
        )
        return body


@pytest.fixture
async def bot_api(emulator: EmulatorServer) -> AsyncIterator[BotApiCaller]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield BotApiCaller(http, emulator.base_url)


@dataclass
class TlsFiles:
    ca_file: str
    cert_file: str
    key_file: str


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    directory: Path = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(
        str(directory / "ca.pem"), str(directory / "cert.pem"), str(directory / "key.pem")
    )
    authority.cert_pem.write_to_path(files.ca_file)
    certificate.private_key_pem.write_to_path(files.key_file)
    for index, blob in enumerate(certificate.cert_chain_pems):
        blob.write_to_path(files.cert_file, append=index > 0)
    return files


@dataclass
class ReceivedUpdate:
    update: dict[str, Any]
    headers: dict[str, str]
    started_at: float
    finished_at: float = 0.0


WebhookBehaviour = Callable[[dict[str, Any], int], Awaitable[Response | None]]


@dataclass
class WebhookReceiver:
    """A real HTTPS endpoint; `behaviour(update, attempt)` may return a response to override 200."""

    url: str = ""
    received: list[ReceivedUpdate] = field(default_factory=list)
    attempts: dict[int, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    behaviour: WebhookBehaviour | None = None

    def successful_update_ids(self) -> list[int]:
        return [item.update["update_id"] for item in self.received if item.finished_at]

    async def handle(self, request: Request) -> Response:
        update = json.loads(await request.body())
        update_id = update["update_id"]
        self.attempts[update_id] = self.attempts.get(update_id, 0) + 1
        record = ReceivedUpdate(update, dict(request.headers), time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.behaviour is not None:
                override = await self.behaviour(update, self.attempts[update_id])
                if override is not None:
                    return override
            record.finished_at = time.monotonic()
            self.received.append(record)
            return JSONResponse({})
        finally:
            self.in_flight -= 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_https(app: Starlette, tls: TlsFiles) -> AsyncIterator[int]:
    # IPPROTO_TCP so asyncio sets TCP_NODELAY (else keep-alive requests stall ~40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            ssl_certfile=tls.cert_file,
            ssl_keyfile=tls.key_file,
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        assert not task.done(), "webhook receiver failed to start"
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def webhook_receiver(tls_files: TlsFiles) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    async with serve_https(app, tls_files) as port:
        receiver.url = f"https://127.0.0.1:{port}/hook"
        yield receiver


@contextlib.asynccontextmanager
async def running_ptb_bot(emulator_base_url: str) -> AsyncIterator[None]:
    """A tiny python-telegram-bot Application polling the emulator: /start gets an inline
    button; pressing it answers the query and edits the message. Stopped on exit."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert update.effective_user is not None
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Записаться", callback_data="book:1")]]
        )
        await update.effective_message.reply_text(
            f"Здравствуйте, <b>{update.effective_user.first_name}</b>!",
            parse_mode="HTML",
            reply_markup=keyboard,
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Вы записаны")
        await query.edit_message_text(f"Запись подтверждена ({query.data})")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Эхо: {update.effective_message.text}")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{emulator_base_url}/bot")
        .base_file_url(f"{emulator_base_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        try:
            yield
        finally:
            await application.updater.stop()
            await application.stop()


@contextlib.asynccontextmanager
async def connected(server: EmulatorServer) -> AsyncIterator[tuple[EmulatorClient, BotApiCaller]]:
    """The client API and raw Bot API of one running emulator (for the default bot)."""
    async with (
        EmulatorClient(server.base_url, TOKEN) as client,
        httpx.AsyncClient(timeout=30) as http,
    ):
        yield client, BotApiCaller(http, server.base_url)

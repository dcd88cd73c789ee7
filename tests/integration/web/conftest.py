"""The web tier served in-process by uvicorn against real SecantusDB, Redis Cluster, broker and
the Telegram emulator, with a small probe PTB application instead of the product's handlers.

The probe application lets each test drive a handler into a known behaviour (reply, block until
released, fail transiently), so status codes, de-duplication and the in-flight bound can be
checked exactly. The product's own handlers are covered by ``tests/e2e``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis.exceptions
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.services.container import Services
from bot.settings import (
    AppSettings,
    CelerySettings,
    LimitSettings,
    MongoSettings,
    RedisSettings,
    Settings,
    TelegramSettings,
    WebSettings,
)
from bot.web.app import create_app
from bot.web.pipeline import UpdatePipeline, open_pipeline
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from telegram_emulator.client import EmulatorClient
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class ProbeControls:
    """Shared between a test and the probe handlers (same process, same event loop)."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    entered: int = 0
    entered_changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    transient_failures_left: int = 0
    handled_update_ids: list[int] = field(default_factory=list)

    async def note_entered(self) -> None:
        async with self.entered_changed:
            self.entered += 1
            self.entered_changed.notify_all()

    async def wait_entered(self, count: int) -> None:
        async with asyncio.timeout(10), self.entered_changed:
            await self.entered_changed.wait_for(lambda: self.entered >= count)


def probe_application_factory(controls: ProbeControls) -> Any:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        assert update.effective_message is not None
        controls.handled_update_ids.append(update.update_id)
        await context.bot.send_message(
            update.effective_chat.id, f"echo: {update.effective_message.text}"
        )

    async def slow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await controls.note_entered()
        await controls.gate.wait()
        controls.handled_update_ids.append(update.update_id)
        await context.bot.send_message(update.effective_chat.id, "slow done")

    async def flaky(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        if controls.transient_failures_left > 0:
            controls.transient_failures_left -= 1
            raise redis.exceptions.ConnectionError("simulated Redis outage")
        controls.handled_update_ids.append(update.update_id)
        await context.bot.send_message(update.effective_chat.id, "flaky done")

    async def mongo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # One MongoDB read, as the gate's: slow when the test stalls the database.
        assert update.effective_chat is not None
        assert update.effective_user is not None
        await services.users.get(update.effective_user.id)
        controls.handled_update_ids.append(update.update_id)
        await context.bot.send_message(update.effective_chat.id, "mongo done")

    async def notify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Like a staff action that messages another person: the target may have blocked the bot.
        target = int((context.args or ["0"])[0])
        controls.handled_update_ids.append(update.update_id)
        await context.bot.send_message(target, "уведомление")

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # A button press: answered (twice for "twice"), then a message; transient failures
        # after the answer, as a press whose database went away mid-way.
        query = update.callback_query
        assert query is not None
        assert query.from_user is not None
        await query.answer(f"нажато: {query.data}")
        if query.data == "twice":
            await query.answer("второй ответ")
        if controls.transient_failures_left > 0:
            controls.transient_failures_left -= 1
            raise redis.exceptions.ConnectionError("simulated Redis outage")
        controls.handled_update_ids.append(update.update_id)
        await context.bot.send_message(query.from_user.id, f"pressed {query.data}")

    services: Services

    def build(built: Services, bot: Bot) -> Application[Any, Any, Any, Any, Any, Any]:
        nonlocal services
        services = built
        application = Application.builder().bot(bot).updater(None).build()
        application.add_handler(CommandHandler("slow", slow))
        application.add_handler(CommandHandler("flaky", flaky))
        application.add_handler(CommandHandler("notify", notify))
        application.add_handler(CommandHandler("mongo", mongo))
        application.add_handler(MessageHandler(filters.TEXT, echo))
        application.add_handler(CallbackQueryHandler(press))
        return application

    return build


@dataclass
class WebHarness:
    base_url: str
    webhook_url: str
    secret: str
    settings: Settings
    emulator: EmulatorServer
    client: EmulatorClient
    controls: ProbeControls
    http: httpx.AsyncClient
    runtime_ref: list[UpdatePipeline]
    served: InProcessServer
    mongo_proxy: StallingProxy | None = None

    @property
    def runtime(self) -> UpdatePipeline:
        return self.runtime_ref[0]

    async def post(
        self, body: bytes | dict[str, Any], *, secret: str | None = "", **headers: str
    ) -> httpx.Response:
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        sent_headers = {"Content-Type": "application/json", **headers}
        if secret is not None:
            sent_headers[SECRET_HEADER] = secret or self.secret
        return await self.http.post(self.webhook_url, content=content, headers=sent_headers)

    async def bot_texts(self, chat_id: int) -> list[str]:
        return [m.get("text", "") for m in await self.client.bot_messages(chat_id)]

    async def metrics_text(self) -> str:
        response = await self.http.get(f"{self.base_url}/metrics")
        response.raise_for_status()
        return response.text

    async def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` carrying ``labels`` (0 when none).

        In-process metrics are global to the test run, so tests compare before and after.
        """
        wanted = set(labels.items())
        total = 0.0
        for family in text_string_to_metric_families(await self.metrics_text()):
            for sample in family.samples:
                if sample.name == name and wanted <= set(sample.labels.items()):
                    total += sample.value
        return total


def make_settings(
    *,
    token: str,
    secret: str,
    api_base_url: str,
    mongo_url: str,
    mongo_db: str,
    redis_nodes: list[tuple[str, int]],
    broker_url: str,
    max_inflight: int = 48,
    max_body_bytes: int = 64 * 1024,
) -> Settings:
    return Settings(
        telegram=TelegramSettings(
            bot_token=token,  # type: ignore[arg-type]
            webhook_secret=secret,  # type: ignore[arg-type]
            api_base_url=api_base_url,  # type: ignore[arg-type]
            webhook_path=WEBHOOK_PATH,
        ),
        mongo=MongoSettings(url=mongo_url, database=mongo_db),  # type: ignore[arg-type]
        redis=RedisSettings(cluster_nodes=redis_nodes),
        celery=CelerySettings(broker_url=broker_url),  # type: ignore[arg-type]
        limits=LimitSettings(max_inflight_updates=max_inflight),
        web=WebSettings(instance_id="web-test", max_body_bytes=max_body_bytes, drain_seconds=5),
        app=AppSettings(log_json=False),
    )


def new_token() -> str:
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"


def callback_query_update(update_id: int, user: dict[str, Any], data: str) -> dict[str, Any]:
    sender = {"id": user["id"], "is_bot": False, "first_name": user["first_name"]}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": sender,
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
                "from": {"id": 1, "is_bot": True, "first_name": "FOK"},
                "text": "меню",
            },
        },
    }


def private_message_update(update_id: int, user: dict[str, Any], text: str) -> dict[str, Any]:
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if text.startswith("/")
        else []
    )
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": {"id": user["id"], "is_bot": False, "first_name": user["first_name"]},
            "text": text,
            "entities": entities,
        },
    }


@dataclass
class InProcessServer:
    """uvicorn serving the app in this event loop; ``shutdown()`` is what SIGTERM triggers."""

    base_url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def shutdown(self) -> None:
        self.server.should_exit = True
        await self.task


@contextlib.asynccontextmanager
async def serve_in_process(app: Any) -> AsyncIterator[InProcessServer]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("the web app stopped during start-up")
                await asyncio.sleep(0.02)
        yield InProcessServer(f"http://127.0.0.1:{port}", server, task)
    finally:
        server.should_exit = True
        await task
        listener.close()


@dataclass(frozen=True)
class WebOptions:
    max_inflight: int = 48
    broker_url: str | None = None  # None: the session's broker
    # MongoDB through a proxy the test can stall (``web.mongo_proxy``), with this operation
    # timeout (MONGO_OPERATION_TIMEOUT_MS).
    stallable_mongo: bool = False
    mongo_operation_timeout_ms: int = 4000
    internal_networks: str | None = None  # WEB_INTERNAL_NETWORKS; None: the default
    answer_in_response: bool = True  # WEB_ANSWER_IN_RESPONSE


class StallingProxy:
    """A TCP proxy in front of MongoDB whose answers can be held back (a database gone slow)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.flowing.set()
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [writer, up_writer]
        for task in (
            asyncio.create_task(self._pump(reader, up_writer, held=False)),
            asyncio.create_task(self._pump(up_reader, writer, held=True)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, held: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(65536):
                if held:
                    await self.flowing.wait()
                sink.write(chunk)
                await sink.drain()
        sink.close()


@pytest.fixture
async def web(
    request: pytest.FixtureRequest,
    mongo_url: str,
    mongo_db_name: str,
    clean_redis_cluster: RedisClusterServer,
    broker_redis: StandaloneRedisServer,
) -> AsyncIterator[WebHarness]:
    options = getattr(request, "param", None) or WebOptions()
    token = new_token()
    secret = secrets.token_urlsafe(24)
    controls = ProbeControls()
    runtime_ref: list[UpdatePipeline] = []
    config = EmulatorConfig(
        tokens=(token,),
        allow_http_webhooks=True,
        webhook_backoff_initial=0.1,
        webhook_backoff_max=0.5,
    )
    async with contextlib.AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(EmulatorServer(config))
        proxy = None
        if options.stallable_mongo:
            parts = urlsplit(mongo_url)
            assert parts.hostname is not None
            assert parts.port is not None
            proxy = await stack.enter_async_context(StallingProxy((parts.hostname, parts.port)))
            mongo_url = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
        settings = make_settings(
            token=token,
            secret=secret,
            api_base_url=emulator.base_url,
            mongo_url=mongo_url,
            mongo_db=mongo_db_name,
            redis_nodes=clean_redis_cluster.startup_nodes,
            broker_url=options.broker_url or broker_redis.url,
            max_inflight=options.max_inflight,
        )
        settings = replace(
            settings,
            mongo=MongoSettings(
                url=mongo_url,  # type: ignore[arg-type]
                database=mongo_db_name,
                operation_timeout_ms=options.mongo_operation_timeout_ms,
            ),
        )
        if not options.answer_in_response:
            settings = replace(
                settings, web=settings.web.model_copy(update={"answer_in_response": False})
            )
        if options.internal_networks is not None:
            settings = replace(
                settings,
                web=settings.web.model_copy(
                    update={
                        "internal_networks": WebSettings(
                            internal_networks=options.internal_networks  # type: ignore[arg-type]
                        ).internal_networks
                    }
                ),
            )

        @contextlib.asynccontextmanager
        async def pipeline_factory(settings: Settings) -> AsyncIterator[UpdatePipeline]:
            async with open_pipeline(
                settings, application_factory=probe_application_factory(controls)
            ) as pipeline:
                runtime_ref.append(pipeline)
                yield pipeline

        app = create_app(lambda: settings, pipeline_factory=pipeline_factory)
        async with (
            serve_in_process(app) as served,
            EmulatorClient(emulator.base_url, token) as client,
            httpx.AsyncClient(timeout=30.0) as http,
        ):
            yield WebHarness(
                base_url=served.base_url,
                webhook_url=f"{served.base_url}{WEBHOOK_PATH}",
                secret=secret,
                settings=settings,
                emulator=emulator,
                client=client,
                controls=controls,
                http=http,
                runtime_ref=runtime_ref,
                served=served,
                mongo_proxy=proxy,
            )
            controls.gate.set()  # never leave a handler blocked at teardown

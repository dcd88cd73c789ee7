"""Serve the emulator with uvicorn, in-process (tests) or as a program."""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType

import uvicorn

from telegram_emulator.clock import Clock
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.emulator import Emulator
from telegram_emulator.http_app import build_app

_STARTUP_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 30


def uvicorn_config(emulator: Emulator, **options: object) -> uvicorn.Config:
    # Idle keep-alive connections outlive the clients' own expiry (httpx: 5 s), so a client
    # never sends on a connection the server is closing at that moment: the request would be
    # lost as a ReadError (uvicorn's default is 5 s too, and a loaded CI machine met the race).
    settings: dict[str, object] = {"timeout_keep_alive": KEEP_ALIVE_SECONDS, **options}
    return uvicorn.Config(
        build_app(emulator),
        lifespan="on",
        log_level="warning",
        access_log=False,
        # Long polls (getUpdates, chat watchers) must not hold shutdown for their whole timeout.
        timeout_graceful_shutdown=2,
        **settings,  # type: ignore[arg-type]
    )


class EmulatorServer:
    """`async with EmulatorServer(config) as server:` serves on a free port at `server.base_url`."""

    def __init__(
        self, config: EmulatorConfig, *, clock: Clock | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.emulator = Emulator(config, clock)
        self._host = host
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def bot_api_base(self) -> str:
        """What python-telegram-bot takes as `base_url` (it appends the token and method)."""
        return f"{self.base_url}/bot"

    @property
    def file_base(self) -> str:
        return f"{self.base_url}/file/bot"

    async def __aenter__(self) -> EmulatorServer:
        # proto must be IPPROTO_TCP: asyncio enables TCP_NODELAY on accepted connections only then;
        # without it every keep-alive request waits ~40 ms on delayed ACKs.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind((self._host, 0))
        self.port = listener.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self.emulator))
        self._task = asyncio.create_task(self._server.serve(sockets=[listener]))
        async with asyncio.timeout(_STARTUP_TIMEOUT_SECONDS):
            while not self._server.started:
                if self._task.done():
                    await self._task
                    raise RuntimeError("the emulator stopped during start-up")
                await asyncio.sleep(0.01)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None and self._task is not None:
            self.emulator.world.begin_shutdown()
            self._server.should_exit = True
            await self._task

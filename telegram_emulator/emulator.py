"""The running emulator: world, Bot API, user actions and one webhook dispatcher per bot."""

from __future__ import annotations

from telegram_emulator.clock import Clock
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.methods import BotApi
from telegram_emulator.persistence import load_state, save_state
from telegram_emulator.user_actions import UserActions
from telegram_emulator.webhook import WebhookDispatcher
from telegram_emulator.world import World


class Emulator:
    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.world = World(config, clock)
        self.api = BotApi(self.world)
        self.actions = UserActions(self.world)
        self._dispatchers: list[WebhookDispatcher] = []

    async def start(self) -> None:
        """Begin webhook delivery; must run inside the serving event loop."""
        if self.config.state_dir:
            load_state(self.world, self.config.state_dir)
        self._dispatchers = [
            WebhookDispatcher(self.world, bot, self.api) for bot in self.world.bots.values()
        ]
        for dispatcher in self._dispatchers:
            dispatcher.start()

    async def stop(self) -> None:
        for dispatcher in self._dispatchers:
            await dispatcher.stop()
        self._dispatchers = []
        if self.config.state_dir:
            save_state(self.world, self.config.state_dir)

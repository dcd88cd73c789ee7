"""A Telegram Bot API emulator: a real HTTP server for tests, demos and benchmarks."""

from telegram_emulator.clock import Clock, ManualClock, SystemClock
from telegram_emulator.config import EmulatorConfig, PresetUser
from telegram_emulator.emulator import Emulator
from telegram_emulator.server import EmulatorServer

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "ManualClock",
    "PresetUser",
    "SystemClock",
]

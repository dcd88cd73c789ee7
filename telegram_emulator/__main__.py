"""`python -m telegram_emulator --port N --token TOKEN ...`: run the emulator as a server."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from types import FrameType

import uvicorn

from telegram_emulator.config import EmulatorConfig, PresetUser
from telegram_emulator.emulator import Emulator
from telegram_emulator.server import uvicorn_config

TOKENS_ENV = "TELEGRAM_EMULATOR_TOKENS"


class _EmulatorUvicornServer(uvicorn.Server):
    """Ends the emulator's long polls as soon as a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, emulator: Emulator) -> None:
        super().__init__(config)
        self._emulator = emulator
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._emulator.world.begin_shutdown)
        super().handle_exit(sig, frame)


def _preset_user(value: str) -> PresetUser:
    """`ID:First name[:username]`, e.g. `111:Admin:fok_admin`."""
    user_id, _, rest = value.partition(":")
    first_name, _, username = rest.partition(":")
    if not user_id.isdigit() or not first_name:
        raise argparse.ArgumentTypeError("expected ID:FirstName[:username]")
    return PresetUser(int(user_id), first_name, username or None)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m telegram_emulator", description="Telegram Bot API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help=f"bot token (repeatable); or comma-separated in ${TOKENS_ENV} to keep it off ps",
    )
    parser.add_argument(
        "--global-rate", type=float, default=30.0, help="bulk sends/s per bot (not replies)"
    )
    parser.add_argument(
        "--reply-window",
        type=float,
        default=10.0,
        help="seconds after an update from a chat during which sends there are replies",
    )
    parser.add_argument(
        "--all-sends-rate",
        type=float,
        default=None,
        help="cap on every send per bot, replies included (default: none)",
    )
    parser.add_argument(
        "--paid-broadcast-rate",
        type=float,
        default=1000.0,
        help="sends/s per bot with allow_paid_broadcast",
    )
    parser.add_argument("--chat-rate", type=float, default=1.0, help="sends/s per chat")
    parser.add_argument("--chat-burst", type=int, default=1, help="per-chat bucket size")
    parser.add_argument("--group-per-minute", type=int, default=20)
    parser.add_argument(
        "--count-edits",
        action="store_true",
        help="edits count toward the limits (like a send of the same kind)",
    )
    parser.add_argument("--webhook-ca", default=None, help="CA file for self-signed webhooks")
    parser.add_argument("--webhook-timeout", type=float, default=10.0)
    parser.add_argument("--webhook-backoff-initial", type=float, default=1.0)
    parser.add_argument("--webhook-backoff-factor", type=float, default=2.0)
    parser.add_argument("--webhook-backoff-max", type=float, default=60.0)
    parser.add_argument("--webhook-max-attempts", type=int, default=100)
    parser.add_argument(
        "--allow-http-webhooks",
        action="store_true",
        help="accept http:// webhook URLs (Telegram requires HTTPS)",
    )
    parser.add_argument(
        "--callback-timeout",
        type=float,
        default=15.0,
        help="seconds a callback query can be answered",
    )
    parser.add_argument("--state-dir", default=None, help="keep state here across restarts")
    parser.add_argument(
        "--preset-user",
        action="append",
        type=_preset_user,
        default=[],
        help="ID:FirstName[:username], e.g. a staff account (repeatable)",
    )
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    tokens = list(args.token)
    tokens += [token for token in os.environ.get(TOKENS_ENV, "").split(",") if token]
    return EmulatorConfig(
        tokens=tuple(dict.fromkeys(tokens)),
        global_rate=args.global_rate,
        reply_window_s=args.reply_window,
        all_sends_rate=args.all_sends_rate,
        paid_broadcast_rate=args.paid_broadcast_rate,
        chat_rate=args.chat_rate,
        chat_burst=args.chat_burst,
        group_per_minute=args.group_per_minute,
        count_edits_in_chat_limit=args.count_edits,
        webhook_ca_file=args.webhook_ca,
        webhook_timeout=args.webhook_timeout,
        webhook_backoff_initial=args.webhook_backoff_initial,
        webhook_backoff_factor=args.webhook_backoff_factor,
        webhook_backoff_max=args.webhook_backoff_max,
        webhook_max_attempts=args.webhook_max_attempts,
        allow_http_webhooks=args.allow_http_webhooks,
        callback_answer_timeout=args.callback_timeout,
        preset_users=tuple(args.preset_user),
        state_dir=args.state_dir,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"telegram_emulator: {error}", file=sys.stderr)
        return 2
    emulator = Emulator(config)
    bot_ids = ", ".join(token.split(":", 1)[0] for token in config.tokens)
    # Tokens are secrets: only the bot ids are printed.
    print(f"telegram_emulator: http://{args.host}:{args.port}/ bots {bot_ids}", flush=True)
    server = _EmulatorUvicornServer(
        uvicorn_config(emulator, host=args.host, port=args.port), emulator
    )
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

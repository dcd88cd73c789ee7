"""The ceiling: a do-nothing webhook receiver behind the same HAProxy.

``python -m bench.ceiling --port P --sink-port S --token T``: for every update it sends one
``sendMessage`` to the sink (with the universal keyboard, so the journeys go on) and answers 200
once the sink answered, like our bot which replies inside the webhook request. ``GET /ready`` is
200 for HAProxy's health check. What it reaches is the bound of the path itself: TLS at HAProxy,
the driver, the sink, and one Python process doing the least a receiver can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from bench.journeys import universal_keyboard
from bench.wire import Pool, Request, serve

KEYBOARD = json.dumps(universal_keyboard(), ensure_ascii=False)


def chat_of(update: dict[str, object]) -> int:
    message = update.get("message")
    if isinstance(message, dict):
        return int(message["chat"]["id"])
    query = update.get("callback_query")
    if isinstance(query, dict):
        return int(query["from"]["id"])
    raise ValueError("an update without a chat")


async def main(port: int, sink_port: int, token: str) -> None:
    sink = Pool("127.0.0.1", sink_port)
    path = f"/bot{token}/sendMessage"

    async def handle(request: Request) -> tuple[int, bytes]:
        if request.method == "GET":
            return 200, b"ready"
        chat = chat_of(json.loads(request.body))
        body = json.dumps(
            {"chat_id": chat, "text": "ok", "reply_markup": KEYBOARD}, ensure_ascii=False
        ).encode()
        await sink.request("POST", path, body, {"Content-Type": "application/json"})
        return 200, b""

    server = await serve(handle, "127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink-port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.sink_port, args.token))

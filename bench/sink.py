"""A lean Bot API sink: answers what the bots call with valid results and reports every reply.

``python -m bench.sink --api-port P --feed-port F``. Each Bot API call (``/bot<token>/<method>``)
is answered at once (sendMessage and the other sends get a Message with a fresh message id per
chat, edits get the edited Message, everything else ``true``), and one JSON line per call is
written to every connection on the feed port: when it arrived (``time.monotonic()``, which is one
clock for all processes of the machine), the method, the chat, the callback query it answers, the
message id, the text and the inline buttons. The driver reads the feed: that is how it knows that
an update was answered and what the screen now shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from bench.wire import Request, serve

SENDS = {
    "sendMessage",
    "sendVenue",
    "sendLocation",
    "sendDocument",
    "sendPhoto",
    "copyMessage",
    "forwardMessage",
}
EDITS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
_DISPOSITION = re.compile(rb'name="([^"]+)"(; filename="[^"]*")?')


def parameters(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        loaded = json.loads(request.body or b"{}")
        return loaded if isinstance(loaded, dict) else {}
    if content_type.startswith("multipart/form-data"):
        boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
        found: dict[str, Any] = {}
        for part in request.body.split(b"--" + boundary):
            head, _, value = part.partition(b"\r\n\r\n")
            match = _DISPOSITION.search(head)
            if match and not match.group(2):
                found[match.group(1).decode()] = value.rstrip(b"\r\n").decode()
        return found
    return dict(parse_qsl(request.body.decode()))


def _json_field(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def _buttons(markup: Any) -> list[list[str]] | None:
    markup = _json_field(markup)
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    return [
        [str(button.get("text", "")), str(button.get("callback_data", ""))]
        for row in markup["inline_keyboard"]
        for button in row
    ]


class Sink:
    def __init__(self) -> None:
        self.next_message_id: dict[int, int] = {}
        self.feeds: list[asyncio.StreamWriter] = []
        self.calls: Counter[str] = Counter()

    def publish(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
        for writer in list(self.feeds):
            if writer.is_closing():
                self.feeds.remove(writer)
            else:
                writer.write(line)

    async def handle(self, request: Request) -> tuple[int, bytes]:
        arrived = time.monotonic()
        method = request.path.rsplit("/", 1)[-1]
        self.calls[method] += 1
        params = parameters(request) if request.body else {}
        chat_raw = params.get("chat_id")
        chat = int(chat_raw) if chat_raw not in (None, "") else None
        result: Any = True
        message_id: int | None = None
        if method == "getMe":
            result = BOT_USER
        elif method == "getWebhookInfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        elif chat is not None and (method in SENDS or method in EDITS):
            if method in SENDS:
                message_id = self.next_message_id.get(chat, 0) + 1
                self.next_message_id[chat] = message_id
            else:
                message_id = int(params.get("message_id", 0))
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": BOT_USER,
            }
            if "text" in params:
                result["text"] = params["text"]
            markup = _json_field(params.get("reply_markup"))
            # Telegram echoes only an inline keyboard back in the Message.
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                result["reply_markup"] = markup
        if method not in ("getMe", "getWebhookInfo", "setWebhook", "deleteWebhook"):
            self.publish(
                {
                    "t": arrived,
                    "m": method,
                    "c": chat,
                    "q": params.get("callback_query_id"),
                    "id": message_id,
                    "x": params.get("text") or params.get("title") or "",
                    "b": _buttons(params.get("reply_markup")),
                    "alert": params.get("text") if method == "answerCallbackQuery" else None,
                }
            )
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()

    async def feed(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.feeds.append(writer)
        try:
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            if writer in self.feeds:
                self.feeds.remove(writer)


async def main(host: str, api_port: int, feed_port: int) -> None:
    sink = Sink()
    api = await serve(sink.handle, host, api_port)
    feed = await asyncio.start_server(sink.feed, host, feed_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"sink ready api={api_port} feed={feed_port}", flush=True)
    await stop.wait()
    api.close()
    feed.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--feed-port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.api_port, args.feed_port))

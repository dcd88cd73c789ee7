"""HTTP surface: the Bot API, file downloads, the client API under /_emulator and the chat page."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from telegram_emulator.bot_state import BotState
from telegram_emulator.chat_page import CHAT_PAGE_HTML
from telegram_emulator.emulator import Emulator
from telegram_emulator.errors import ApiError, bad_request, unauthorized
from telegram_emulator.faults import Fault
from telegram_emulator.params import parse_body

MAX_LONG_POLL_SECONDS = 60.0
# Long polls wake at least this often to notice a client that went away.
DISCONNECT_CHECK_SECONDS = 1.0
Endpoint = Callable[[Request], Awaitable[Response]]


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.error_code)


def _client_endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    """Wrap a client-API handler: JSON result on success, Telegram-shaped error otherwise."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ApiError as error:
            return _error_response(error)
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise bad_request("can't parse JSON object") from None
    if not isinstance(data, dict):
        raise bad_request("JSON object expected")
    return data


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None


def _optional_int(value: Any, name: str) -> int | None:
    return None if value is None or value == "" else _int(value, name)


def _timeout(request: Request, default: float = 0.0) -> float:
    try:
        value = float(request.query_params.get("timeout", default))
    except ValueError:
        raise bad_request("timeout must be a number") from None
    return min(max(value, 0.0), MAX_LONG_POLL_SECONDS)


def build_app(emulator: Emulator) -> Starlette:
    world = emulator.world
    api = emulator.api
    actions = emulator.actions

    def bot_of(request: Request) -> BotState:
        return world.bot_by_id(_int(request.path_params["bot_id"], "bot_id"))

    def user_of(request: Request) -> int:
        return _int(request.path_params["user_id"], "user_id")

    async def bot_api(request: Request) -> Response:
        bot = world.bots_by_token.get(request.path_params["token"])
        try:
            if bot is None:
                raise unauthorized()
            params = parse_body(
                request.headers.get("content-type", ""),
                await request.body(),
                list(request.query_params.multi_items()),
            )
            method = request.path_params["method"]
            if not await bot.faults.intercept(method, request.is_disconnected, bot.counters):
                return Response(status_code=499)  # nobody is listening any more
            result = await api.call(bot, method, params)
        except ApiError as error:
            return _error_response(error)
        return JSONResponse({"ok": True, "result": result})

    async def download_file(request: Request) -> Response:
        if request.path_params["token"] not in world.bots_by_token:
            return _error_response(unauthorized())
        stored = world.files_by_path.get(request.path_params["file_path"])
        if stored is None:
            return _error_response(ApiError(404, "Not Found: file not found"))
        return Response(stored.content, media_type=stored.mime_type)

    async def chat_page(request: Request) -> Response:
        return HTMLResponse(CHAT_PAGE_HTML)

    async def list_bots(request: Request) -> Any:
        return [
            {"id": bot.bot_id, "username": bot.username, "first_name": bot.first_name}
            for bot in world.bots.values()
        ]

    async def users(request: Request) -> Any:
        if request.method == "GET":
            return [user.to_client() for user in world.users.values()]
        data = await _json_body(request)
        user = world.create_user(
            str(data.get("first_name") or ""),
            last_name=data.get("last_name"),
            username=data.get("username"),
            language_code=str(data.get("language_code") or "ru"),
            user_id=_optional_int(data.get("id"), "id"),
            phone_number=data.get("phone_number"),
        )
        return user.to_client()

    async def groups(request: Request) -> Any:
        data = await _json_body(request)
        members = [_int(member, "member_ids") for member in data.get("member_ids") or []]
        group = world.create_group(str(data.get("title") or "Group"), members)
        return {**group.to_api(), "member_ids": group.member_ids}

    async def send_text(request: Request) -> Any:
        data = await _json_body(request)
        return actions.send_text(
            bot_of(request),
            user_of(request),
            str(data.get("text") or ""),
            chat_id=_optional_int(data.get("chat_id"), "chat_id"),
        )

    async def send_contact(request: Request) -> Any:
        data = await _json_body(request)
        return actions.send_contact(
            bot_of(request),
            user_of(request),
            phone_number=data.get("phone_number"),
            of_user_id=_optional_int(data.get("of_user_id"), "of_user_id"),
            foreign=bool(data.get("foreign")),
            first_name=data.get("first_name"),
        )

    async def send_location(request: Request) -> Any:
        data = await _json_body(request)
        try:
            latitude, longitude = float(data["latitude"]), float(data["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("latitude and longitude are required numbers") from None
        return actions.send_location(bot_of(request), user_of(request), latitude, longitude)

    async def press(request: Request) -> Any:
        data = await _json_body(request)
        return actions.press_button(
            bot_of(request),
            user_of(request),
            _int(data.get("message_id"), "message_id"),
            str(data.get("callback_data") or ""),
            chat_id=_optional_int(data.get("chat_id"), "chat_id"),
        )

    async def block(request: Request) -> Any:
        return actions.set_blocked(bot_of(request), user_of(request), True)

    async def unblock(request: Request) -> Any:
        return actions.set_blocked(bot_of(request), user_of(request), False)

    async def chat_view(request: Request) -> Any:
        """The chat as its member sees it; `since`+`timeout` long-polls for a newer version."""
        bot = bot_of(request)
        chat_id = _int(request.path_params["chat_id"], "chat_id")
        world.chat_object(chat_id)
        since = _optional_int(request.query_params.get("since"), "since")
        deadline = time.monotonic() + _timeout(request)
        while since is not None and bot.chat_log(chat_id).version <= since:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or world.closing or await request.is_disconnected():
                break
            await bot.chat_signal.wait(min(remaining, DISCONNECT_CHECK_SECONDS))
        log = bot.chat_log(chat_id)
        return {
            "chat_id": chat_id,
            "version": log.version,
            "messages": [message.to_client() for message in log.messages.values()],
            "reply_keyboard": log.reply_keyboard,
            "blocked": chat_id in bot.blocked,
            "last_callback_answer": bot.last_callback_answers.get(chat_id),
        }

    async def callback_answer(request: Request) -> Any:
        return bot_of(request).last_callback_answers.get(user_of(request))

    async def client_file(request: Request) -> Response:
        bot_of(request)
        stored = world.files.get(request.path_params["file_id"])
        if stored is None:
            raise ApiError(404, "Not Found: file not found")
        disposition = f"attachment; filename*=UTF-8''{quote(stored.file_name)}"
        return Response(
            stored.content,
            media_type=stored.mime_type,
            headers={"Content-Disposition": disposition},
        )

    async def counters(request: Request) -> Any:
        return bot_of(request).counters_view()

    async def deliveries(request: Request) -> Any:
        update_id = _optional_int(request.query_params.get("update_id"), "update_id")
        return [
            attempt.to_client()
            for attempt in bot_of(request).deliveries
            if update_id is None or attempt.update_id == update_id
        ]

    async def reply_errors(request: Request) -> Any:
        return bot_of(request).webhook_reply_errors

    async def commands(request: Request) -> Any:
        return bot_of(request).commands

    async def fault(request: Request) -> Any:
        bot = bot_of(request)
        if request.method == "POST":
            bot.faults.set(Fault.from_client(await _json_body(request)))
        elif request.method == "DELETE":
            bot.faults.set(None)
        return bot.faults.view()

    async def reset(request: Request) -> Any:
        bot_of(request).reset()
        return True

    async def idle(request: Request) -> Any:
        bot = bot_of(request)
        deadline = time.monotonic() + _timeout(request)
        while not bot.is_idle():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or world.closing or await request.is_disconnected():
                break
            await bot.queue_signal.wait(min(remaining, DISCONNECT_CHECK_SECONDS))
        return {"idle": bot.is_idle(), "pending": len(bot.pending)}

    user_base = "/_emulator/bots/{bot_id}/users/{user_id}"
    bot_base = "/_emulator/bots/{bot_id}"
    routes = [
        Route("/", chat_page, methods=["GET"]),
        Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
        Route("/file/bot{token}/{file_path:path}", download_file, methods=["GET"]),
        Route("/_emulator/bots", _client_endpoint(list_bots), methods=["GET"]),
        Route("/_emulator/users", _client_endpoint(users), methods=["GET", "POST"]),
        Route("/_emulator/groups", _client_endpoint(groups), methods=["POST"]),
        Route(f"{user_base}/text", _client_endpoint(send_text), methods=["POST"]),
        Route(f"{user_base}/contact", _client_endpoint(send_contact), methods=["POST"]),
        Route(f"{user_base}/location", _client_endpoint(send_location), methods=["POST"]),
        Route(f"{user_base}/press", _client_endpoint(press), methods=["POST"]),
        Route(f"{user_base}/block", _client_endpoint(block), methods=["POST"]),
        Route(f"{user_base}/unblock", _client_endpoint(unblock), methods=["POST"]),
        Route(f"{user_base}/callback-answer", _client_endpoint(callback_answer), methods=["GET"]),
        Route(f"{bot_base}/chats/{{chat_id}}", _client_endpoint(chat_view), methods=["GET"]),
        Route(f"{bot_base}/files/{{file_id}}", _client_endpoint(client_file), methods=["GET"]),
        Route(f"{bot_base}/counters", _client_endpoint(counters), methods=["GET"]),
        Route(f"{bot_base}/deliveries", _client_endpoint(deliveries), methods=["GET"]),
        Route(f"{bot_base}/webhook-reply-errors", _client_endpoint(reply_errors), methods=["GET"]),
        Route(f"{bot_base}/commands", _client_endpoint(commands), methods=["GET"]),
        Route(f"{bot_base}/reset", _client_endpoint(reset), methods=["POST"]),
        Route(f"{bot_base}/fault", _client_endpoint(fault), methods=["GET", "POST", "DELETE"]),
        Route(f"{bot_base}/idle", _client_endpoint(idle), methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    return Starlette(routes=routes, lifespan=lifespan)

"""Telegram's refusals, over real HTTP: each validation rule answers like Telegram."""

from __future__ import annotations

import httpx

from telegram_emulator import EmulatorServer, ManualClock
from telegram_emulator.client import EmulatorClient
from tests.emulator.conftest import TOKEN, BotApiCaller, EmulatorFactory, connected


async def started_user(client: EmulatorClient, name: str = "Ира") -> int:
    user = await client.create_user(name, language_code="ru")
    await client.send_text(user["id"], "/start")
    return int(user["id"])


def keyboard(*rows: list[dict[str, str]]) -> dict[str, object]:
    return {"inline_keyboard": list(rows)}


async def test_get_me_and_unknown_method_and_bad_token(
    emulator: EmulatorServer, bot_api: BotApiCaller
) -> None:
    me = await bot_api("getMe")
    assert me["ok"]
    assert me["result"]["is_bot"]
    assert me["result"]["id"] == 123456
    missing = await bot_api("sendSticker", chat_id=1)
    assert missing == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{emulator.base_url}/bot999:wrong/getMe")
    assert response.status_code == 401
    assert response.json()["description"] == "Unauthorized"


async def test_text_length_rules(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    chat_id = await started_user(client)
    empty = await bot_api("sendMessage", chat_id=chat_id, text="   ")
    assert empty["error_code"] == 400
    assert empty["description"] == "Bad Request: message text is empty"
    too_long = await bot_api("sendMessage", chat_id=chat_id, text="я" * 4097)
    assert too_long["description"] == "Bad Request: message is too long"
    limit = await bot_api("sendMessage", chat_id=chat_id, text="я" * 4096)
    assert limit["ok"]
    assert len(limit["result"]["text"]) == 4096


async def test_length_is_counted_after_html_parsing(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with make_emulator(clock=clock) as server, connected(server) as (client, bot_api):
        chat_id = await started_user(client)
        tagged = "<b>" + "x" * 4000 + "</b>" + "&lt;" * 96
        ok = await bot_api("sendMessage", chat_id=chat_id, text=tagged, parse_mode="HTML")
        assert ok["ok"]
        assert len(ok["result"]["text"]) == 4096
        clock.advance(2)
        over = await bot_api("sendMessage", chat_id=chat_id, text=tagged + "!", parse_mode="HTML")
        assert over["description"] == "Bad Request: message is too long"


async def test_html_parse_errors_reach_the_bot(
    client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    chat_id = await started_user(client)
    answer = await bot_api("sendMessage", chat_id=chat_id, text="Hi <foo>", parse_mode="HTML")
    assert answer["error_code"] == 400
    assert answer["description"] == (
        'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 3'
    )
    assert await client.bot_messages(chat_id) == []


async def test_caption_limit(
    client: EmulatorClient, bot_api: BotApiCaller, emulator: EmulatorServer
) -> None:
    chat_id = await started_user(client)
    async with httpx.AsyncClient() as http:
        url = f"{emulator.base_url}/bot{TOKEN}/sendDocument"
        files = {"document": ("отчёт.csv", b"a;b\n1;2\n", "text/csv")}
        too_long = await http.post(
            url, data={"chat_id": str(chat_id), "caption": "c" * 1025}, files=files
        )
        assert too_long.status_code == 400
        assert too_long.json()["description"] == "Bad Request: message caption is too long"
        ok = await http.post(
            url, data={"chat_id": str(chat_id), "caption": "c" * 1024}, files=files
        )
    assert ok.status_code == 200
    document = ok.json()["result"]["document"]
    assert document["file_name"] == "отчёт.csv"
    assert document["file_size"] == 8
    messages = await client.bot_messages(chat_id)
    assert await client.download(messages[-1]) == b"a;b\n1;2\n"


async def test_callback_data_is_1_to_64_bytes(
    client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    chat_id = await started_user(client)
    ok = await bot_api(
        "sendMessage",
        chat_id=chat_id,
        text="ok",
        reply_markup=keyboard([{"text": "a", "callback_data": "ж" * 32}]),
    )
    assert ok["ok"]
    for data in ("ж" * 32 + "x", ""):
        refused = await bot_api(
            "sendMessage",
            chat_id=chat_id,
            text="no",
            reply_markup=keyboard([{"text": "a", "callback_data": data}]),
        )
        assert refused["description"] == "Bad Request: BUTTON_DATA_INVALID"


async def test_inline_keyboard_shape(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    chat_id = await started_user(client)
    not_rows = await bot_api(
        "sendMessage",
        chat_id=chat_id,
        text="x",
        reply_markup={"inline_keyboard": [{"text": "a", "callback_data": "b"}]},
    )
    assert not_rows["description"] == (
        'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
    )
    text_only = await bot_api(
        "sendMessage", chat_id=chat_id, text="x", reply_markup=keyboard([{"text": "a"}])
    )
    assert text_only["description"] == (
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    )
    bad_url = await bot_api(
        "sendMessage",
        chat_id=chat_id,
        text="x",
        reply_markup=keyboard([{"text": "a", "url": "javascript:alert(1)"}]),
    )
    assert bad_url["description"] == "Bad Request: BUTTON_URL_INVALID"


async def test_edit_rules(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    chat_id = await started_user(client)
    markup = keyboard([{"text": "Да", "callback_data": "yes"}])
    sent = await bot_api(
        "sendMessage", chat_id=chat_id, text="<b>Вопрос</b>", parse_mode="HTML", reply_markup=markup
    )
    message_id = sent["result"]["message_id"]
    missing = await bot_api("editMessageText", chat_id=chat_id, message_id=999, text="x")
    assert missing["description"] == "Bad Request: message to edit not found"
    same = await bot_api(
        "editMessageText",
        chat_id=chat_id,
        message_id=message_id,
        text="<strong>Вопрос</strong>",
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert same["error_code"] == 400
    assert same["description"].startswith("Bad Request: message is not modified: specified new")
    same_markup = await bot_api(
        "editMessageReplyMarkup", chat_id=chat_id, message_id=message_id, reply_markup=markup
    )
    assert same_markup["description"].startswith("Bad Request: message is not modified")
    user_message = (await client.chat(chat_id))[0]["message_id"]
    foreign = await bot_api("editMessageText", chat_id=chat_id, message_id=user_message, text="y")
    assert foreign["description"] == "Bad Request: message can't be edited"
    edited = await bot_api("editMessageText", chat_id=chat_id, message_id=message_id, text="Ответ")
    assert edited["ok"]
    assert "reply_markup" not in edited["result"]
    view = (await client.bot_messages(chat_id))[-1]
    assert view["text"] == "Ответ"
    assert view["edited"]
    assert view["reply_markup"] is None


async def test_delete_removes_from_the_chat(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    chat_id = await started_user(client)
    sent = await bot_api("sendMessage", chat_id=chat_id, text="temporary")
    message_id = sent["result"]["message_id"]
    assert (await bot_api("deleteMessage", chat_id=chat_id, message_id=message_id))["ok"]
    assert await client.bot_messages(chat_id) == []
    again = await bot_api("deleteMessage", chat_id=chat_id, message_id=message_id)
    assert again["description"] == "Bad Request: message to delete not found"


async def test_callback_query_answered_twice_or_too_late(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with (
        make_emulator(clock=clock, callback_answer_timeout=15.0) as server,
        connected(server) as (client, bot_api),
    ):
        chat_id = await started_user(client)
        sent = await bot_api(
            "sendMessage",
            chat_id=chat_id,
            text="?",
            reply_markup=keyboard([{"text": "go", "callback_data": "go"}]),
        )
        message_id = sent["result"]["message_id"]
        first = await client.press_button(chat_id, message_id, "go")
        assert (await bot_api("answerCallbackQuery", callback_query_id=first, text="Готово"))["ok"]
        assert (await client.last_callback_answer(chat_id) or {})["text"] == "Готово"
        twice = await bot_api("answerCallbackQuery", callback_query_id=first)
        invalid = (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
        assert twice["description"] == invalid
        late = await client.press_button(chat_id, message_id, "go")
        clock.advance(15.5)
        assert (await bot_api("answerCallbackQuery", callback_query_id=late))[
            "description"
        ] == invalid
        unknown = await bot_api("answerCallbackQuery", callback_query_id="42")
        assert unknown["error_code"] == 400


async def test_unknown_chat_blocked_user_and_unstarted_user(
    client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    unknown = await bot_api("sendMessage", chat_id=5, text="hi")
    assert unknown["error_code"] == 400
    assert unknown["description"] == "Bad Request: chat not found"
    stranger = await client.create_user("Stranger")
    never_started = await bot_api("sendMessage", chat_id=stranger["id"], text="hi")
    assert never_started["error_code"] == 403
    assert never_started["description"] == "Forbidden: bot can't initiate conversation with a user"
    chat_id = await started_user(client)
    await client.block_bot(chat_id)
    blocked = await bot_api("sendMessage", chat_id=chat_id, text="hi")
    assert blocked == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }
    await client.unblock_bot(chat_id)
    assert (await bot_api("sendMessage", chat_id=chat_id, text="hi"))["ok"]
    counters = await client.counters()
    assert counters["rejected_403"] == 2
    assert counters["rejected_400"] == 1


async def test_other_methods_answer_like_telegram(make_emulator: EmulatorFactory) -> None:
    async with make_emulator(chat_burst=10) as server, connected(server) as (client, bot_api):
        await check_other_methods(client, bot_api)


async def check_other_methods(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    chat_id = await started_user(client)
    chat = await bot_api("getChat", chat_id=chat_id)
    assert chat["result"]["type"] == "private"
    assert chat["result"]["first_name"] == "Ира"
    location = await bot_api("sendLocation", chat_id=chat_id, latitude=55.75, longitude=37.61)
    assert location["result"]["location"] == {"latitude": 55.75, "longitude": 37.61}
    venue = await bot_api(
        "sendVenue",
        chat_id=chat_id,
        latitude=55.7,
        longitude=37.6,
        title="ФОК Олимп",
        address="ул. Спортивная, 1",
    )
    assert venue["result"]["venue"]["title"] == "ФОК Олимп"
    bad_location = await bot_api("sendLocation", chat_id=chat_id, latitude=95, longitude=0)
    assert bad_location["error_code"] == 400
    commands = [{"command": "start", "description": "Начать"}]
    assert (await bot_api("setMyCommands", commands=commands))["ok"]
    assert (await bot_api("getMyCommands"))["result"] == commands
    bad = await bot_api("setMyCommands", commands=[{"command": "Start!", "description": "x"}])
    assert bad["description"] == "Bad Request: BOT_COMMAND_INVALID"
    assert (await client.commands())["default::"] == commands


async def test_edit_caption_of_a_document(client: EmulatorClient, emulator: EmulatorServer) -> None:
    chat_id = await started_user(client)
    async with httpx.AsyncClient() as http:
        bot_api = BotApiCaller(http, emulator.base_url)
        sent = await http.post(
            f"{emulator.base_url}/bot{TOKEN}/sendDocument",
            data={"chat_id": str(chat_id), "caption": "черновик"},
            files={"document": ("a.txt", b"a", "text/plain")},
        )
        message_id = sent.json()["result"]["message_id"]
        same = await bot_api(
            "editMessageCaption", chat_id=chat_id, message_id=message_id, caption="черновик"
        )
        assert same["description"].startswith("Bad Request: message is not modified")
        edited = await bot_api(
            "editMessageCaption",
            chat_id=chat_id,
            message_id=message_id,
            caption="<b>итог</b>",
            parse_mode="HTML",
        )
        assert edited["result"]["caption"] == "итог"
        assert edited["result"]["document"]["file_name"] == "a.txt"
        text_only = (await client.chat(chat_id))[0]["message_id"]
        refused = await bot_api(
            "editMessageCaption", chat_id=chat_id, message_id=text_only, caption="x"
        )
        assert refused["description"] == "Bad Request: message can't be edited"
    view = (await client.bot_messages(chat_id))[-1]
    assert view["text"] == "итог"
    assert view["html"] == "<b>итог</b>"
    assert view["edited"]


def tiny_png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def test_photo_by_attach_reference_and_file_reuse(
    client: EmulatorClient, emulator: EmulatorServer
) -> None:
    chat_id = await started_user(client)
    png = tiny_png(3, 2)
    async with httpx.AsyncClient() as http:
        bot_api = BotApiCaller(http, emulator.base_url)
        assert (await bot_api("sendChatAction", chat_id=chat_id, action="upload_photo"))["ok"]
        sent = await http.post(
            f"{emulator.base_url}/bot{TOKEN}/sendPhoto",
            data={"chat_id": str(chat_id), "photo": "attach://chart"},
            files={"chart": ("chart.png", png, "image/png")},
        )
        photo = sent.json()["result"]["photo"][0]
        assert (photo["width"], photo["height"], photo["file_size"]) == (3, 2, len(png))
        file_info = (await bot_api("getFile", file_id=photo["file_id"]))["result"]
        downloaded = await http.get(f"{emulator.base_url}/file/bot{TOKEN}/{file_info['file_path']}")
        assert downloaded.content == png
        empty = await http.post(
            f"{emulator.base_url}/bot{TOKEN}/sendPhoto",
            data={"chat_id": str(chat_id)},
            files={"photo": ("empty.png", b"", "image/png")},
        )
        assert empty.json()["description"] == "Bad Request: file must be non-empty"
        missing = await bot_api("sendPhoto", chat_id=chat_id)
        assert missing["description"] == "Bad Request: there is no photo in the request"
        unknown = await bot_api("sendPhoto", chat_id=chat_id, photo="no-such-file-id")
        assert unknown["description"] == "Bad Request: wrong file identifier/HTTP URL specified"
    shown = (await client.bot_messages(chat_id))[-1]
    assert await client.download(shown) == png

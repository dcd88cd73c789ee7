"""The chat page in headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from telegram_emulator import EmulatorServer
from tests.emulator.conftest import EmulatorFactory, connected, running_ptb_bot

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser
# Generous: a loaded CI machine renders slowly; a failure still shows within seconds of the cause.
expect.set_options(timeout=15_000)


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@contextlib.asynccontextmanager
async def open_as_new_user(
    browser: Browser, server: EmulatorServer, name: str
) -> AsyncIterator[Page]:
    """A page chatting as a fresh user; closed before the server stops, so the page's long
    poll does not hold the server's graceful shutdown."""
    page = await browser.new_page()
    try:
        await page.goto(f"{server.base_url}/")
        await page.fill("#new-user-name", name)
        await page.click("#create-user")
        await expect(page.locator("#user-select option:checked")).to_contain_text(name)
        yield page
    finally:
        await page.close()


async def test_start_and_button_press_are_answered(
    browser: Browser, make_emulator: EmulatorFactory
) -> None:
    async with (
        make_emulator() as server,
        running_ptb_bot(server.base_url),
        open_as_new_user(browser, server, "Мария") as page,
    ):
        await page.fill("#message-input", "/start")
        await page.press("#message-input", "Enter")
        bot_text = page.locator(".message.bot .message-text")
        await expect(bot_text).to_have_text("Здравствуйте, Мария!")
        await expect(page.locator(".message.bot b")).to_have_text("Мария")  # HTML rendered
        await page.click(".inline-button:has-text('Записаться')")
        await expect(bot_text).to_have_text("Запись подтверждена (book:1)")
        await expect(page.locator(".message.bot .meta")).to_contain_text("edited")
        await expect(page.locator(".inline-button")).to_have_count(0)
        await expect(page.locator("#toast")).to_have_text("Вы записаны")


async def test_page_escapes_text_and_shares_contact_and_downloads(
    browser: Browser, make_emulator: EmulatorFactory
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    async with (
        make_emulator(chat_burst=5) as server,
        connected(server) as (client, bot_api),
        running_ptb_bot(server.base_url),
        open_as_new_user(browser, server, hostile) as page,
    ):
        await page.fill("#message-input", hostile)
        await page.click("#send-button")
        await expect(page.locator(".message.bot .message-text")).to_have_text(f"Эхо: {hostile}")
        await expect(page.locator("#user-select option:checked")).to_contain_text(hostile)
        assert await page.locator("#messages img").count() == 0
        assert await page.evaluate("window.pwned === undefined")

        user_id = int(await page.locator("#user-select").input_value())
        await bot_api(
            "sendMessage",
            chat_id=user_id,
            text="Нужен ваш номер",
            reply_markup={"keyboard": [[{"text": "Отправить номер", "request_contact": True}]]},
        )
        await page.click(".reply-button:has-text('Отправить номер')")
        await expect(page.locator(".message.user").last).to_contain_text("👤")
        shared = await client.chat(user_id)
        assert shared[-1]["contact"]["user_id"] == user_id

        upload = await bot_api.http.post(
            f"{server.base_url}/bot{bot_api.token}/sendDocument",
            data={"chat_id": str(user_id)},
            files={"document": ("расписание.csv", b"day;time\nMon;10:00\n", "text/csv")},
        )
        assert upload.status_code == 200
        link = page.locator("a.download")
        await expect(link).to_contain_text("расписание.csv")
        async with page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
        assert saved == b"day;time\nMon;10:00\n"


async def test_page_keeps_unchanged_messages_and_says_which_chat_it_shows(
    browser: Browser, make_emulator: EmulatorFactory
) -> None:
    async with (
        make_emulator(chat_burst=5) as server,
        running_ptb_bot(server.base_url),
        open_as_new_user(browser, server, "Пётр") as page,
    ):
        user_id = await page.locator("#user-select").input_value()
        # The chat drawn, and at which version: what a browser test waits for after loading.
        await expect(page.locator(f'#messages[data-chat-user="{user_id}"]')).to_have_count(1)
        await page.fill("#message-input", "/start")
        await page.press("#message-input", "Enter")
        greeting = page.locator(".message.bot").first
        await expect(greeting.locator(".message-text")).to_have_text("Здравствуйте, Пётр!")
        version = int(await page.locator("#messages").get_attribute("data-version") or "-1")
        await greeting.evaluate("node => { node.keptMark = 'kept'; }")

        await page.fill("#message-input", "ещё")
        await page.press("#message-input", "Enter")
        await expect(page.locator(".message.bot").last).to_contain_text("Эхо: ещё")
        # a later message leaves the earlier one's node in place, attached
        assert await greeting.evaluate("node => node.keptMark") == "kept"
        assert await greeting.evaluate("node => node.isConnected")
        assert int(await page.locator("#messages").get_attribute("data-version") or "-1") > version

        # an edit draws the edited message anew
        await page.click(".inline-button:has-text('Записаться')")
        edited = page.locator(".message.bot").first
        await expect(edited.locator(".message-text")).to_have_text("Запись подтверждена (book:1)")
        assert await edited.evaluate("node => node.keptMark === undefined")
        assert await page.locator(".message").count() == 4


async def test_composer_stays_in_view_when_the_header_wraps(
    browser: Browser, make_emulator: EmulatorFactory
) -> None:
    async with make_emulator(chat_burst=5) as server:
        page = await browser.new_page(viewport={"width": 640, "height": 700})
        try:
            await page.goto(f"{server.base_url}/")
            header = await page.locator("header").bounding_box()
            assert header is not None
            assert header["height"] > 60  # wrapped to more than one line at this width
            composer = await page.locator("#composer").bounding_box()
            assert composer is not None
            assert composer["y"] + composer["height"] <= 700
            assert composer["y"] >= header["y"] + header["height"]
        finally:
            await page.close()

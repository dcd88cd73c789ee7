"""The whole local cluster (`python -m devcluster up`, in a temp run dir) and headless Chromium
on its emulator's chat page, one person a page.

``cluster`` is started once per module and stopped at its end. ``ChatPage`` drives the page the
way a person does (types, presses the buttons drawn) and waits with Playwright's auto-waiting
``expect``, never with a fixed sleep. With ``FOK_WRITE_GUIDE_SCREENSHOTS=1`` its ``shot`` writes
PNGs of what the page shows into ``docs/img/staff-guide/`` (the staff guide's illustrations,
``scripts/staff-guide-screenshots.sh``); without it ``shot`` does nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.local_cluster import Cluster, running_local_cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "docs" / "img" / "staff-guide"
WRITE_SCREENSHOTS = os.environ.get("FOK_WRITE_GUIDE_SCREENSHOTS") == "1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded machine; a failure still shows within seconds of its cause. Notices the
# workers deliver take a beat period (5 s locally) and a delivery.
STEP_TIMEOUT_MS = 20_000
NOTICE_TIMEOUT_MS = 45_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from running_local_cluster(tmp_path_factory, "browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


class ChatPage:
    """One person's chat with the bot in its own browser page."""

    def __init__(self, page: Page, user_id: int) -> None:
        self.page = page
        self.user_id = user_id

    @classmethod
    def open_new_user(cls, browser: Browser, cluster: Cluster, user_id: int, name: str) -> ChatPage:
        """A fresh page; the person is created in the page's header form, with a fixed id (so
        the operator can grant them a role by it)."""
        page = browser.new_page(viewport={"width": 820, "height": 1100}, locale="ru-RU")
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(cluster.chat_page_url)
        page.fill("#new-user-name", name)
        page.fill("#new-user-id", str(user_id))
        page.click("#create-user")
        return cls(page, user_id).loaded()

    @classmethod
    def open_existing_user(cls, browser: Browser, cluster: Cluster, user_id: int) -> ChatPage:
        page = browser.new_page(viewport={"width": 820, "height": 1100}, locale="ru-RU")
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(f"{cluster.chat_page_url}?user={user_id}")
        return cls(page, user_id).loaded()

    def loaded(self) -> ChatPage:
        """Wait until the page shows this person's chat (its first long poll answered)."""
        expect(self.page.locator("#user-select option:checked")).to_contain_text(
            f"({self.user_id})"
        )
        drawn = f'#messages[data-chat-user="{self.user_id}"][data-version]'
        expect(self.page.locator(drawn)).to_have_count(1)
        return self

    def close(self) -> None:
        self.page.close()

    # --- what the page shows -------------------------------------------------------------

    @property
    def last(self) -> Locator:
        """The bot's latest message (a pressed button usually edits it in place)."""
        return self.page.locator(".message.bot").last

    def expect_last(self, *fragments: str, timeout: int = STEP_TIMEOUT_MS) -> Locator:
        for fragment in fragments:
            expect(self.last.locator(".message-text")).to_contain_text(fragment, timeout=timeout)
        return self.last

    def bot_message_with(self, fragment: str) -> Locator:
        return self.page.locator(".message.bot").filter(has_text=fragment).last

    # --- what a person does --------------------------------------------------------------

    def say(self, text: str) -> None:
        count = self.page.locator(".message.user").count()
        self.page.fill("#message-input", text)
        self.page.press("#message-input", "Enter")
        # the sent message is drawn, then the bot's answer after it (a new message)
        expect(self.page.locator(".message.user")).to_have_count(count + 1)
        expect(self.page.locator("#messages > .message").last).to_have_class(re.compile(r"\bbot\b"))

    def press(self, label: str, *, exact: bool = True) -> None:
        """Press the inline button of the bot's latest message labelled exactly ``label`` (or,
        with ``exact=False``, the one button whose label contains it)."""
        self.button(label, exact=exact).click()

    def button(self, label: str, *, exact: bool = True) -> Locator:
        buttons = self.last.locator(".inline-button")
        if exact:
            return buttons.filter(has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$"))
        return buttons.filter(has_text=label)

    def press_reply(self, label: str) -> None:
        self.page.locator(".reply-button", has_text=label).click()

    # --- the staff guide's illustrations -------------------------------------------------

    def shot(self, name: str, target: Locator | None = None) -> None:
        """Write docs/img/staff-guide/NAME.png: the bot's latest message (or ``target``)."""
        if not WRITE_SCREENSHOTS:
            return
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        (target or self.last).screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))

    def shot_page(self, name: str) -> None:
        """The whole page (header, chat, composer), for the guide's first look at it."""
        if not WRITE_SCREENSHOTS:
            return
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))

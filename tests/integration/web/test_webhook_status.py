"""The webhook's documented answers (bot/web/webhook.py), each checked for "changes nothing"."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.web.conftest import WebHarness, private_message_update


@pytest.fixture
async def user(web: WebHarness) -> dict[str, object]:
    created = await web.client.create_user("Ирина")
    # A user who never wrote to the bot cannot be messaged (403); no webhook is set, so this
    # message only opens the chat and stays queued in the emulator.
    await web.client.send_text(created["id"], "/start")
    return created


async def test_a_valid_update_is_processed_once_and_answered_200(
    web: WebHarness, user: dict[str, object]
) -> None:
    update = private_message_update(1001, user, "привет")  # type: ignore[arg-type]
    first = await web.post(update)
    assert first.status_code == 200
    again = await web.post(update)  # Telegram re-delivering a processed update
    assert again.status_code == 200
    assert web.controls.handled_update_ids == [1001]
    assert await web.bot_texts(user["id"]) == ["echo: привет"]  # type: ignore[arg-type]


async def test_missing_secret_is_401_and_wrong_secret_is_403_and_nothing_runs(
    web: WebHarness, user: dict[str, object]
) -> None:
    update = private_message_update(1002, user, "x")  # type: ignore[arg-type]
    missing = await web.post(update, secret=None)
    wrong = await web.post(update, secret=web.secret[:-1] + ("A" if web.secret[-1] != "A" else "B"))
    assert (missing.status_code, wrong.status_code) == (401, 403)
    assert web.controls.handled_update_ids == []
    # The update was not even marked: delivered properly afterwards, it is processed.
    assert (await web.post(update)).status_code == 200
    assert web.controls.handled_update_ids == [1002]


async def test_oversize_body_is_413_even_when_content_length_lies(
    web: WebHarness, user: dict[str, object]
) -> None:
    limit = web.settings.web.max_body_bytes
    update = private_message_update(1003, user, "x" * (limit + 10))  # type: ignore[arg-type]
    declared = await web.post(update)
    assert declared.status_code == 413

    async def chunks() -> object:
        body = b'{"update_id": 1004, "padding": "' + b"y" * (limit + 10) + b'"}'
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    streamed = await web.http.post(  # chunked: no Content-Length to trust
        web.webhook_url,
        content=chunks(),  # type: ignore[arg-type]
        headers={"X-Telegram-Bot-Api-Secret-Token": web.secret},
    )
    assert streamed.status_code == 413
    assert web.controls.handled_update_ids == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'{"message": {"text": "no update id"}}',
        b'{"update_id": "12", "message": {}}',
        b"\xff\xfe",
    ],
    ids=["syntax", "array", "no-update-id", "string-update-id", "not-utf8"],
)
async def test_malformed_bodies_are_logged_and_answered_200(web: WebHarness, body: bytes) -> None:
    response = await web.post(body)
    assert response.status_code == 200  # a 4xx would make Telegram retry it forever
    assert web.controls.handled_update_ids == []


async def test_unknown_update_type_is_answered_200_without_processing(
    web: WebHarness, user: dict[str, object]
) -> None:
    before = await web.metric("fok_updates_total", handler="unsupported", type="other")
    response = await web.post({"update_id": 1005, "future_kind": {"id": 1}})
    assert response.status_code == 200
    assert web.controls.handled_update_ids == []
    after = await web.metric("fok_updates_total", handler="unsupported", type="other")
    assert after - before == 1
    # Nothing was marked either: the id is still free for a real update.
    assert (await web.post(private_message_update(1005, user, "ok"))).status_code == 200  # type: ignore[arg-type]
    assert web.controls.handled_update_ids == [1005]


async def test_get_on_the_webhook_is_405(web: WebHarness) -> None:
    response = await web.http.get(web.webhook_url)
    assert response.status_code == 405


async def test_a_transient_failure_answers_503_and_a_retry_processes_it(
    web: WebHarness, user: dict[str, object]
) -> None:
    web.controls.transient_failures_left = 1
    update = private_message_update(1006, user, "/flaky")  # type: ignore[arg-type]
    failed = await web.post(update)
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    # The processing mark was released: the retry is processed at once, exactly once.
    retried = await web.post(update)
    assert retried.status_code == 200
    assert web.controls.handled_update_ids == [1006]
    assert await web.bot_texts(user["id"]) == ["flaky done"]  # type: ignore[arg-type]


async def test_a_retry_while_the_owner_still_works_gets_503_then_done_gets_200(
    web: WebHarness, user: dict[str, object]
) -> None:
    results = ("new", "in_progress", "done")
    before = [await web.metric("fok_update_dedup_total", result=r) for r in results]
    update = private_message_update(1007, user, "/slow")  # type: ignore[arg-type]
    owner = asyncio.create_task(web.post(update))
    await web.controls.wait_entered(1)
    duplicate = await web.post(update)
    assert duplicate.status_code == 503
    web.controls.gate.set()
    assert (await owner).status_code == 200
    assert (await web.post(update)).status_code == 200
    assert web.controls.handled_update_ids == [1007]
    assert await web.bot_texts(user["id"]) == ["slow done"]  # type: ignore[arg-type]
    after = [await web.metric("fok_update_dedup_total", result=r) for r in results]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]

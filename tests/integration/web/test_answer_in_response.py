"""A button press's answerCallbackQuery rides back in the webhook response
(``bot.infra.telegram.webhook_reply``), unless WEB_ANSWER_IN_RESPONSE is off."""

from __future__ import annotations

import pytest

from tests.integration.web.conftest import (
    WebHarness,
    WebOptions,
    callback_query_update,
    private_message_update,
)


@pytest.fixture
async def user(web: WebHarness) -> dict[str, object]:
    created = await web.client.create_user("Ирина")
    await web.client.send_text(created["id"], "/start")  # opens the chat for the bot's message
    return created


async def _calls(web: WebHarness, result: str) -> float:
    return await web.metric(
        "fok_telegram_api_calls_total", method="answerCallbackQuery", result=result
    )


async def test_the_answer_comes_back_in_the_response_and_is_not_requested(
    web: WebHarness, user: dict[str, object]
) -> None:
    requested = {r: await _calls(web, r) for r in ("ok", "4xx")}
    in_response = await _calls(web, "in_response")

    response = await web.post(callback_query_update(4001, user, "menu"))  # type: ignore[arg-type]

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "method": "answerCallbackQuery",
        "callback_query_id": "cq4001",
        "text": "нажато: menu",
    }
    assert await _calls(web, "in_response") == in_response + 1
    assert {r: await _calls(web, r) for r in ("ok", "4xx")} == requested  # no request made
    assert web.controls.handled_update_ids == [4001]
    assert await web.bot_texts(user["id"]) == ["pressed menu"]  # type: ignore[arg-type]


async def test_a_second_answer_is_a_request_of_its_own(
    web: WebHarness, user: dict[str, object]
) -> None:
    requested = await _calls(web, "4xx")  # the emulator never issued "cq4002": it refuses
    response = await web.post(callback_query_update(4002, user, "twice"))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.json()["text"] == "нажато: twice"
    assert await _calls(web, "4xx") == requested + 1


async def test_an_update_sent_back_for_a_retry_carries_no_answer(
    web: WebHarness, user: dict[str, object]
) -> None:
    web.controls.transient_failures_left = 1
    update = callback_query_update(4003, user, "retry")  # type: ignore[arg-type]
    failed = await web.post(update)
    assert failed.status_code == 503
    assert failed.content == b""  # the retry answers the press, not this attempt
    retried = await web.post(update)
    assert retried.status_code == 200
    assert retried.json()["callback_query_id"] == "cq4003"


async def test_an_update_without_a_press_answers_with_an_empty_body(
    web: WebHarness, user: dict[str, object]
) -> None:
    response = await web.post(private_message_update(4004, user, "привет"))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("web", [WebOptions(answer_in_response=False)], indirect=True)
async def test_switched_off_the_answer_is_a_request(
    web: WebHarness, user: dict[str, object]
) -> None:
    requested = await _calls(web, "4xx")
    in_response = await _calls(web, "in_response")
    response = await web.post(callback_query_update(4005, user, "menu"))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.content == b""
    assert await _calls(web, "4xx") == requested + 1  # sent: the emulator refused an unknown id
    assert await _calls(web, "in_response") == in_response
